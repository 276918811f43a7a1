"""Commands: `scheduler run` (the scheduler process), `reminders run [--now …]` (one reminders pass, as
if it were that moment), `deadlines sync` (recompute the due dates of open cases after a rules change)."""
from __future__ import annotations

from datetime import datetime

import click
from flask import Flask, current_app
from sqlalchemy import select

from casework.deadlines import sync_deadlines
from casework.models import Case
from casework.rules import OPEN_STATUSES
from core.db import new_session
from jobs.tasks import local_now, reminders_job


def init_app(app: Flask) -> None:
    @app.cli.group("scheduler")
    def scheduler_group():
        """The scheduler process: reminders, outbox, mail fetch, the weekly reminder."""

    @scheduler_group.command("run")
    @click.option("--holder", default=None, help="Name of this process in the lease (default host:pid).")
    def scheduler_run(holder):
        """Run the jobs until stopped; with several processes, one holds the lease and runs them."""
        import logging

        from jobs.scheduler import run_forever
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # our jobs log what they did
        run_forever(current_app._get_current_object(), holder)

    @app.cli.group("reminders")
    def reminders_group():
        """Deadline reminders and escalation (督办)."""

    @reminders_group.command("run")
    @click.option("--now", "now", default=None, metavar="YYYY-MM-DDTHH:MM",
                  help="Run as if it were this local (Asia/Shanghai) moment.")
    def reminders_run(now):
        """One reminders pass; prints what it did. Safe to run at any time, as often as you like."""
        moment = local_now(current_app)
        if now:
            try:
                moment = datetime.fromisoformat(now).replace(tzinfo=None)
            except ValueError:
                raise click.BadParameter("use the form 2027-01-20T10:00", param_hint="--now")
        result = reminders_job(current_app._get_current_object(), moment)
        click.echo(f"{moment:%Y-%m-%d %H:%M}: {result.summary()}")
        calendar = current_app.extensions["workcalendar"]
        missing = calendar.missing_years(moment.year, moment.year + 1)
        if missing:
            click.echo(f"warning: no official holiday schedule for {', '.join(map(str, missing))}; deadlines "
                       f"there are counted with weekends only (add the year to config/holidays.toml)")

    @app.cli.group("retention")
    def retention_group():
        """Data retention of ended cases (RETENTION_DAYS, RETENTION_NOTICE_HOURS)."""

    @retention_group.command("run")
    @click.option("--now", "now", default=None, metavar="YYYY-MM-DDTHH:MM", help="Run as if it were this UTC moment.")
    def retention_run(now):
        """Announce the cases whose retention ends within the notice period; purge those announced in time."""
        from jobs.tasks import retention_job
        moment = None
        if now:
            try:
                moment = datetime.fromisoformat(now).replace(tzinfo=None)
            except ValueError:
                raise click.BadParameter("use the form 2029-12-01T03:00", param_hint="--now")
        click.echo(retention_job(current_app._get_current_object(), moment).summary())

    @app.cli.group("deadlines")
    def deadlines_group():
        """Time limits of cases (config/deadlines.toml)."""

    @deadlines_group.command("sync")
    def deadlines_sync():
        """Recompute the due dates of every open case (after editing deadlines.toml or holidays.toml)."""
        count = 0
        with new_session() as session:
            ids = list(session.scalars(select(Case.id).where(Case.status.in_(OPEN_STATUSES + ("closed",)))))
            for start in range(0, len(ids), 500):
                for case in session.scalars(select(Case).where(Case.id.in_(ids[start:start + 500]))):
                    sync_deadlines(session, case)
                    count += 1
                session.commit()
        click.echo(f"synced the deadlines of {count} case(s)")
