"""`flask --app wsgi demo seed --cases N`: demonstration data (development and benchmarks only; refused in
production)."""
from __future__ import annotations

from datetime import datetime, time, timedelta

import click
from flask import Flask, current_app

from core.db import new_session
from demo.seed import TOTP_SECRET, seed
from jobs.tasks import local_now, reminders_job


def remind_as_last_working_day(app: Flask):
    """The reminders pass the seeded deadlines imply, so the supervision list (督办) and the dashboard are
    filled: now if it is working time, else the last working day at 10:00."""
    now = local_now(app)
    for back in range(15):
        moment = now if back == 0 else datetime.combine(now.date() - timedelta(days=back), time(10))
        result = reminders_job(app, now=moment)
        if not result.skipped:
            return result
    return result


def init_app(app: Flask) -> None:
    @app.cli.group("demo")
    def demo_group():
        """Demonstration data (never in production)."""

    @demo_group.command("seed")
    @click.option("--cases", type=click.IntRange(1, 2_000_000), default=300, show_default=True)
    @click.option("--seed", "random_seed", type=int, default=2026, show_default=True)
    def demo_seed(cases, random_seed):
        """Fill the database with realistic cases across units, items, channels and states."""
        if current_app.config["APP_ENV"] == "production":
            raise click.ClickException("demo data is never created in production")
        with new_session() as session:
            made = seed(session, current_app.extensions["intake"], cases, random_seed=random_seed)
        passed = remind_as_last_working_day(current_app)
        click.echo(f"created {made.cases} case(s), {made.users} account(s) (password: {made.password}), "
                   f"{made.ledger_rows} ledger row(s); reminders pass: {passed.summary()}")
        click.echo(f"authenticator secret of demo-taskforce-coord and demo-admin (TOTP, 6 digits, 30 s): {TOTP_SECRET}")
