"""Commands: `flask --app wsgi setup` and `flask --app wsgi reports export`."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy import select

from core.db import new_session
from core.i18n import compile_catalogs
from core.migrate import upgrade
from core.units import load_units


def reference_loaders(app: Flask) -> list:
    """Loaders of reference data from config/, in order. Other modules append theirs."""
    return app.extensions.setdefault("reference_loaders", [("units", load_units)])


def run_setup(app: Flask) -> list[str]:
    """Migrate to head and load reference data. Idempotent."""
    lines = []
    compiled = compile_catalogs()
    if compiled:
        lines.append(f"compiled {len(compiled)} translation catalogue(s)")
    Path(app.config["UPLOAD_DIR"]).mkdir(parents=True, exist_ok=True)
    upgrade(app.config["DATABASE_URL"])
    lines.append("database migrated to head")
    config_dir = Path(app.config["CONFIG_DIR"])
    with new_session() as session:
        for name, loader in reference_loaders(app):
            count = loader(session, config_dir)
            lines.append(f"loaded {count} {name}")
        session.commit()
    return lines


def export_reports(session, out) -> int:
    """One JSON line per report, without anything of the reporter's identity."""
    from intake.models import Report
    extra = current_app.extensions.get("report_export_fields", [])
    count = 0
    for report in session.scalars(select(Report).order_by(Report.id).execution_options(yield_per=500)):
        row = {"reference": report.reference, "channel": report.channel, "received_by": report.received_by,
               "received_at": report.received_at.isoformat(timespec="seconds"), "title": report.title,
               "text": report.text, "status": report.status, "anonymous": report.anonymous,
               "own_conduct": report.own_conduct, "attachments": len(report.attachments)}
        for add in extra:
            row.update(add(session, report))
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count


def init_app(app: Flask) -> None:
    reference_loaders(app)

    @app.cli.command("setup")
    def setup_command():
        """Migrate the database to head and load reference data from config/ (idempotent)."""
        for line in run_setup(current_app):
            click.echo(line)

    @app.cli.group("reports")
    def reports_group():
        """Reports: export."""

    @reports_group.command("export")
    @click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl", show_default=True)
    def export_command(fmt: str):
        """Print every report as JSON lines, without reporter identity."""
        from core.audit import record
        with new_session() as session:
            count = export_reports(session, sys.stdout)
            record(session, "reports.exported", actor="cli", format=fmt, count=count)
            session.commit()
