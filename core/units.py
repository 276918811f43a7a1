"""Units of the task force and their published channels (Attachment 2), shared by intake and routing."""
from __future__ import annotations

import tomllib
from pathlib import Path

from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from core.db import Base, get_session
from core.labels import is_english, register

UNIT_CODES = ("health", "market", "medinsure", "police", "audit", "taskforce")
EXTERNAL_TARGETS = ("discipline", "police", "transfer")


class Unit(Base):
    __tablename__ = "units"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    duty: Mapped[str] = mapped_column(Text, default="")
    is_member: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)

    channels: Mapped[list["UnitChannel"]] = relationship(
        back_populates="unit", order_by="UnitChannel.id", cascade="all, delete-orphan")


class UnitChannel(Base):
    """One published way to reach a unit: a phone line, a letter box or an email address."""
    __tablename__ = "unit_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # phone | letter | email
    value: Mapped[str] = mapped_column(String(200))
    hours: Mapped[str] = mapped_column(String(200), default="")
    hours_en: Mapped[str] = mapped_column(String(200), default="")

    unit: Mapped[Unit] = relationship(back_populates="channels")


def read_units_config(config_dir: Path) -> list[dict]:
    with open(config_dir / "units.toml", "rb") as fh:
        return tomllib.load(fh)["unit"]


def load_units(session: Session, config_dir: Path) -> int:
    """Upsert units and replace their channels from config/units.toml. Idempotent."""
    entries = read_units_config(config_dir)
    existing = {u.code: u for u in session.scalars(select(Unit).options(selectinload(Unit.channels)))}
    for order, entry in enumerate(entries):
        unit = existing.get(entry["code"]) or Unit(code=entry["code"])
        unit.name = entry["name"]
        unit.name_en = entry["name_en"]
        unit.duty = entry.get("duty", "")
        unit.is_member = entry.get("member", True)
        unit.sort_order = order
        wanted = [(c["kind"], c["value"], c.get("hours", ""), c.get("hours_en", ""))
                  for c in entry.get("channel", [])]
        current = [(c.kind, c.value, c.hours, c.hours_en) for c in unit.channels]
        if wanted != current:
            unit.channels.clear()
            session.flush()
            unit.channels.extend(UnitChannel(kind=k, value=v, hours=h, hours_en=he) for k, v, h, he in wanted)
        session.add(unit)
    session.flush()
    return len(entries)


def list_units(session: Session) -> list[Unit]:
    return list(session.scalars(select(Unit).order_by(Unit.sort_order)))


def channels_of_kind(session: Session, kind: str) -> list[UnitChannel]:
    stmt = (select(UnitChannel).join(Unit).where(UnitChannel.kind == kind)
            .order_by(Unit.sort_order, UnitChannel.id))
    return list(session.scalars(stmt))


def _unit_label(code: str) -> str | None:
    unit = get_session().get(Unit, code)
    if unit is None:
        return None
    return unit.name_en if is_english() and unit.name_en else unit.name


register("unit", _unit_label)
