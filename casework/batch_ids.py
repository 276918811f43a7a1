"""Primary keys for the new rows of a routing batch, given before the flush (issue 16): with its id set, the
ORM writes a table's new rows with one executemany instead of one INSERT ... RETURNING per row (what it does
on SQLite, where RETURNING cannot be matched to the rows of a multi-row INSERT). The ids are those the
database would have given, in the order the flush would have inserted the rows (the session's insert order):
PostgreSQL's sequence (nextval), SQLite's next rowid (the largest + 1, the tables have no AUTOINCREMENT).
On SQLite the batch's transaction may not hold the write lock yet when the largest id is read: if another
connection inserts into the table in between, the flush fails on the duplicate key and casework.opening
routes the batch one report at a time, as for any failed write."""
from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.orm import Session


def next_ids(session: Session, table: str, n: int) -> list[int]:
    """`n` new ids of `table`'s integer primary key `id`, in increasing order."""
    if session.get_bind().dialect.name == "postgresql":
        return list(session.scalars(text(
            "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n) ORDER BY 1"),
            {"table": table, "n": n}))
    top = session.scalar(text(f'SELECT coalesce(max(id), 0) FROM "{table}"'))
    return list(range(top + 1, top + n + 1))


def assign_ids(session: Session, classes: tuple[type, ...]) -> None:
    """Give every new (pending) object of `classes` without an id its id, per table in insert order."""
    pending: dict[type, list] = {}
    for obj in session.new:
        if type(obj) in classes and obj.id is None:
            pending.setdefault(type(obj), []).append(inspect(obj))
    with session.no_autoflush:
        for cls, states in pending.items():
            states.sort(key=lambda state: state.insert_order)
            for state, new_id in zip(states, next_ids(session, cls.__table__.name, len(states))):
                state.obj().id = new_id
