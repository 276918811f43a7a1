"""`flask --app wsgi demo seed --cases N`: demonstration data (development and benchmarks only; refused in
production)."""
from __future__ import annotations

import click
from flask import Flask, current_app

from core.db import new_session
from demo.seed import seed


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
        click.echo(f"created {made.cases} case(s), {made.users} account(s) (password: {made.password}), "
                   f"{made.ledger_rows} ledger row(s)")
