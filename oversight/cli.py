"""Commands: `ledger export --kind institution|individual [--unit CODE] --out FILE.xlsx`."""
from __future__ import annotations

import click
from flask import Flask

from core.db import new_session
from oversight.ledger_export import KINDS, LedgerExportError, export_ledger


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
