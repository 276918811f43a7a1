"""Alembic, driven from code: `flask setup` and the tests migrate with the app's DATABASE_URL."""
from __future__ import annotations

from functools import lru_cache

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from config.settings import BASE_DIR


def alembic_config(database_url: str) -> Config:
    cfg = Config(str(BASE_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(BASE_DIR / "migrations"))
    cfg.attributes["database_url"] = database_url
    return cfg


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The migrations' head, read once per process (the scripts do not change under a running process)."""
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


def current_revision(database_url: str) -> str | None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate to `revision`. A database already at head is left alone without building alembic's revision
    map (every app start in the tests, and every `flask setup` of an up-to-date install, asks)."""
    if revision == "head" and current_revision(database_url) == head_revision():
        return
    command.upgrade(alembic_config(database_url), revision)
