"""`flask --app wsgi calendar due --start DATE --workdays N | --days N`: the working-day calendar."""
from __future__ import annotations

import click
from flask import Flask, current_app


def init_app(app: Flask) -> None:
    @app.cli.group("calendar")
    def calendar_group():
        """The working-day calendar (China's holidays and make-up working days)."""

    @calendar_group.command("due")
    @click.option("--start", required=True, type=click.DateTime(formats=["%Y-%m-%d"]))
    @click.option("--workdays", type=click.IntRange(0, 3650), default=None, help="Count working days (工作日).")
    @click.option("--days", type=click.IntRange(0, 3650), default=None,
                  help="Count calendar days (civil code: start not counted, moved off holidays).")
    def due_command(start, workdays, days):
        """Print the due date; a warning line follows when a year had no holiday data."""
        if (workdays is None) == (days is None):
            raise click.UsageError("give exactly one of --workdays and --days")
        calendar = current_app.extensions["workcalendar"]
        result = (calendar.add_workdays(start.date(), workdays) if workdays is not None
                  else calendar.add_days(start.date(), days))
        click.echo(result.due.isoformat())
        if result.uncertain:
            click.echo(result.warning())
