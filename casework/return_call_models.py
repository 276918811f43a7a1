"""The 回访 record as stored (casework.return_calls writes it; the deadlines read it)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow

RETURN_CALL_CHANNELS = ("phone", "letter", "visit")


class ReturnCall(Base):
    __tablename__ = "return_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("report_results.id", ondelete="CASCADE"), index=True)
    caller_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    caller_name: Mapped[str] = mapped_column(String(100))  # who called, as written on the record
    called_at: Mapped[datetime] = mapped_column()           # naive UTC, like every stored time
    rating: Mapped[str | None] = mapped_column(String(20))  # None: the reporter gave none
    words: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
