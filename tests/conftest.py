"""Fixtures: app/client/session on SQLite and PostgreSQL (one parametrised fixture), a live server
for browser tests. PostgreSQL and Chromium tests skip with a notice where absent; with
XLT_REQUIRE_ALL=1 (CI) a missing part fails instead."""
from __future__ import annotations

import base64
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from config.settings import normalise_database_url
from core.i18n import compile_catalogs
from tests.support.postgres import TempCluster, find_bindir
from wiring.factory import create_app
from wiring.migrate import upgrade
from wiring.models import all_metadata

REQUIRE_ALL = os.environ.get("XLT_REQUIRE_ALL") == "1"
IDENTITY_KEY = base64.urlsafe_b64encode(b"k" * 32).decode()
NOTICES: list[str] = []
_OWN_BASETEMP = pytest.StashKey[str]()


def require_or_skip(reason: str):
    if REQUIRE_ALL:
        pytest.fail(f"required part missing (XLT_REQUIRE_ALL=1): {reason}")
    NOTICES.append(reason)
    pytest.skip(reason)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """A temporary root of this run's own (workers get its gw0, gw1, ... subfolders): pytest's default
    /tmp/pytest-of-USER keeps the three newest runs and deletes older ones, so two suites started on one
    machine deleted each other's SQLite templates and dovecot folders mid-run."""
    if config.option.basetemp is None and not hasattr(config, "workerinput"):
        config.option.basetemp = tempfile.mkdtemp(prefix="xlt-pytest-")
        config.stash[_OWN_BASETEMP] = config.option.basetemp


def pytest_sessionfinish(session, exitstatus):
    own = session.config.stash.get(_OWN_BASETEMP, None)
    if own and exitstatus == 0:  # kept after a failure, for a look at what the failing test left
        shutil.rmtree(own, ignore_errors=True)


def pytest_terminal_summary(terminalreporter):
    for notice in sorted(set(NOTICES)):
        terminalreporter.write_line(f"NOTICE: skipped because {notice}", yellow=True, bold=True)


@pytest.fixture(scope="session", autouse=True)
def _catalogs():
    compile_catalogs()


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashes():
    """argon2id at its smallest cost inside the test process: the library's default costs ~0.3 s of CPU per
    hash and per verify, and most tests create and log in accounts. The service itself (and every test that
    starts it in a subprocess) keeps the default; tests/core/test_passwords.py checks that default."""
    from argon2 import PasswordHasher
    from argon2.profiles import CHEAPEST

    import core.accounts
    real = core.accounts._hasher
    core.accounts._hasher = PasswordHasher.from_parameters(CHEAPEST)
    yield
    core.accounts._hasher = real


def worker_database(name: str) -> str:
    """A database name of this test process's own: pytest-xdist workers (gw0, gw1, ...) share one server."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return f"{name}_{worker}" if worker else name


def _recreate_database(server_url: str, name: str) -> str:
    """DROP and CREATE `name` on the server of `server_url`; returns the URL of the new database."""
    base = server_url.rsplit("/", 1)[0]
    engine = create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def postgres_url():
    url = os.environ.get("TEST_POSTGRES_URL")
    if url:
        url = normalise_database_url(url)
        if os.environ.get("PYTEST_XDIST_WORKER"):
            url = _recreate_database(url, worker_database(url.rsplit("/", 1)[1]))
        yield url
        return
    bindir = find_bindir()
    if bindir is None:
        require_or_skip("PostgreSQL binaries (initdb, pg_ctl) are not installed")
    cluster = TempCluster(bindir)
    try:
        base = cluster.start()
    except Exception as exc:  # pragma: no cover - environment problem
        cluster.stop()
        require_or_skip(f"a throwaway PostgreSQL cluster could not start: {exc}")
    yield _recreate_database(base, "xlt_test")
    cluster.stop()


@pytest.fixture(scope="session")
def migrated_postgres(postgres_url):
    upgrade(postgres_url)
    return postgres_url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite database with the reference data loaded, copied by each test (its app's setup then
    finds everything in place)."""
    root = tmp_path_factory.mktemp("sqlite-template")
    path = root / "template.sqlite3"
    app = make_test_app(f"sqlite:///{path}", root)
    app.extensions["db_engine"].dispose()
    return path


def _truncate_all(url: str) -> None:
    engine = create_engine(url)
    names = ", ".join(t.name for t in all_metadata().sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        conn.execute(text("SELECT setval(oid, 1, false) FROM pg_class WHERE relkind = 'S' "
                          "AND relname LIKE 'report\\_number\\_%'"))  # each year's reference numbers
    engine.dispose()


def make_test_app(database_url: str, tmp_path: Path, **overrides):
    env = {"APP_ENV": "testing", "SECRET_KEY": "test-secret-key-" + "x" * 32, "IDENTITY_KEY": IDENTITY_KEY,
           "DATABASE_URL": database_url, "UPLOAD_DIR": str(tmp_path / "uploads"),
           "INSTANCE_DIR": str(tmp_path / "instance"), "RATELIMIT_ENABLED": "false", "RECEIPT_SCRYPT_N": "1024"}
    env.update({k: str(v) for k, v in overrides.pop("env", {}).items()})
    app = create_app(overrides or None, env=env)
    from wiring.setup_cli import run_setup
    with app.app_context():
        run_setup(app)
    return app


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request):
    return request.param


@pytest.fixture
def database_url(request, backend, tmp_path, sqlite_template):
    if backend == "sqlite":
        path = tmp_path / "db.sqlite3"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("migrated_postgres")
    _truncate_all(url)
    return url


@pytest.fixture
def app_factory(database_url, tmp_path):
    apps = []

    def make(**overrides):
        app = make_test_app(database_url, tmp_path, **overrides)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["db_engine"].dispose()


@pytest.fixture
def app(app_factory):
    return app_factory()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def session(app):
    """A session of the test's own, with no app context held open (requests must not share `g`)."""
    s = app.extensions["db_sessionmaker"]()
    yield s
    s.close()


@pytest.fixture
def ctx(app):
    return app.extensions["intake"]


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def chromium_path() -> str:
    path = "/usr/bin/chromium"
    if not os.path.exists(path):
        require_or_skip("Chromium is not installed at /usr/bin/chromium")
    try:
        import playwright  # noqa: F401
    except ImportError:
        require_or_skip("the playwright package is not installed")
    return path
