"""The search index: one row per case, the bigrams of everything a person searches a case by
(casework.search keeps it in step), and the case's tab keys (migration 0022 keeps them in step by
triggers). On PostgreSQL a tsvector and a text[] of keys with one GIN index over both; on SQLite the
rows of an FTS5 table, case_search_fts (rowid = case id), created by migration 0019 beside this table
and given its key column k by 0022.

The tab keys of a case, from its own row and its case_units rows (casework.search.tab_keys reads them):
  u:<lead unit>            l:<lead unit>:<class>     s:<class>
  v:<unit> for every unit that leads or assists it  a:<unit> for every assisting unit
  o:<lead unit> and o:* while it has a next due date (the deadline tabs' cases)
where <class> is the status for triage, to_accept and in_progress and "closed" for every other status.
"Words AND tab" is then one index intersection (GIN: one scan over both columns; FTS5: one MATCH)."""
from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

FTS_TABLE = "case_search_fts"  # SQLite only: FTS5(a, b, d, k): reference and title, accused, text, tab keys
OPEN_CLASSES = ("triage", "to_accept", "in_progress")  # every other status is in the "closed" class
INDEX_SQL = "CREATE INDEX ix_case_search_tsv_keys ON case_search USING gin (tsv, keys)"  # PostgreSQL


def fts_token(key: str) -> str:
    """A tab key as one FTS5 token (unicode61 splits at ':' and '_'): 'k' and its UTF-8 in hex."""
    return "k" + key.encode().hex()


def sqlite_keys_sql(case_id: str) -> str:
    """SQLite: the FTS5 k column's text for the case whose id is the SQL expression `case_id`, computed
    from cases and case_units (the same keys as the PostgreSQL function case_search_keys)."""
    cls = f"CASE WHEN status IN {OPEN_CLASSES!r} THEN status ELSE 'closed' END"
    return (f"(SELECT group_concat('k' || lower(hex(key)), ' ') FROM ("
            f"SELECT 'u:' || coalesce(lead_unit, '') AS key FROM cases WHERE id = {case_id} "
            f"UNION ALL SELECT 'l:' || coalesce(lead_unit, '') || ':' || {cls} FROM cases WHERE id = {case_id} "
            f"UNION ALL SELECT 's:' || {cls} FROM cases WHERE id = {case_id} "
            f"UNION ALL SELECT 'o:' || coalesce(lead_unit, '') FROM cases WHERE id = {case_id} AND next_due_on IS NOT NULL "
            f"UNION ALL SELECT 'o:*' FROM cases WHERE id = {case_id} AND next_due_on IS NOT NULL "
            f"UNION ALL SELECT 'v:' || unit_code FROM case_units WHERE case_id = {case_id} "
            f"UNION ALL SELECT 'a:' || unit_code FROM case_units WHERE case_id = {case_id} AND role = 'assist'))")


class CaseSearch(Base):
    __tablename__ = "case_search"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    # PostgreSQL: bigrams with positions and weights (A reference and title, B accused, D text); NULL on SQLite
    tsv: Mapped[str | None] = mapped_column(TSVECTOR().with_variant(Text(), "sqlite"))
    # PostgreSQL: the tab keys, set by triggers (migration 0022) on every write; NULL on SQLite (FTS5 column k)
    keys: Mapped[list[str] | None] = mapped_column(ARRAY(Text()).with_variant(Text(), "sqlite"))

    __table_args__ = (Index("ix_case_search_tsv_keys", "tsv", "keys", postgresql_using="gin"),)
