"""`flask --app wsgi setup`: compile the translations, migrate the database to head, load reference data."""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy import inspect

from core.audit import seal
from core.db import get_engine, new_session
from core.i18n import compile_catalogs
from core.reference_data import reference_loaders
from wiring.migrate import upgrade


def run_setup(app: Flask) -> list[str]:
    """Migrate to head and load reference data. Idempotent."""
    lines = []
    compiled = compile_catalogs()
    if compiled:
        lines.append(f"compiled {len(compiled)} translation catalogue(s)")
    Path(app.config["UPLOAD_DIR"]).mkdir(parents=True, exist_ok=True)
    unkeyed_trail = _audit_without_macs()
    upgrade(app.config["DATABASE_URL"])
    lines.append("database migrated to head")
    config_dir = Path(app.config["CONFIG_DIR"])
    with new_session() as session:
        for name, loader in reference_loaders(app):
            count = loader(session, config_dir)
            lines.append(f"loaded {count} {name}")
        sealed = seal(session) if unkeyed_trail else None  # this upgrade keyed the trail: the chain begins here
        if sealed is not None:
            lines.append(f"audit trail: the keyed chain begins at entry {sealed.seq}")
        session.commit()
    return lines


def _audit_without_macs() -> bool:
    """The audit table exists from before its MAC columns (so this upgrade adds them)."""
    inspector = inspect(get_engine())
    return inspector.has_table("audit_events") and "mac" not in {c["name"] for c in inspector.get_columns("audit_events")}


def init_app(app: Flask) -> None:
    reference_loaders(app)

    @app.cli.command("setup")
    def setup_command():
        """Migrate the database to head and load reference data from config/ (idempotent)."""
        for line in run_setup(current_app):
            click.echo(line)
