"""The queue's tab counts as stored: signed deltas of cases per (lead unit, status), appended by database
triggers on `cases` (migration 0021) whatever writes them (the ORM, a bulk UPDATE, a
cascade), and folded into one row per key by casework.queue_counts.compact. A tab's count is then a sum of
a few rows, not a walk over every case of the unit (issue 18: tabs at a province's scale)."""
from __future__ import annotations

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class QueueCount(Base):
    __tablename__ = "queue_counts"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(20))  # the case's lead unit
    status: Mapped[str] = mapped_column(String(20))     # the case's status
    n: Mapped[int] = mapped_column()                     # +1 / -1 per change; the sum after compaction

    __table_args__ = (Index("ix_queue_counts_key", "unit_code", "status"),)
