"""Migration 0021 (queue counts): the upgrade counts the cases already there and copies their lead units and
statuses onto the walls' rows, its triggers follow every write after it, and the downgrade removes table,
columns, triggers and functions."""
from datetime import datetime

from sqlalchemy import create_engine, insert, text

from casework.models import Case, CaseUnit
from core.accounts import User
from core.units import Unit
from tests.wiring.test_setup_and_migrations import REPORT_0007, _fresh_database, report_row
from wiring.migrate import upgrade

SUMS = "SELECT unit_code, status, sum(n) FROM queue_counts GROUP BY unit_code, status HAVING sum(n) != 0"


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
        conn.execute(insert(User.__table__).values(id=1, username="u1", display_name="王某某", unit_code="health",
                                                   role="handler", password_hash="x"))
        conn.execute(text("INSERT INTO recusals (case_id, user_id, source, created_at, lift_reason) "
                          "VALUES (2, 1, 'text', '2026-11-02', '')"))
    upgrade(url, "0021")
    copies = "SELECT case_id, case_lead_unit, case_status FROM {} ORDER BY case_id"
    with engine.begin() as conn:
        assert sorted(tuple(r) for r in conn.execute(text(SUMS))) == [
            ("health", "to_accept", 2), ("market", "closed", 1)]
        assert [tuple(r) for r in conn.execute(text(copies.format("recusals")))] == [(2, "health", "to_accept")]
        conn.execute(text("UPDATE cases SET status = 'in_progress' WHERE id = 2"))
        conn.execute(text("INSERT INTO case_excluded_units (case_id, unit_code, created_at, lift_reason) "
                          "VALUES (1, 'market', '2026-11-02', '')"))
        conn.execute(text("INSERT INTO case_walls (case_id, rule, coordinators_only, reason, created_at, lift_reason) "
                          "VALUES (3, 'taskforce_leadership', true, '', '2026-11-02', '')"))
        assert [tuple(r) for r in conn.execute(text(copies.format("recusals")))] == [(2, "health", "in_progress")]
        assert [tuple(r) for r in conn.execute(text(copies.format("case_excluded_units")))] == [(1, "health", "to_accept")]
        assert [tuple(r) for r in conn.execute(text(copies.format("case_walls")))] == [(3, "market", "closed")]
        conn.execute(text("UPDATE cases SET lead_unit = 'market', status = 'in_progress' WHERE id = 1"))
        assert [tuple(r) for r in conn.execute(text(copies.format("case_excluded_units")))] == [(1, "market",
                                                                                                "in_progress")]
        conn.execute(text("UPDATE cases SET lead_unit = 'health', status = 'to_accept' WHERE id = 1"))
        conn.execute(text("UPDATE cases SET status = status WHERE id = 1"))  # no change: no delta
        conn.execute(text("DELETE FROM case_units WHERE case_id = 1"))
        conn.execute(text("DELETE FROM cases WHERE id = 3"))
        assert sorted(tuple(r) for r in conn.execute(text(SUMS))) == [
            ("health", "in_progress", 1), ("health", "to_accept", 1)]
    command.downgrade(alembic_config(url), "0020")
    with engine.begin() as conn:
        conn.execute(text("UPDATE cases SET status = 'closed' WHERE id = 1"))  # no trigger is left to fail
        if backend == "postgresql":
            assert not conn.execute(text("SELECT tablename FROM pg_tables WHERE tablename = 'queue_counts'")).all()
            assert not conn.execute(text("SELECT proname FROM pg_proc WHERE proname LIKE 'queue_counts%'")).all()
        else:
            assert not conn.execute(text("SELECT name FROM sqlite_master WHERE name LIKE 'queue_counts%'")).all()
    engine.dispose()
