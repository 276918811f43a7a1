"""Cases, their units, classifications, human corrections and the learned model, as stored."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow
from intake.models import Report

CASE_STATUSES = ("triage", "to_accept", "in_progress", "closed", "not_accepted", "transferred")


class NegativeListItem(Base):
    """The 30 items of the plan's negative list (wording used by ledgers and pages)."""
    __tablename__ = "negative_list_items"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    area: Mapped[int] = mapped_column()
    area_title: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200))
    wording: Mapped[str] = mapped_column(Text)


class Case(Base):
    """A report being worked: where it is routed and in which state (one case per report for now)."""
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    item_code: Mapped[str | None] = mapped_column(ForeignKey("negative_list_items.code"), index=True)
    area: Mapped[int | None] = mapped_column(index=True)
    lead_unit: Mapped[str] = mapped_column(ForeignKey("units.code"), index=True)
    in_scope: Mapped[bool] = mapped_column(default=True)
    transfer_suggested: Mapped[bool] = mapped_column(default=False)
    routing_reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    report: Mapped[Report] = relationship()
    units: Mapped[list["CaseUnit"]] = relationship(back_populates="case", cascade="all, delete-orphan",
                                                   order_by="CaseUnit.id")

    @property
    def assist_units(self) -> list[str]:
        return [u.unit_code for u in self.units if u.role == "assist"]


class CaseUnit(Base):
    """Which units lead or assist a case: the one index that per-unit access goes through."""
    __tablename__ = "case_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    role: Mapped[str] = mapped_column(String(10))  # lead | assist

    case: Mapped[Case] = relationship(back_populates="units")

    __table_args__ = (UniqueConstraint("case_id", "unit_code", name="uq_case_units_case_unit"),
                      Index("ix_case_units_unit_role", "unit_code", "role"))


class Classification(Base):
    """One run of the classifier on a report, with its evidence and the versions that produced it."""
    __tablename__ = "classifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    item_code: Mapped[str | None] = mapped_column(String(8))
    in_scope: Mapped[bool] = mapped_column()
    confidence: Mapped[float] = mapped_column()
    candidates: Mapped[list] = mapped_column(JSON)   # [{"item", "score", "evidence": [...]}, ...]
    routing: Mapped[dict] = mapped_column(JSON)      # {"lead_unit", "assist_units", "triage", ...}
    rules_version: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)  # set when the classifier raised
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RoutingCorrection(Base):
    """A person corrected the item or the lead unit; the learned model trains on these."""
    __tablename__ = "routing_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    corrected_by: Mapped[str] = mapped_column(String(100))
    corrected_by_user_id: Mapped[int | None] = mapped_column()
    reason: Mapped[str] = mapped_column(Text)
    old_item: Mapped[str | None] = mapped_column(String(8))
    new_item: Mapped[str | None] = mapped_column(String(8))
    item_changed: Mapped[bool] = mapped_column(default=False)
    old_lead: Mapped[str] = mapped_column(String(20))
    new_lead: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LearnedModelRecord(Base):
    """A trained second model (serialised), the newest active one is used beside the rules."""
    __tablename__ = "learned_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    examples: Mapped[int] = mapped_column()
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    trained_at: Mapped[datetime] = mapped_column(default=utcnow)
