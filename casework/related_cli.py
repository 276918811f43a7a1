"""Command: `reports related REFERENCE`: the reports related to the case that holds the report
REFERENCE (casework.related), one JSON line each: {"reference", "reasons": [...], "score"}; exits 1 for
an unknown reference. Added to intake's `reports` group (intake.export_cli) by the app factory."""
from __future__ import annotations

import json
import sys

import click
from flask import Flask
from sqlalchemy import select

from casework.models import Case, CaseReport
from casework.related_views import related_cases
from core.audit import record
from core.db import new_session
from intake.models import Report


def init_app(app: Flask) -> None:
    group = app.cli.commands["reports"]  # intake.export_cli made it

    @group.command("related")
    @click.argument("reference")
    def related_command(reference: str):
        """Print the reports related to REFERENCE as JSON lines (reason codes, score)."""
        with new_session() as session:
            case = session.scalar(select(Case).join(CaseReport, CaseReport.case_id == Case.id)
                                  .join(Report, Report.id == CaseReport.report_id).where(Report.reference == reference))
            if case is None:
                click.echo(f"no routed report with the reference {reference}", err=True)
                sys.exit(1)
            found = related_cases(session, case, limit=1000)
            for row in found:
                click.echo(json.dumps({"reference": row.reference, "reasons": row.reasons, "score": row.score},
                                      ensure_ascii=False))
            record(session, "reports.related_listed", actor="cli", case_id=case.id, report_id=case.report_id,
                   count=len(found))
            session.commit()
