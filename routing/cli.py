"""Commands: `classify FILE.jsonl`, `classify-eval FILE.jsonl`, and `routing sweep|retrain|correct`."""
from __future__ import annotations

import json
import sys

import click
from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from core.db import new_session
from intake.models import Report
from routing.classifier import classify
from routing.evaluate import evaluate, format_report
from routing.matrix import route
from routing.models import Case
from routing.service import UNCHANGED, CorrectionError, correct_routing, retrain, route_unrouted


def _learned(runtime):
    """The stored learned model, if a database with one is reachable; the rules alone otherwise."""
    try:
        with new_session() as session:
            return runtime.learned_model(session)
    except SQLAlchemyError:
        return None


def _rows(fh):
    for number, line in enumerate(fh, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise click.ClickException(f"line {number}: not valid JSON")
        if not isinstance(row, dict):
            raise click.ClickException(f"line {number}: not a JSON object")
        yield row


def classify_line(tax, row: dict, learned) -> dict:
    title, text = str(row.get("title") or ""), str(row.get("text") or "")
    accused = row.get("accused") if isinstance(row.get("accused"), dict) else None
    result = classify(tax, title=title, text=text, channel=str(row.get("channel") or "web"),
                      accused=accused, learned=learned)
    routing = route(tax, result, title=title, text=text, accused=accused)
    evidence = [{**e, "item": c["item"]} for c in result.to_dict()["candidates"][:3] for e in c["evidence"]]
    return {"id": row.get("id"), "item": result.item,
            "candidates": [{"item": c.item, "score": c.score} for c in result.candidates[:3]],
            "lead_unit": routing.lead_unit, "assist_units": routing.assist_units,
            "in_scope": result.in_scope, "confidence": result.confidence, "triage": routing.triage,
            "transfer": routing.transfer, "evidence": evidence,
            "rules_version": result.rules_version, "model_version": result.model_version}


def init_app(app: Flask) -> None:
    from routing.runtime import routing_runtime

    @app.cli.command("classify")
    @click.argument("path", type=click.File("r", encoding="utf-8"))
    def classify_command(path):
        """Classify JSON lines (id, title, text, channel); print one JSON line per input."""
        runtime = routing_runtime()
        learned = _learned(runtime)
        for row in _rows(path):
            sys.stdout.write(json.dumps(classify_line(runtime.taxonomy, row, learned), ensure_ascii=False) + "\n")

    @app.cli.command("classify-eval")
    @click.argument("path", type=click.File("r", encoding="utf-8"))
    @click.option("--rules-only", is_flag=True, help="Ignore the stored learned model.")
    @click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
    def classify_eval_command(path, rules_only, as_json):
        """Accuracy figures on labelled lines (the dev_reports.jsonl format), with the misses."""
        runtime = routing_runtime()
        rows = list(_rows(path))
        if any(not isinstance(r.get("expect"), dict) for r in rows):
            raise click.ClickException("every line needs an 'expect' object (see dev_reports.jsonl)")
        result = evaluate(runtime.taxonomy, rows, learned=None if rules_only else _learned(runtime))
        click.echo(json.dumps(result, ensure_ascii=False, indent=1) if as_json else format_report(result))

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

    @app.cli.group("routing")
    def routing_group():
        """Routing: sweep unrouted reports, retrain the learned model, correct a case."""

    @routing_group.command("sweep")
    def sweep_command():
        """Route every report that has no case yet (safe to run at any time)."""
        runtime = routing_runtime()
        with new_session() as session:
            click.echo(f"routed {route_unrouted(session, runtime.taxonomy, runtime.learned_model(session))} report(s)")

    @routing_group.command("retrain")
    def retrain_command():
        """Train the learned model on every correction made so far."""
        with new_session() as session:
            record = retrain(session)
        click.echo("no corrections yet: nothing to train" if record is None
                   else f"learned model {record.version} from {record.examples} correction(s)")

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
                                reason=reason, by=by)
            except CorrectionError as exc:
                raise click.ClickException(str(exc))
            record = retrain(session)
            click.echo(f"{reference}: item {case.item_code}, lead {case.lead_unit}, assist {case.assist_units}"
                       + (f"; learned model {record.version}" if record else ""))
