"""The database: declarative base with a constraint naming convention, one engine per app,
one session per request (closed at teardown). Domain functions receive the session."""
from __future__ import annotations

import time
from datetime import datetime, timezone

from flask import Flask, current_app, g
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def make_engine(url: str, ping_idle_seconds: float = 10.0) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    # jit off: the service's statements are short, and the cost estimates of the queue's counts and walls
    # would have PostgreSQL compile them (20-30 ms each) to save less than that
    engine = create_engine(url, pool_size=10, max_overflow=10, connect_args={"options": "-c jit=off"})
    _ping_after_idle(engine, ping_idle_seconds)
    return engine


def _ping_after_idle(engine: Engine, idle_seconds: float) -> None:
    """Pessimistic disconnect handling for connections that sat idle (a database restarted or a
    firewall dropped them meanwhile): ping on checkout, and let the pool replace a dead one. A
    connection in steady use is not pinged — that round trip cost a tenth of intake's throughput; if
    the database goes away under load, the failing request is a 503 and the pool starts afresh."""
    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _last_used(_dbapi_connection, record):
        record.info["last_used"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy):
        if time.monotonic() - record.info.get("last_used", 0.0) < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool discards this connection and connects anew
            raise DisconnectionError(f"idle connection is dead: {exc.__class__.__name__}") from exc


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"], app.config["DB_PING_IDLE_SECONDS"])
    app.extensions["db_engine"] = engine
    app.extensions["db_sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def get_engine() -> Engine:
    return current_app.extensions["db_engine"]


def new_session() -> Session:
    """A session not tied to the request (CLI commands, signal handlers, jobs)."""
    return current_app.extensions["db_sessionmaker"]()


def get_session() -> Session:
    if "db_session" not in g:
        g.db_session = new_session()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
