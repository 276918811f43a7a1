from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text

from core.db import get_engine
from core.units import Unit, UnitChannel
from wiring.models import all_metadata, include_name
from wiring.setup_cli import run_setup


def test_migration_head_equals_models(app):
    with app.app_context():
        with get_engine().connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name}), all_metadata())
    assert diff == []


def test_setup_is_idempotent_and_loads_units_with_channels(app, session):
    with app.app_context():
        run_setup(app)
        run_setup(app)
    assert session.scalar(select(func.count()).select_from(Unit)) == 6
    assert session.scalar(select(func.count()).select_from(UnitChannel)) == 9
    health = session.get(Unit, "health")
    assert [c.value for c in health.channels] == [
        "0427-2811536", "盘锦市兴隆台区创新街道兴油支路96号，兴隆台区卫生健康局办公室，124010", "634240857@qq.com"]
    assert session.get(Unit, "police").channels == []


def test_setup_command_prints_what_it_did(runner):
    result = runner.invoke(args=["setup"])
    assert result.exit_code == 0, result.output
    assert "database migrated to head" in result.output and "loaded 6 units" in result.output


def test_healthz_answers_when_the_database_answers(client, app):
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.json == {"status": "ok"}


def test_healthz_is_503_when_the_database_is_gone(app_factory, tmp_path):
    app = app_factory()
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker
    broken = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1})
    app.extensions["db_sessionmaker"] = sessionmaker(bind=broken)
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503


def _fresh_database(backend, request, tmp_path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'upgrade.sqlite3'}"
    from tests.conftest import _recreate_database, worker_database
    return _recreate_database(request.getfixturevalue("postgres_url"), worker_database("xlt_upgrade"))


# A report row as schema 0007 knew it (no receipt_legacy column).
REPORT_0007 = text(
    "INSERT INTO reports (id, reference, channel, received_via, received_at, title, text, occurred, accused_name, "
    "accused_institution, accused_position, anonymous, own_conduct, status, status_changed_at, receipt_hash, "
    "receipt_must_reset, created_at) VALUES (:id, :ref, 'web', '', :now, '', '举报内容', '', '', '', '', :t, :f, "
    "'received', :now, :hash, :f, :now)")


def report_row(rid: int, now) -> dict:
    return {"id": rid, "ref": f"XLT-2026-{rid:06d}", "now": now, "hash": bytes([rid]) * 32, "t": True, "f": False}


def test_upgrade_to_0008_queues_unrouted_reports_and_marks_old_receipts(backend, request, tmp_path):
    """Data written under 0007 survives: reports without a case enter the routing queue, every old
    receipt is marked scrypt (legacy), and rows written afterwards are HMAC by default."""
    from datetime import datetime

    from sqlalchemy import create_engine, insert

    from casework.models import Case
    from wiring.migrate import upgrade
    url = _fresh_database(backend, request, tmp_path)
    upgrade(url, "0007")
    engine = create_engine(url)
    now = datetime(2026, 11, 2, 9, 0)
    with engine.begin() as conn:
        for rid in (1, 2):
            conn.execute(REPORT_0007, report_row(rid, now))
        conn.execute(text("INSERT INTO reference_counters (year, last) VALUES (2026, 41)"))
        conn.execute(insert(Unit.__table__).values(code="health", name="区卫生健康局", name_en="Health"))
        conn.execute(insert(Case.__table__).values(id=1, report_id=1, status="to_accept", lead_unit="health",
                                                   received_at=now))  # the model's other defaults (Core applies them)
    upgrade(url, "head")
    with engine.begin() as conn:
        assert conn.execute(text("SELECT report_id FROM pending_routing")).scalars().all() == [2]
        assert conn.execute(text("SELECT count(*) FROM reports WHERE receipt_legacy")).scalar() == 2
        conn.execute(REPORT_0007, report_row(3, now))  # written without the new column
        assert not conn.execute(text("SELECT receipt_legacy FROM reports WHERE id = 3")).scalar()
        if backend == "postgresql":  # the year's numbers go on from the counter, in a sequence now
            assert conn.execute(text("SELECT nextval('report_number_2026')")).scalar() == 42
    if backend == "postgresql":
        from alembic import command

        from wiring.migrate import alembic_config
        command.downgrade(alembic_config(url), "0007")
        with engine.begin() as conn:
            assert conn.execute(text("SELECT last FROM reference_counters WHERE year = 2026")).scalar() == 42
            assert conn.execute(text("SELECT count(*) FROM pg_class WHERE relname = 'report_number_2026'")).scalar() == 0
    engine.dispose()


