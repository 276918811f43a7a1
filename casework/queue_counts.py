"""The queue's tab counts from the stored deltas (casework.queue_count_models): the cases a unit leads per
status, or the whole district's for the task force. Sums of a few rows whatever the number of cases; the
walls are taken off by the caller (casework.queue_tabs.tab_counts)."""
from __future__ import annotations

from collections import Counter

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from casework.queue_count_models import QueueCount


def led_by_status_query(unit_code: str | None):
    """A query (status, cases) of the cases `unit_code` leads (None: led by any unit, as the task force sees
    them), for a caller that asks it in one statement with others (casework.queue_tabs.tab_counts)."""
    stmt = select(QueueCount.status, func.sum(QueueCount.n)).group_by(QueueCount.status)
    if unit_code is not None:
        stmt = stmt.where(QueueCount.unit_code == unit_code)
    return stmt


def compact(session: Session) -> int:
    """Fold the deltas into one row per key (the caller commits). Safe beside concurrent writers: only the
    rows this statement deleted are summed, rows written meanwhile stay for the next run. Returns how
    many rows were folded."""
    rows = session.execute(delete(QueueCount).returning(QueueCount.unit_code, QueueCount.status, QueueCount.n)).all()
    sums: Counter = Counter()
    for unit, status, n in rows:
        sums[(unit, status)] += n
    kept = [dict(unit_code=u, status=s, n=n) for (u, s), n in sorted(sums.items()) if n]
    if kept:
        session.execute(insert(QueueCount), kept)
    return len(rows)
