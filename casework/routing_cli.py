"""Commands: `routing sweep|retrain|correct`: route what waits, retrain the learned model on people's
corrections, correct a case's item or lead unit."""
from __future__ import annotations

import time

import click
from flask import Flask, current_app
from sqlalchemy import select

from casework.learned_store import retrain, retrain_corpus
from casework.models import Case
from casework.opening import UNCHANGED, CorrectionError, correct_routing, route_unrouted
from casework.runtime import routing_runtime
from core.db import new_session
from intake.models import Report
from routing.model import load_model


def init_app(app: Flask) -> None:
    @app.cli.group("routing")
    def routing_group():
        """Routing: sweep unrouted reports, retrain the learned model, correct a case."""

    @routing_group.command("sweep")
    def sweep_command():
        """Route every report that has no case yet (safe to run at any time)."""
        runtime = routing_runtime()
        with new_session() as session:
            learned = runtime.learned_model(session)
            start = time.perf_counter()
            routed = route_unrouted(session, runtime.taxonomy, learned, runtime.related,
                                    workers=current_app.config["ROUTING_WORKERS"])
            click.echo(f"routed {routed} report(s) in {time.perf_counter() - start:.1f} s")

    @routing_group.command("retrain")
    def retrain_command():
        """Train the corpus model again: the labelled corpus (ROUTING_TRAIN_DIR) plus every correction so far."""
        runtime = routing_runtime()
        with new_session() as session:
            try:
                record = retrain_corpus(session, runtime.taxonomy, current_app.config["ROUTING_TRAIN_DIR"])
            except ValueError as exc:
                raise click.ClickException(str(exc))
            meta = getattr(load_model(record.payload), "meta", None) or {}
        click.echo(f"corpus model {record.version} from {record.examples} report(s) and correction(s)")
        chosen = meta.get("out_of_fold", {}).get("threshold", {})
        click.echo(f"  {meta.get('train_rows')} labelled report(s), {meta.get('corrections')} correction(s) learnt "
                   f"on top (penalty {meta.get('residual_penalty')}); out of fold: threshold "
                   f"{chosen.get('threshold', 0):.3f}, triage {100 * chosen.get('triage_share', 0):.1f} %, "
                   f"wrong unit among the auto-routed {100 * chosen.get('wrong_rate', 0):.1f} %"
                   + ("" if chosen.get("met", True) else " (the 3 % / 20 % constraints are not both met)"))

    @routing_group.command("correct")
    @click.argument("reference")
    @click.option("--item", default=None, help="Negative-list code, or 'none' for not about the campaign.")
    @click.option("--lead", "lead_unit", default=None, help="Lead unit code (default: from the matrix).")
    @click.option("--reason", required=True)
    @click.option("--by", required=True, help="Who corrects (name or account).")
    def correct_command(reference, item, lead_unit, reason, by):
        """Correct the item and/or lead unit of a case, keep the reason, retrain."""
        runtime = routing_runtime()
        with new_session() as session:
            case = session.scalar(select(Case).join(Report).where(Report.reference == reference))
            if case is None:
                raise click.ClickException(f"no case {reference}")
            new_item = UNCHANGED if item is None else (None if item.lower() == "none" else item)
            try:
                correct_routing(session, runtime.taxonomy, case, item=new_item, lead_unit=lead_unit,
                                reason=reason, by=by, related=runtime.related)
            except CorrectionError as exc:
                raise click.ClickException(str(exc))
            record = retrain(session)
            click.echo(f"{reference}: item {case.item_code}, lead {case.lead_unit}, assist {case.assist_units}"
                       + (f"; learned model {record.version}" if record else ""))
