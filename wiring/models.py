"""The model registry: every module that declares tables, imported, so that Alembic and the
head-equals-models test see the whole schema. It stands on the top floor because it imports every package."""
from __future__ import annotations

from sqlalchemy import MetaData

import casework.deadline_models  # noqa: F401
import casework.models  # noqa: F401
import casework.queue_count_models  # noqa: F401
import casework.recusal_models  # noqa: F401
import casework.related_models  # noqa: F401
import casework.return_call_models  # noqa: F401
import casework.search_models  # noqa: F401
import core.accounts  # noqa: F401
import core.audit  # noqa: F401
import core.staff_sessions  # noqa: F401
import core.units  # noqa: F401
import intake.feedback_models  # noqa: F401
import intake.mail_models  # noqa: F401
import intake.match_keys  # noqa: F401
import intake.models  # noqa: F401
import jobs.models  # noqa: F401
import oversight.models  # noqa: F401
from core.db import Base


def include_name(name, type_, _parent_names) -> bool:
    """What Alembic compares: every table but SQLite's FTS5 search table and its shadow tables, which
    no model declares (casework.search_models)."""
    from casework.search_models import FTS_TABLE
    return not (type_ == "table" and name and name.startswith(FTS_TABLE))


def all_metadata() -> MetaData:
    """The models' metadata with every module that declares tables imported."""
    return Base.metadata
