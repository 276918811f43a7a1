from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from core.cli import run_setup
from core.db import get_engine
from core.migrate import all_metadata
from core.units import Unit, UnitChannel


def test_migration_head_equals_models(app):
    with app.app_context():
        with get_engine().connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), all_metadata())
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
