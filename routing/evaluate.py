"""Measure the classifier and the matrix on labelled reports (dev_reports.jsonl format).

Definitions (strict unless said otherwise):
- item@1: the top item equals ``expect.item``; for an out-of-scope row (item null) the
  classifier must say out of scope. The lenient figure also accepts an item of ``also``.
- item@3: ``expect.item`` among the first three candidates of an in-scope answer;
  out-of-scope rows as for item@1.
- area: the area of the top item equals the expected one (out-of-scope rows: as item@1).
- lead unit: ``route(...).lead_unit`` equals ``expect.lead_unit`` (triage -> taskforce).
- out-of-scope precision / recall: over rows whose expected item is null.
- in-scope called out: share of rows with an expected item that were called out of scope.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

from routing.classifier import classify
from routing.matrix import route
from routing.taxonomy import Taxonomy


def load_rows(path: Path | str) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _area(code: str | None) -> str | None:
    return code.split(".")[0] if code else None


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def evaluate(tax: Taxonomy, rows: Iterable[dict], learned=None) -> dict:
    """Figures for ``rows`` (see the module docstring) plus the list of misses."""
    rows = list(rows)
    n = len(rows)
    c = dict(area=0, item1=0, item1_lenient=0, item3=0, lead=0,
             oos_tp=0, oos_fp=0, oos_fn=0, in_called_out=0, in_rows=0, triaged=0)
    misses = []
    for row in rows:
        exp = row["expect"]
        want = exp.get("item")
        accused = row.get("accused")
        res = classify(tax, title=row.get("title", ""), text=row.get("text", ""),
                       channel=row.get("channel", "web"), accused=accused,
                       learned=learned)
        rt = route(tax, res, title=row.get("title", ""), text=row.get("text", ""),
                   accused=accused)
        got = res.item if res.in_scope else None
        top3 = [cd.item for cd in res.candidates[:3]] if res.in_scope else []
        c["triaged"] += rt.triage
        if want is None:
            ok1 = ok3 = got is None
            c["oos_tp" if got is None else "oos_fn"] += 1
        else:
            c["in_rows"] += 1
            ok1 = got == want
            ok3 = want in top3
            if got is None:
                c["in_called_out"] += 1
                c["oos_fp"] += 1
        c["item1"] += ok1
        c["item3"] += ok3
        c["item1_lenient"] += ok1 or (got is not None and got in exp.get("also", []))
        c["area"] += _area(got) == _area(want)
        lead_ok = rt.lead_unit == exp.get("lead_unit")
        c["lead"] += lead_ok
        if not ok1 or not lead_ok:
            misses.append({"id": row.get("id"), "expected": want, "got": got,
                           "also": exp.get("also", []), "top3": top3,
                           "confidence": res.confidence,
                           "lead_expected": exp.get("lead_unit"),
                           "lead_got": rt.lead_unit})
    oos_rows = c["oos_tp"] + c["oos_fn"]
    return {
        "rows": n,
        "in_scope_rows": c["in_rows"],
        "out_of_scope_rows": oos_rows,
        "area_accuracy": _ratio(c["area"], n),
        "item_accuracy_at_1": _ratio(c["item1"], n),
        "item_accuracy_at_1_lenient": _ratio(c["item1_lenient"], n),
        "item_accuracy_at_3": _ratio(c["item3"], n),
        "lead_unit_accuracy": _ratio(c["lead"], n),
        "out_of_scope_precision": _ratio(c["oos_tp"], c["oos_tp"] + c["oos_fp"]),
        "out_of_scope_recall": _ratio(c["oos_tp"], oos_rows),
        "in_scope_called_out_share": _ratio(c["in_called_out"], c["in_rows"]),
        "triaged_share": _ratio(c["triaged"], n),
        "rules_version": tax.rules_version,
        "model_version": getattr(learned, "version", None),
        "misses": misses,
    }


_LABELS = [
    ("area_accuracy", "area accuracy"),
    ("item_accuracy_at_1", "item accuracy @1 (strict)"),
    ("item_accuracy_at_1_lenient", "item accuracy @1 (accepting 'also')"),
    ("item_accuracy_at_3", "item accuracy @3"),
    ("lead_unit_accuracy", "lead-unit accuracy"),
    ("out_of_scope_precision", "out-of-scope precision"),
    ("out_of_scope_recall", "out-of-scope recall"),
    ("in_scope_called_out_share", "in-scope reports called out of scope"),
    ("triaged_share", "sent to manual triage"),
]


def format_report(result: dict) -> str:
    """A plain-text summary of ``evaluate()``'s result."""
    lines = [f"rows: {result['rows']} ({result['in_scope_rows']} in scope, "
             f"{result['out_of_scope_rows']} out of scope); rules {result['rules_version']}"
             + (f"; model {result['model_version']}" if result.get("model_version") else "")]
    for key, label in _LABELS:
        lines.append(f"  {label:<40} {100 * result[key]:6.1f} %")
    if result["misses"]:
        lines.append(f"misses ({len(result['misses'])}):")
        for m in result["misses"]:
            lines.append(f"  {m['id']}: expected {m['expected']} got {m['got']} "
                         f"top3 {m['top3']} conf {m['confidence']:.2f} "
                         f"lead {m['lead_expected']}->{m['lead_got']}")
    return "\n".join(lines)
