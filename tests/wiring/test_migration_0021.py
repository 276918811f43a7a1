"""Migration 0021 (queue counts): the upgrade counts the cases and assisting rows already there, its
triggers count every write after it, and the downgrade removes table, triggers and functions."""
from datetime import datetime

from sqlalchemy import create_engine, insert, text

from casework.models import Case, CaseUnit
from core.units import Unit
from tests.wiring.test_setup_and_migrations import REPORT_0007, _fresh_database, report_row
from wiring.migrate import upgrade

SUMS = "SELECT kind, unit_code, status, sum(n) FROM queue_counts GROUP BY kind, unit_code, status HAVING sum(n) != 0"


def test_upgrade_to_0021_counts_what_is_there_and_what_comes(backend, request, tmp_path):
    from alembic import command

    from wiring.migrate import alembic_config
    url = _fresh_database(backend, request, tmp_path)
    upgrade(url, "0020")
    engine = create_engine(url)
    now = datetime(2026, 11, 2, 9, 0)
    with engine.begin() as conn:
        for code in ("health", "market"):
            conn.execute(insert(Unit.__table__).values(code=code, name=code, name_en=code))
        for rid, status, lead in ((1, "to_accept", "health"), (2, "to_accept", "health"), (3, "closed", "market")):
            conn.execute(REPORT_0007, report_row(rid, now))
            conn.execute(insert(Case.__table__).values(id=rid, report_id=rid, status=status, lead_unit=lead,
                                                       received_at=now))
        conn.execute(insert(CaseUnit.__table__).values(case_id=1, unit_code="market", role="assist"))
    upgrade(url, "0021")
    with engine.begin() as conn:
        assert sorted(tuple(r) for r in conn.execute(text(SUMS))) == [
            ("assist", "market", "", 1), ("lead", "health", "to_accept", 2), ("lead", "market", "closed", 1)]
        conn.execute(text("UPDATE cases SET status = 'in_progress' WHERE id = 2"))
        conn.execute(text("UPDATE cases SET status = status WHERE id = 1"))  # no change: no delta
        conn.execute(text("DELETE FROM case_units WHERE case_id = 1"))
        conn.execute(text("DELETE FROM cases WHERE id = 3"))
        assert sorted(tuple(r) for r in conn.execute(text(SUMS))) == [
            ("lead", "health", "in_progress", 1), ("lead", "health", "to_accept", 1)]
    command.downgrade(alembic_config(url), "0020")
    with engine.begin() as conn:
        conn.execute(text("UPDATE cases SET status = 'closed' WHERE id = 1"))  # no trigger is left to fail
        if backend == "postgresql":
            assert not conn.execute(text("SELECT tablename FROM pg_tables WHERE tablename = 'queue_counts'")).all()
            assert not conn.execute(text("SELECT proname FROM pg_proc WHERE proname LIKE 'queue_counts%'")).all()
        else:
            assert not conn.execute(text("SELECT name FROM sqlite_master WHERE name LIKE 'queue_counts%'")).all()
    engine.dispose()
