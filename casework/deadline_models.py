"""What the deadlines and reminders store: each time limit of a case, each reminder sent (exactly once,
by a unique key), personal reminders and the supervision list (督办). The weekly reports live in
oversight.models, the scheduler's lease in jobs.models."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow

DEADLINE_STATES = ("open", "met", "cancelled", "superseded")


class CaseDeadline(Base):
    """One time limit of a case (acceptance, handling, …): computed when the case changes, stored so
    queues sort on it and the reminders pass reads only the rows that are due."""
    __tablename__ = "case_deadlines"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(20))
    unit_code: Mapped[str] = mapped_column(String(20))  # the lead unit when computed (overrides per unit)
    starts_on: Mapped[date] = mapped_column()
    due_on: Mapped[date] = mapped_column(index=True)
    uncertain: Mapped[bool] = mapped_column(default=False)  # counted with the weekends-only fallback
    extension_days: Mapped[int] = mapped_column(default=0)
    extension_reason: Mapped[str] = mapped_column(Text, default="")
    paused: Mapped[int] = mapped_column(default=0)  # time the clock stood still, in the stage's own unit
    state: Mapped[str] = mapped_column(String(12), default="open")
    ended_at: Mapped[datetime | None] = mapped_column()
    next_remind_on: Mapped[date | None] = mapped_column(index=True)  # NULL once ended or while paused
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_case_deadlines_case_stage_state", "case_id", "stage", "state"),)


class Reminder(Base):
    """A reminder that went out (or had nowhere to go). The unique key makes every pass, rerun or second
    scheduler send it once; a moved deadline has a new due date, so it may be reminded again."""
    __tablename__ = "reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(40))  # case:<id> or unit:<code>
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))     # <stage>:<phase>, personal, weekly_report
    due_on: Mapped[date] = mapped_column()
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(12))   # queued | no_address
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("subject", "kind", "due_on", "recipient_id", name="uq_reminders_key"),)


class PersonalReminder(Base):
    """A date a handler set on a case for themself ("call the hospital back on the 12th")."""
    __tablename__ = "personal_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    remind_on: Mapped[date] = mapped_column(index=True)
    note: Mapped[str] = mapped_column(String(300), default="")  # shown on the case page, never mailed
    sent_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Supervision(Base):
    """督办: a case whose deadline passed by the configured limit, on the task force's list until the
    deadline is met or the case ends."""
    __tablename__ = "supervisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(20))
    due_on: Mapped[date] = mapped_column()
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(index=True)

    __table_args__ = (UniqueConstraint("case_id", "stage", "due_on", name="uq_supervisions_case_stage_due"),)