def test_upgrade_to_0009_recuses_the_staff_that_existing_reports_name(backend, request, tmp_path):
    """Data written under 0008: every account gets its name key, every report on a case its content key,
    and each person an existing report names (in 繁體, with a dot, in a reporter's message) is recused from
    that case; a namesake by surname is not; an account without a real name is recorded as such."""
    from datetime import datetime

    from sqlalchemy import create_engine, insert

    from casework.models import Case, CaseReport
    from core.accounts import User
    from wiring.migrate import upgrade
    url = _fresh_database(backend, request, tmp_path)
    upgrade(url, "0008")
    engine = create_engine(url)
    now = datetime(2026, 11, 2, 9, 0)
    with engine.begin() as conn:
        conn.execute(insert(Unit.__table__).values(code="health", name="区卫生健康局", name_en="Health"))
        for rid in (1, 2):
            conn.execute(REPORT_0007, report_row(rid, now))
        conn.execute(text("UPDATE reports SET accused_name = '王·建國' WHERE id = 1"))
        conn.execute(text("INSERT INTO messages (report_id, author, body, visible_to_reporter, created_at) "
                          "VALUES (2, 'reporter', '补充：承办人李 四是他亲戚', :t, :now)"), {"t": True, "now": now})
        for cid in (1, 2):
            conn.execute(insert(Case.__table__).values(id=cid, report_id=cid, status="to_accept", lead_unit="health",
                                                       received_at=now))
            conn.execute(insert(CaseReport.__table__).values(case_id=cid, report_id=cid))
        for uid, name in ((1, "王建国"), (2, "李四"), (3, "王建华"), (4, "")):
            conn.execute(insert(User.__table__).values(id=uid, username=f"u{uid}", display_name=name, unit_code="health",
                                                       role="handler", email="", password_hash="x", created_at=now))
    upgrade(url, "head")
    with engine.begin() as conn:
        recused = conn.execute(text("SELECT case_id, user_id, source FROM recusals ORDER BY case_id")).all()
        assert [tuple(r) for r in recused] == [(1, 1, "accused"), (2, 2, "message")]
        keys = dict(conn.execute(text("SELECT user_id, name_key FROM staff_name_keys")).all())
        assert keys == {1: "王建国", 2: "李四", 3: "王建华", 4: ""}
        assert conn.execute(text("SELECT count(*) FROM report_name_texts")).scalar() == 2
    engine.dispose()


def test_upgrade_to_0019_indexes_the_cases_already_there(backend, request, tmp_path):
    """Cases written before the search index are found by it after the upgrade (繁體 in the query)."""
    from datetime import datetime

    from sqlalchemy import create_engine, insert
    from sqlalchemy.orm import Session

    from casework.models import Case, CaseReport
    from casework.search import hits, terms_of
    from wiring.migrate import upgrade
    url = _fresh_database(backend, request, tmp_path)
    upgrade(url, "0009")
    engine = create_engine(url)
    now = datetime(2026, 11, 2, 9, 0)
    with engine.begin() as conn:
        conn.execute(insert(Unit.__table__).values(code="health", name="区卫生健康局", name_en="Health"))
        for rid in (1, 2):
            conn.execute(REPORT_0007, report_row(rid, now))
            conn.execute(insert(Case.__table__).values(id=rid, report_id=rid, status="to_accept", lead_unit="health",
                                                       received_at=now))
            conn.execute(insert(CaseReport.__table__).values(case_id=rid, report_id=rid))
        conn.execute(text("UPDATE reports SET text = '区人民医院医生收红包' WHERE id = 2"))
    upgrade(url, "head")
    with Session(engine) as s:
        found = hits(s, terms_of("醫院"))
        assert s.execute(select(found.c.case_id)).scalars().all() == [2]
        found = hits(s, terms_of("举报内容"))
        assert s.execute(select(found.c.case_id)).scalars().all() == [1]
    engine.dispose()
