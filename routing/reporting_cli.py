"""Commands: `ledger export --kind institution|individual [--unit CODE] --out FILE.xlsx` and
`demo seed --cases N` (development and benchmarks only; refused in production)."""
from __future__ import annotations

import click
from flask import Flask, current_app

from core.db import new_session
from routing.ledger_export import KINDS, LedgerExportError, export_ledger


def init_app(app: Flask) -> None:
    @app.cli.group("ledger")
    def ledger_group():
        """The plan's ledgers (Attachments 3 and 4)."""

    @ledger_group.command("export")
    @click.option("--kind", type=click.Choice(KINDS), required=True)
    @click.option("--unit", default=None, help="Unit code (default: every unit, as the task force).")
    @click.option("--out", "out_path", type=click.Path(dir_okay=False, writable=True), required=True)
    @click.option("--filled-by", default="", help="填报人 (the person filling in).")
    @click.option("--contact", default="", help="联系方式.")
    def ledger_export(kind, unit, out_path, filled_by, contact):
        """Write the ledger as .xlsx in the plan's form; the export is recorded in the audit trail."""
        with new_session() as session, open(out_path, "wb") as out:
            try:
                rows = export_ledger(session, None, kind, out, unit=unit, person=filled_by, contact=contact,
                                     by=filled_by or "command line")
            except LedgerExportError as exc:
                raise click.ClickException(str(exc))
        click.echo(f"{rows} row(s) written to {out_path}")

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
        from routing.demo import seed
        with new_session() as session:
            made = seed(session, current_app.extensions["intake"], cases, random_seed=random_seed)
        click.echo(f"created {made.cases} case(s), {made.users} account(s) (password: {made.password}), "
                   f"{made.ledger_rows} ledger row(s)")
