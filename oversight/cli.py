"""Commands: `ledger export --kind institution|individual [--unit CODE] [--as USERNAME] --out FILE.xlsx`."""
from __future__ import annotations

import click
from flask import Flask

from core.accounts import find_user
from core.db import new_session
from oversight.ledger_export import KINDS, LedgerExportError, export_ledger


def init_app(app: Flask) -> None:
    @app.cli.group("ledger")
    def ledger_group():
        """The plan's ledgers (Attachments 3 and 4)."""

    @ledger_group.command("export")
    @click.option("--kind", type=click.Choice(KINDS), required=True)
    @click.option("--unit", default=None, help="Unit code (default: every unit, as the task force; with --as, "
                  "the user's own unit unless they are of the task force).")
    @click.option("--as", "as_user", default=None, metavar="USERNAME",
                  help="Export what this staff member may see: their unit's ledger only, no row of a case they "
                       "are named in or that accuses their unit's leadership. Without it: every row.")
    @click.option("--out", "out_path", type=click.Path(dir_okay=False, writable=True), required=True)
    @click.option("--filled-by", default="", help="填报人 (the person filling in).")
    @click.option("--contact", default="", help="联系方式.")
    def ledger_export(kind, unit, as_user, out_path, filled_by, contact):
        """Write the ledger as .xlsx in the plan's form; the export is recorded in the audit trail."""
        with new_session() as session:
            actor = None
            if as_user is not None:
                actor = find_user(session, as_user)
                if actor is None or not actor.active:
                    raise click.ClickException(f"no active user {as_user!r}")
                if unit is None and not actor.is_taskforce:
                    unit = actor.unit_code
            with open(out_path, "wb") as out:
                try:
                    rows = export_ledger(session, actor, kind, out, unit=unit, person=filled_by or (
                        actor.display_name if actor is not None else ""), contact=contact,
                        by=filled_by or "command line")
                except LedgerExportError as exc:
                    raise click.ClickException(str(exc))
        click.echo(f"{rows} row(s) written to {out_path}" + (f" as {actor.username}" if actor is not None else ""))
