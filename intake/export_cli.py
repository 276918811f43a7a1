"""`flask --app wsgi reports export`: every report as JSON lines, without the reporter's identity.
Fields of the case are added by the packages above through `report_export_fields` (wired by the factory)."""
from __future__ import annotations

import json
import sys

import click
from flask import Flask, current_app
from sqlalchemy import select

from core.audit import record
from core.db import new_session
from intake.models import Report


def export_reports(session, out) -> int:
    """One JSON line per report, without anything of the reporter's identity."""
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
    @app.cli.group("reports")
    def reports_group():
        """Reports: export."""

    @reports_group.command("export")
    @click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl", show_default=True)
    def export_command(fmt: str):
        """Print every report as JSON lines, without reporter identity."""
        with new_session() as session:
            count = export_reports(session, sys.stdout)
            record(session, "reports.exported", actor="cli", format=fmt, count=count)
            session.commit()
