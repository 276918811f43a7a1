"""What oversight stores of its own: the units' weekly reports (周调度) and the reminders to send them (催报)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow


class WeeklyReport(Base):
    """A unit's weekly progress report with its ledger (周调度), one per unit and week (its Monday)."""
    __tablename__ = "weekly_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    week_of: Mapped[date] = mapped_column(index=True)
    progress: Mapped[str] = mapped_column(Text, default="")
    figures: Mapped[dict] = mapped_column(JSON, default=dict)
    submitted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("unit_code", "week_of", name="uq_weekly_reports_unit_week"),)


class WeeklyReminder(Base):
    """催报: the task force reminded a unit that has not sent a week's report; at most once a district day per
    unit (the unique key makes a double click or a second instance a no-op)."""
    __tablename__ = "weekly_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    week_of: Mapped[date] = mapped_column()
    sent_on: Mapped[date] = mapped_column()  # the district's calendar day
    sent_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("unit_code", "sent_on", name="uq_weekly_reminders_unit_day"),)
