"""What a reporter is told when a case ends and what they answer (反馈): the result in plain words, one
rating of it, one objection (复查 request) and the task force's reply. Stored on the report, so the
public follow-up reads them without casework; casework writes the results and decides the reviews."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow

RESULT_KINDS = ("closed", "not_accepted", "transferred")     # 销号, 不予受理, 转办
RATINGS = ("satisfied", "basically_satisfied", "unsatisfied")  # 满意, 基本满意, 不满意
RATING_SOURCES = ("web", "api", "return_call")                 # return_call: a clerk's 回访
OBJECTION_STATES = ("open", "reopened", "upheld")


class ReportResult(Base):
    """The result written for the reporter when the case ended; a reopened case that ends again adds a row."""
    __tablename__ = "report_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    decided_on: Mapped[date] = mapped_column(index=True)  # the district's day (the 30-day windows count from it)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReportRating(Base):
    """满意 / 基本满意 / 不满意: once per result, by the reporter or through a clerk's 回访."""
    __tablename__ = "report_ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("report_results.id", ondelete="CASCADE"), unique=True)
    rating: Mapped[str] = mapped_column(String(20), index=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(20))
    rated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ReportObjection(Base):
    """A 复查 request: once per report (the same facts are not taken up twice), and its review."""
    __tablename__ = "report_objections"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), unique=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("report_results.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))  # the reasons and files, as a message
    text: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    state: Mapped[str] = mapped_column(String(10), default="open", index=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column()
    reply: Mapped[str] = mapped_column(Text, default="")  # what the reporter reads
    reopened_to: Mapped[str] = mapped_column(String(20), default="")  # the unit a reopened case went to
