"""Migration 0022 (tab keys in the search entries): the upgrade gives the entries already there their case's
keys, its triggers follow every write after it (a status, lead or due date change, a case_units row added, changed or
removed, a new entry), and the downgrade removes column, index, triggers and functions."""
from datetime import datetime

from sqlalchemy import create_engine, insert, text

from casework.models import Case, CaseUnit
from casework.search_models import fts_token
from core.units import Unit
from tests.wiring.test_setup_and_migrations import REPORT_0007, _fresh_database, report_row
from wiring.migrate import upgrade


def _keys(conn, backend, case_id):
    if backend == "postgresql":
        row = conn.execute(text("SELECT keys FROM case_search WHERE case_id = :id"), {"id": case_id}).first()
        return None if row is None else sorted(row[0])
    row = conn.execute(text("SELECT k FROM case_search_fts WHERE rowid = :id"), {"id": case_id}).first()
    return None if row is None else sorted(row[0].split())


def _expected(backend, *keys):
    return sorted(keys) if backend == "postgresql" else sorted(fts_token(k) for k in keys)


def _entry(conn, backend, case_id, words):
    """An entry as casework.search.index_cases writes it (before 0022: without keys)."""
    if backend == "postgresql":
        conn.execute(text("INSERT INTO case_search (case_id, tsv) VALUES (:id, CAST(:tsv AS tsvector))"),
                     {"id": case_id, "tsv": words})
    else:
        conn.execute(text("INSERT INTO case_search_fts (rowid, a, b, d) VALUES (:id, '', '', :d)"),
                     {"id": case_id, "d": words})


def test_upgrade_to_0022_keys_what_is_there_and_what_comes(backend, request, tmp_path):
    from alembic import command

    from wiring.migrate import alembic_config
    url = _fresh_database(backend, request, tmp_path)
    upgrade(url, "0021")
    engine = create_engine(url)
    now = datetime(2026, 11, 2, 9, 0)
    with engine.begin() as conn:
        for code in ("health", "market", "taskforce"):
            conn.execute(insert(Unit.__table__).values(code=code, name=code, name_en=code))
        for rid, status, lead in ((1, "to_accept", "health"), (2, "not_accepted", "market"), (3, "triage", "taskforce")):
            conn.execute(REPORT_0007, report_row(rid, now))
            conn.execute(insert(Case.__table__).values(id=rid, report_id=rid, status=status, lead_unit=lead,
                                                       received_at=now))
            conn.execute(insert(CaseUnit.__table__).values(case_id=rid, unit_code=lead, role="lead"))
        conn.execute(insert(CaseUnit.__table__).values(case_id=1, unit_code="market", role="assist"))
        _entry(conn, backend, 1, "红包")
        _entry(conn, backend, 2, "回扣")
    upgrade(url, "0022")
    with engine.begin() as conn:
        assert _keys(conn, backend, 1) == _expected(backend, "u:health", "l:health:to_accept", "s:to_accept",
                                                    "v:health", "v:market", "a:market")
        assert _keys(conn, backend, 2) == _expected(backend, "u:market", "l:market:closed", "s:closed", "v:market")
        # a status change, a new assisting unit, a removed one, a unit's row changed, a lead moved
        conn.execute(text("UPDATE cases SET status = 'in_progress' WHERE id = 1"))
        conn.execute(insert(CaseUnit.__table__).values(case_id=2, unit_code="health", role="assist"))
        conn.execute(text("DELETE FROM case_units WHERE case_id = 1 AND unit_code = 'market'"))
        assert _keys(conn, backend, 1) == _expected(backend, "u:health", "l:health:in_progress", "s:in_progress",
                                                    "v:health")
        assert _keys(conn, backend, 2) == _expected(backend, "u:market", "l:market:closed", "s:closed", "v:market",
                                                    "v:health", "a:health")
        conn.execute(text("UPDATE case_units SET role = 'lead' WHERE case_id = 2 AND unit_code = 'health'"))
        conn.execute(text("DELETE FROM case_units WHERE case_id = 2 AND unit_code = 'market'"))
        conn.execute(text("UPDATE cases SET lead_unit = 'health', status = 'to_accept' WHERE id = 2"))
        assert _keys(conn, backend, 2) == _expected(backend, "u:health", "l:health:to_accept", "s:to_accept",
                                                    "v:health")
        # a next due date set: the deadline tabs' keys; cleared: gone
        conn.execute(text("UPDATE cases SET next_due_on = '2026-12-01' WHERE id = 2"))
        assert _keys(conn, backend, 2) == _expected(backend, "u:health", "l:health:to_accept", "s:to_accept",
                                                    "v:health", "o:health", "o:*")
        conn.execute(text("UPDATE cases SET next_due_on = '2026-12-09' WHERE id = 2"))  # moved: the same keys
        assert _keys(conn, backend, 2) == _expected(backend, "u:health", "l:health:to_accept", "s:to_accept",
                                                    "v:health", "o:health", "o:*")
        conn.execute(text("UPDATE cases SET next_due_on = NULL WHERE id = 2"))
        assert _keys(conn, backend, 2) == _expected(backend, "u:health", "l:health:to_accept", "s:to_accept",
                                                    "v:health")
        # a new entry takes its case's keys (PostgreSQL: the insert trigger; SQLite: casework.search writes k)
        if backend == "postgresql":
            _entry(conn, backend, 3, "乱收")
            assert _keys(conn, backend, 3) == _expected(backend, "u:taskforce", "l:taskforce:triage", "s:triage",
                                                        "v:taskforce")
    command.downgrade(alembic_config(url), "0021")
    with engine.begin() as conn:
        conn.execute(text("UPDATE cases SET status = 'closed' WHERE id = 1"))  # no trigger is left to fail
        conn.execute(text("DELETE FROM case_units WHERE case_id = 1"))
        if backend == "postgresql":
            assert not conn.execute(text("SELECT proname FROM pg_proc WHERE proname LIKE 'case_search_keys%'")).all()
            assert not conn.execute(text("SELECT 1 FROM information_schema.columns WHERE table_name = 'case_search' "
                                         "AND column_name = 'keys'")).all()
        else:
            assert not conn.execute(text("SELECT name FROM sqlite_master WHERE name LIKE 'case_search_keys%'")).all()
            assert conn.execute(text("SELECT rowid, d FROM case_search_fts ORDER BY rowid")).all() == [
                (1, "红包"), (2, "回扣")]
    upgrade(url, "0022")  # and up again
    with engine.begin() as conn:
        assert _keys(conn, backend, 1) == _expected(backend, "u:health", "l:health:closed", "s:closed")
    engine.dispose()
