"""Alembic, driven from code: `flask setup` and the tests migrate with the app's DATABASE_URL."""
from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData

from config.settings import BASE_DIR


def alembic_config(database_url: str) -> Config:
    cfg = Config(str(BASE_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(BASE_DIR / "migrations"))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def all_metadata() -> MetaData:
    """The models' metadata with every module that declares tables imported."""
    import core.accounts  # noqa: F401
    import core.audit  # noqa: F401
    import core.units  # noqa: F401
    import intake.mail_models  # noqa: F401
    import intake.models  # noqa: F401
    import routing.deadline_models  # noqa: F401
    import routing.models  # noqa: F401
    from core.db import Base
    return Base.metadata
