"""Alembic, driven from code: `flask setup` and the tests migrate with the app's DATABASE_URL."""
from __future__ import annotations

from alembic import command
from alembic.config import Config

from config.settings import BASE_DIR


def alembic_config(database_url: str) -> Config:
    cfg = Config(str(BASE_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(BASE_DIR / "migrations"))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)
