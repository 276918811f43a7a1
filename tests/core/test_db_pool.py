"""Pooled PostgreSQL connections: one that sat idle is pinged and replaced if the server dropped it; a
connection in steady use is not pinged, and if it died the request fails once and the pool starts afresh."""
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.db import make_engine


def _count_pings(engine) -> list:
    pings, real = [], engine.dialect.do_ping
    engine.dialect.do_ping = lambda dbapi_connection: pings.append(1) or real(dbapi_connection)
    return pings


def _kill(url: str, pid: int) -> None:
    admin = make_engine(url)
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        conn.commit()
    admin.dispose()


@pytest.fixture
def engine(migrated_postgres):
    engine = make_engine(migrated_postgres, ping_idle_seconds=10)
    yield engine
    engine.dispose()


def backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar()


@pytest.mark.postgres
def test_an_idle_connection_the_server_dropped_is_replaced_before_use(engine, migrated_postgres):
    pings = _count_pings(engine)
    first = backend_pid(engine)
    _kill(migrated_postgres, first)
    record = engine.pool._pool.queue[0]  # the one pooled connection
    record.info["last_used"] -= 60  # as if it had been idle a minute
    assert backend_pid(engine) != first and pings == [1]  # the idle one was pinged, found dead and replaced


@pytest.mark.postgres
def test_a_busy_connection_is_not_pinged_and_a_dead_one_fails_once(engine, migrated_postgres):
    pings = _count_pings(engine)
    first = backend_pid(engine)
    assert backend_pid(engine) == first
    assert pings == []  # a connection in steady use costs no extra round trip
    _kill(migrated_postgres, first)
    with pytest.raises(DBAPIError) as failure, engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert failure.value.connection_invalidated
    assert backend_pid(engine) != first  # the pool connected afresh
