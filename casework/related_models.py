"""Related reports (线索归集) as stored: the candidates found on arrival, each report's MinHash signature
and the repeats (重复件) registered on an open case instead of opening a new one."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow


class RelatedCandidate(Base):
    """Case `case_id` (the newer) may belong with `other_case_id`: why (reason codes) and how likely."""
    __tablename__ = "related_candidates"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    other_case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    reasons: Mapped[list] = mapped_column(JSON)  # ["same_person", "same_institution_item", ...]
    score: Mapped[float] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("case_id", "other_case_id", name="uq_related_candidates_pair"),)


class ReportSignature(Base):
    """The MinHash signature of a report's normalised text (to tell how near an LSH candidate is)."""
    __tablename__ = "report_signatures"

    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    signature: Mapped[bytes] = mapped_column(LargeBinary)


class CaseRepeat(Base):
    """重复件: a near-exact repeat by the same reporter, registered on the open case `case_id`."""
    __tablename__ = "case_repeats"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_case_repeats_case", "case_id", "created_at"),)
