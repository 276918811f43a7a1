"""Commands: `classify FILE.jsonl` and `classify-eval FILE.jsonl`. The one module of routing that touches
Flask and core: it reads the taxonomy and the learned model from the runtime the factory put on the app
(`app.extensions["routing"]`, built by casework.runtime), so routing itself imports nothing above it."""
from __future__ import annotations

import json
import sys
from typing import Iterator

import click
from flask import Flask, current_app

from routing.classifier import classify, classify_many
from routing.evaluate import evaluate, format_report
from routing.matrix import route


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
        problem = _field_problem(row)
        if problem:
            raise click.ClickException(f"line {number}: {problem}")
        yield row


TEXT_FIELDS = ("title", "text", "channel")


def _field_problem(row: dict) -> str | None:
    """Why a line's fields cannot be classified (None: they can): the fields are text (or absent), the
    accused an object of texts, and all of it valid Unicode (JSON allows a lone surrogate, Python text
    processing does not)."""
    values = [(k, row.get(k)) for k in TEXT_FIELDS]
    accused = row.get("accused")
    if isinstance(accused, dict):
        values += [(f"accused.{k}", accused.get(k)) for k in ("name", "institution", "position")]
    for key, value in values:
        if value is None:
            continue
        if not isinstance(value, str):
            return f"'{key}' must be text"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"'{key}' is not valid Unicode (a lone surrogate)"
    return None


BATCH = 64   # lines classified together (the corpus model reads them at once: routing.classifier.READ_AHEAD)


def _fields(row: dict) -> dict:
    return {"title": str(row.get("title") or ""), "text": str(row.get("text") or ""),
            "channel": str(row.get("channel") or "web"),
            "accused": row.get("accused") if isinstance(row.get("accused"), dict) else None}


def classify_lines(tax, rows: list[dict], learned) -> Iterator[dict]:
    """classify_line() of each row, the batch classified at once (classify_many); a row the classifier
    failed on raises when its turn comes, after the rows before it were given."""
    fields = [_fields(row) for row in rows]
    for row, f, result in zip(rows, fields, classify_many(tax, fields, learned)):
        if isinstance(result, Exception):
            raise result
        yield _line(tax, row, f, result)


def classify_line(tax, row: dict, learned) -> dict:
    f = _fields(row)
    return _line(tax, row, f, classify(tax, **f, learned=learned))


def _line(tax, row: dict, f: dict, result) -> dict:
    title, text, accused = f["title"], f["text"], f["accused"]
    routing = route(tax, result, title=title, text=text, accused=accused)
    evidence = [{**e, "item": c["item"]} for c in result.to_dict()["candidates"][:3] for e in c["evidence"]]
    return {"id": row.get("id"), "item": result.item,
            "candidates": [{"item": c.item, "score": c.score} for c in result.candidates[:3]],
            "lead_unit": routing.lead_unit, "assist_units": routing.assist_units,
            "in_scope": result.in_scope, "confidence": result.confidence, "triage": routing.triage,
            "transfer": routing.transfer, "evidence": evidence,
            "rules_version": result.rules_version, "model_version": result.model_version,
            "probability": result.probability, "lead_probability": routing.lead_probability,
            "out_of_scope_probability": result.out_of_scope_probability,
            "second_item": result.second_item, "model_terms": result.model_terms}


def routing_runtime():
    """The routing runtime on the app (taxonomy, learned model): duck-typed, built by casework.runtime."""
    return current_app.extensions["routing"]


def init_app(app: Flask) -> None:
    @app.cli.command("classify")
    @click.argument("path", type=click.File("r", encoding="utf-8"))
    def classify_command(path):
        """Classify JSON lines (id, title, text, channel); print one JSON line per input."""
        runtime = routing_runtime()
        learned = runtime.learned_model_if_reachable()
        batch: list[dict] = []

        def flush() -> None:
            try:
                for line in classify_lines(runtime.taxonomy, batch, learned):
                    sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
            finally:
                sys.stdout.flush()
                batch.clear()

        try:
            for row in _rows(path):
                batch.append(row)
                if len(batch) >= BATCH:
                    flush()
        except click.ClickException:   # a broken line: the lines before it are still answered
            flush()
            raise
        flush()

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
        result = evaluate(runtime.taxonomy, rows, learned=None if rules_only else runtime.learned_model_if_reachable())
        click.echo(json.dumps(result, ensure_ascii=False, indent=1) if as_json else format_report(result))
