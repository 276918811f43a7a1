"""Command: `recusal rescan`: rebuild every name key and content key and make every recusal they call
for (after restoring a backup, or when names were changed in the database directly: until then such an
account sees no case). Nothing is lifted or removed."""
from __future__ import annotations

import click
from flask import Flask

from casework.recusal import rescan_all
from core.audit import record
from core.db import new_session


def init_app(app: Flask) -> None:
    @app.cli.group("recusal")
    def recusal_group():
        """Recusal: keep people off the cases whose reports name them."""

    @recusal_group.command("rescan")
    def rescan_command():
        """Scan every report on a case for the names of all staff (safe to run at any time)."""
        with new_session() as session:
            reports, made = rescan_all(session)
            record(session, "recusal.rescanned", actor="cli", reports=reports, recusals_made=made)
            session.commit()
        click.echo(f"{reports} report(s) scanned; {made} recusal(s) made or in force again")
