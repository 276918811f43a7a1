"""Who must stay out of which case, as stored: people named in a case's reports (recusal) and units
whose leadership a case accuses (防止"灯下黑"), with what lets casework.access find them in one indexed
look-up: every staff member's name key, and every report's normalised content."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow

RECUSAL_SOURCES = ("accused", "title", "text", "message")  # where the report names the person
WALL_RULES = ("unit_leadership", "taskforce_leadership", "unchecked")  # unchecked: routing failed, closed


class CaseCopy:
    """The case's lead unit and status, copied onto each wall row by database triggers (migration 0021) and
    kept in step with the case whatever writes it: the queue counts the cases a wall hides from a person per
    tab from these rows alone (casework.queue_tabs.tab_counts), without looking up each case. Never set by the
    service."""
    case_lead_unit: Mapped[str | None] = mapped_column(String(20))
    case_status: Mapped[str | None] = mapped_column(String(20))


class Lifted:
    """A wall a coordinator may lift, for a stated reason: who, when, why (the audit trail has it too)."""
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    lifted_at: Mapped[datetime | None] = mapped_column()
    lift_reason: Mapped[str] = mapped_column(Text, default="")


class StaffNameKey(Base):
    """The name key (routing.names) of a staff member's real name, and so the state of their recusals:
    written, with the scan of every report, in the transaction that sets or changes the name. An account
    whose current name has no matching row here (renamed behind the service's back) sees no case."""
    __tablename__ = "staff_name_keys"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    name_key: Mapped[str] = mapped_column(String(100), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReportNameText(Base):
    """A report's content as one content key (routing.names): accused fields | title | text | when and
    where | each of the reporter's messages. Written when the report joins a case; a new or renamed
    account is looked for here (LIKE: a rare event)."""
    __tablename__ = "report_name_texts"

    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    content: Mapped[str] = mapped_column(Text, default="")


class Recusal(Lifted, CaseCopy, Base):
    """A person named in one of a case's reports stays out of the case (queue, page, files, exports,
    reminders, identity) until a coordinator lifts it for them with a reason (a namesake)."""
    __tablename__ = "recusals"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(20))  # accused | title | text | message
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("case_id", "user_id", name="uq_recusals_case_user"),
                      Index("ix_recusals_user_case", "user_id", "case_id"),
                      Index("ix_recusals_user_tab", "user_id", "case_lead_unit", "lifted_at", "case_status", "case_id"))


class CaseWall(Lifted, CaseCopy, Base):
    """A case that accuses the leadership of a member unit (rule unit_leadership: the task force leads,
    the unit is excluded) or the task force's own leader or deputy (taskforce_leadership: referred to
    discipline inspection, seen by coordinators only). The reason is what the case page shows."""
    __tablename__ = "case_walls"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    rule: Mapped[str] = mapped_column(String(30))
    coordinators_only: Mapped[bool] = mapped_column(default=False, index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)  # lifted: open to the whole task force

    __table_args__ = (Index("ix_case_walls_tab", "coordinators_only", "case_lead_unit", "lifted_at", "case_status",
                            "case_id"),)


class CaseExcludedUnit(Lifted, CaseCopy, Base):
    """A unit that never leads, assists or sees the case, until a coordinator states why it may."""
    __tablename__ = "case_excluded_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("case_id", "unit_code", name="uq_case_excluded_units_case_unit"),
                      Index("ix_case_excluded_units_unit_case", "unit_code", "case_id"),
                      Index("ix_case_excluded_units_tab", "unit_code", "case_lead_unit", "lifted_at", "case_status",
                            "case_id"))
