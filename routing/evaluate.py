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
- auto-routed: rows not sent to manual triage; wrong unit among them: their lead unit is not
  ``expect.lead_unit``. With the corpus model, ``threshold_table`` gives, for θ on
  P(lead unit), the triage share and the wrong-unit rate among the auto-routed.
- triage, split by why: called out of scope (the matrix sends every such report to the task
  force's manual triage, so a set's share of out-of-scope reports is a floor under its triage share)
  and abstained (an in-scope answer whose P(lead unit) is under the threshold); and the triage share
  among the rows labelled in scope, which does not depend on the set's mix.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

import numpy as np

from routing import combine
from routing.classifier import classify, with_readings
from routing.matrix import route, units_for_item
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
             oos_tp=0, oos_fp=0, oos_fn=0, in_called_out=0, in_rows=0, triaged=0,
             triaged_out=0, triaged_in_rows=0, auto_wrong=0)
    misses = []
    leads = []   # (P(lead unit) or None, lead of the answer correct, out of scope)
    for row, reading in with_readings(tax, rows, learned):    # the corpus model reads rows by the dozen
        exp = row["expect"]
        want = exp.get("item")
        accused = row.get("accused")
        res = classify(tax, title=row.get("title", ""), text=row.get("text", ""),
                       channel=row.get("channel", "web"), accused=accused,
                       learned=learned, reading=reading)
        rt = route(tax, res, title=row.get("title", ""), text=row.get("text", ""),
                   accused=accused)
        got = res.item if res.in_scope else None
        top3 = [cd.item for cd in res.candidates[:3]] if res.in_scope else []
        c["triaged"] += rt.triage
        c["triaged_out"] += rt.triage and got is None
        c["triaged_in_rows"] += rt.triage and want is not None
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
        c["auto_wrong"] += not rt.triage and not lead_ok
        proposed = (units_for_item(tax, got, title=row.get("title", ""), text=row.get("text", ""),
                                   accused=accused, accused_units=res.accused_units)[0]
                    if got else tax.matrix.triage_unit)
        leads.append((rt.lead_probability, proposed == exp.get("lead_unit"), got is None))
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
        "triaged_called_out_share": _ratio(c["triaged_out"], n),
        "abstained_share": _ratio(c["triaged"] - c["triaged_out"], n),
        "triaged_share_of_in_scope_rows": _ratio(c["triaged_in_rows"], c["in_rows"]),
        "auto_routed_share": _ratio(n - c["triaged"], n),
        "wrong_unit_among_auto_routed": _ratio(c["auto_wrong"], n - c["triaged"]),
        "threshold_table": threshold_table(leads),
        "rules_version": tax.rules_version,
        "model_version": getattr(learned, "version", None),
        "misses": misses,
    }


THRESHOLDS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def threshold_table(leads: list[tuple]) -> list[dict]:
    """θ -> (triage share, wrong-unit rate among the auto-routed), from each row's
    P(lead unit); empty without calibrated probabilities (rules alone)."""
    if not leads or any(p is None for p, _, oos in leads if not oos):
        return []
    return combine.threshold_table(np.asarray([p or 0.0 for p, _, _ in leads]),
                                   np.asarray([ok for _, ok, _ in leads]),
                                   np.asarray([oos for _, _, oos in leads]), THRESHOLDS)


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
    ("triaged_called_out_share", "  of which called out of scope"),
    ("abstained_share", "  of which abstained (low P(lead unit))"),
    ("triaged_share_of_in_scope_rows", "triage among the in-scope rows"),
    ("auto_routed_share", "auto-routed"),
    ("wrong_unit_among_auto_routed", "wrong lead unit among the auto-routed"),
]


def format_report(result: dict) -> str:
    """A plain-text summary of ``evaluate()``'s result."""
    lines = [f"rows: {result['rows']} ({result['in_scope_rows']} in scope, "
             f"{result['out_of_scope_rows']} out of scope); rules {result['rules_version']}"
             + (f"; model {result['model_version']}" if result.get("model_version") else "")]
    for key, label in _LABELS:
        lines.append(f"  {label:<40} {100 * result[key]:6.1f} %")
    if result.get("threshold_table"):
        lines.append("  threshold on P(lead unit) -> triage share, wrong unit among auto-routed:")
        for r in result["threshold_table"]:
            lines.append(f"    {r['threshold']:.2f} -> {100 * r['triage_share']:5.1f} %, "
                         f"{100 * r['wrong_rate']:5.1f} %")
    if result["misses"]:
        lines.append(f"misses ({len(result['misses'])}):")
        for m in result["misses"]:
            lines.append(f"  {m['id']}: expected {m['expected']} got {m['got']} "
                         f"top3 {m['top3']} conf {m['confidence']:.2f} "
                         f"lead {m['lead_expected']}->{m['lead_got']}")
    return "\n".join(lines)
