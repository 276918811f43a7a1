"""The search index: one row per case, the bigrams of everything a person searches a case by
(casework.search keeps it in step). On PostgreSQL a tsvector with a GIN index; on SQLite the rows of
an FTS5 table, case_search_fts (rowid = case id), created by migration 0019 beside this table."""
from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

FTS_TABLE = "case_search_fts"  # SQLite only: FTS5(a, b, d): reference and title, accused, text


class CaseSearch(Base):
    __tablename__ = "case_search"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    # PostgreSQL: bigrams with positions and weights (A reference and title, B accused, D text); NULL on SQLite
    tsv: Mapped[str | None] = mapped_column(TSVECTOR().with_variant(Text(), "sqlite"))

    __table_args__ = (Index("ix_case_search_tsv", "tsv", postgresql_using="gin"),)
