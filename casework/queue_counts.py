"""The queue's tab counts from the stored deltas (casework.queue_count_models): the cases a unit leads per
status, the cases it assists, the whole district's per status for the task force. Sums of a few rows
whatever the number of cases; the walls are taken off by the caller (casework.queue.tab_counts)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from casework.queue_count_models import QueueCount


@dataclass
class Totals:
    lead: Counter = field(default_factory=Counter)  # status -> cases led (by the unit, or by anyone)
    assist: int = 0                                  # the unit's assisting rows


def totals(session: Session, unit_code: str, every_unit: bool = False) -> Totals:
    """The unit's counts (every_unit: the cases led by any unit, as the task force sees them, and the
    task force's own assisting rows)."""
    lead = (select(QueueCount.status, func.sum(QueueCount.n)).where(QueueCount.kind == "lead")
            .group_by(QueueCount.status))
    if not every_unit:
        lead = lead.where(QueueCount.unit_code == unit_code)
    out = Totals(Counter({status: int(n) for status, n in session.execute(lead) if n}))
    out.assist = int(session.scalar(select(func.coalesce(func.sum(QueueCount.n), 0))
                                    .where(QueueCount.kind == "assist", QueueCount.unit_code == unit_code)) or 0)
    return out


def compact(session: Session) -> int:
    """Fold the deltas into one row per key (the caller commits). Safe beside concurrent writers: only the
    rows this statement deleted are summed, rows written meanwhile stay for the next run. Returns how
    many rows were folded."""
    rows = session.execute(delete(QueueCount).returning(QueueCount.kind, QueueCount.unit_code, QueueCount.status,
                                                        QueueCount.n)).all()
    sums: Counter = Counter()
    for kind, unit, status, n in rows:
        sums[(kind, unit, status)] += n
    kept = [dict(kind=k, unit_code=u, status=s, n=n) for (k, u, s), n in sorted(sums.items()) if n]
    if kept:
        session.execute(insert(QueueCount), kept)
    return len(rows)
