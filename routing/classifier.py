"""Rule classifier: scores a report against the 30 items of the negative list.

Every cue term of the config is looked up in the normalised title, text and accused
fields; an item's score is the sum of its own cue weights plus a share of its area's
cue weights (who acts: an official, a hospital leader, a society, a company, a doctor).
Separate signal lists decide whether the report is about the campaign at all. A learned
model (``routing.learned``), when given, is blended in as a probability distribution.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Iterator

from routing.combine import calibrated
from routing.matching import Evidence, matcher_for, score_fields  # noqa: F401 (re-exported)
from routing.model import model_text
from routing.normalise import extract_amounts
from routing.plain import plain
from routing.taxonomy import Taxonomy

if TYPE_CHECKING:  # pragma: no cover
    from routing.learned import LearnedModel

FIELDS = ("title", "text", "accused")
ACCUSED_KEYS = ("name", "institution", "position")


@dataclass(frozen=True)
class Candidate:
    item: str
    score: float                 # final score, 0..1 (share of the decision)
    evidence: list[Evidence]
    rule_score: float = 0.0      # raw rule points
    second_reading: bool = False  # kept as a close second reading (routing.model)


@dataclass(frozen=True)
class Classification:
    item: str | None
    candidates: list[Candidate]
    in_scope: bool
    confidence: float
    rules_version: str
    model_version: str | None = None
    signals: dict = field(default_factory=dict)
    # with the corpus model (routing.model): calibrated probabilities
    probability: float | None = None          # of the answer (item, or out of scope)
    item_probabilities: dict = field(default_factory=dict)   # item -> p (the likely ones)
    out_of_scope_probability: float | None = None
    second_item: str | None = None            # a close second reading (Two readings)
    model_terms: list = field(default_factory=list)
    lead_threshold: float | None = None       # θ on P(lead unit), from the model
    accused_units: dict = field(default_factory=dict)   # P(unit) of an accused official (1.x)
    lead_model: dict = field(default_factory=dict)      # P(lead unit) read directly by the model
    lead_mix: tuple = (1.0, 0.0)                        # exponents: items' P(unit), lead_model

    @property
    def area(self) -> int | None:
        return int(self.item.split(".")[0]) if self.item else None

    def to_dict(self) -> dict:
        return plain(self)


def accused_text(accused: dict | None) -> str:
    """The string the "accused" evidence offsets point into: the non-empty values of
    name, institution and position joined by a space, in that order."""
    if not accused:
        return ""
    return " ".join(str(accused.get(k) or "").strip() for k in ACCUSED_KEYS
                    if str(accused.get(k) or "").strip())


def _lead_area(areas: dict[int, float], evidence: dict, sc) -> dict[int, float]:
    """Area points plus a bonus for the area whose actor is named first (title before
    text): a report usually opens with the one it accuses (医生拿药企... vs 药企给医生...)."""
    first = {}
    for (kind, key), evs in evidence.items():
        if kind == "area" and areas.get(key, 0.0) > 0:
            first[key] = min((e.field != "title", e.start) for e in evs
                             if e.field != "accused") if any(
                e.field != "accused" for e in evs) else (2, 0)
    bonus = sc.get("first_actor_bonus", 0.0)
    if not first or bonus <= 0:
        return areas
    lead = min(first, key=lambda k: (first[k], -areas[k]))
    return {**areas, lead: areas[lead] + bonus}


def item_scores(tax: Taxonomy, items: dict[str, float], areas: dict[int, float],
                evidence: dict) -> dict[str, float]:
    """Item score = own cue points x area gate x needs factor + a share of the area's
    points. The gate lowers items whose area names no actor when another area does (an
    official's 宴请 is 1.1 only when an official is named); an item with ``needs`` counts
    its own points fully only when one of them is named."""
    sc = tax.classifier.scoring
    area_w = sc.get("area_weight", 0.5)
    area_only = sc.get("area_only_factor", 0.3)
    floor = sc.get("area_gate_floor", 1.0)
    sat = sc.get("area_gate_saturation", 2.0)
    needs_factor = sc.get("needs_factor", 1.0)
    any_area = max(areas.values(), default=0.0) > 0
    scores: dict[str, float] = {}
    for code, item in tax.items.items():
        own = items.get(code, 0.0)
        a = max(areas.get(item.area, 0.0), 0.0)
        if own > 0:
            if any_area:
                own *= floor + (1.0 - floor) * min(1.0, a / sat)
            if item.needs and ("need", code) not in evidence:
                own *= needs_factor
            s = own + area_w * a
        else:
            s = area_only * area_w * a + min(own, 0.0)
        if s > 0:
            scores[code] = s
    return scores


def _blend(rules: dict, learned: dict, weight: float, sure_share: float = 1.0,
           plausible: set | None = None) -> dict:
    """Product of experts: rules x (smoothed learned probabilities) ** w. The learned
    model weighs most where the rules are unsure: w = weight x (sure_share + (1 -
    sure_share) x (1 - margin)), margin = the rules' top share minus the second. Classes
    the model never saw, and classes outside ``plausible`` (the rules' top area and top
    three, and None) get a neutral share: a model trained on a few corrections re-ranks
    what the rules find plausible and does not push towards what they rule out."""
    if weight <= 0 or not learned:
        return rules
    ranked = sorted(rules.values(), reverse=True) + [0.0, 0.0]
    w = weight * (sure_share + (1.0 - sure_share) * (1.0 - (ranked[0] - ranked[1])))
    n = len(learned)
    out = {}
    for k in set(rules) | set(learned):
        known = k in learned and (plausible is None or k in plausible)
        p = 0.5 * (learned[k] if known else 1.0 / n) + 0.5 / n
        out[k] = rules.get(k, 1e-6) * p ** w
    total = sum(out.values())
    return {k: v / total for k, v in out.items()}


def _with_corrections(tax: Taxonomy, dist: dict, ranked: list, learned, text: str) -> dict:
    """Blend in the model trained on people's corrections (routing.learned)."""
    predict = getattr(learned, "predict", None)
    proba, weight = (predict(text) if predict else (learned.predict_proba(text), learned.weight))
    if weight < 1.0 and ranked:       # not a near-duplicate of a correction
        top_area = tax.items[ranked[0][0]].area
        plausible = {None, *(c for c, _ in ranked[:3]),
                     *(c for c, _ in ranked if tax.items[c].area == top_area)}
    else:
        plausible = None
    return _blend(dist, proba, weight, tax.classifier.scoring.get("learned_sure_share", 0.4),
                  plausible)


def rules_distribution(tax: Taxonomy, *, title: str, text: str, accused: dict | None = None):
    """The rules alone: (distribution over items and None, ranked item scores, scores,
    evidence, signals, top score)."""
    sc = tax.classifier.scoring
    fields = {"title": title or "", "text": text or "", "accused": accused_text(accused)}
    items, areas, signals, evidence = score_fields(tax, fields)
    scores = item_scores(tax, items, _lead_area(areas, evidence, sc), evidence)
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    top = ranked[0][1] if ranked else 0.0
    money = sum(1 for f in (title, text) if f for a in extract_amounts(f) if a.yuan >= 100)
    signals["amounts"] = float(money)
    misconduct = signals["misconduct"] + sc.get("amount_bonus", 0.5) * min(money, 2)
    max_area = max(areas.values(), default=0.0)
    in_score = (top * sc.get("top_factor", 0.3) + misconduct
                + sc.get("area_factor", 0.0) * max(max_area, 0.0)
                - sc.get("oos_factor", 1.0) * signals["oos"])
    if signals["context"] <= 0:
        in_score -= sc.get("no_context_penalty", 2.0)
    signals["in_scope_score"] = round(in_score, 3)
    in_scope = top >= sc.get("min_top", 3.0) and in_score >= sc.get("in_scope_min", 2.0)
    # rule distribution over items and None (= out of scope)
    tau = sc.get("in_scope_tau", 2.0)
    p_out = 1.0 / (1.0 + math.exp((in_score - sc.get("in_scope_min", 2.0)) / tau))
    if not in_scope:
        p_out = max(p_out, 0.5 + 0.5 * p_out)
    elif p_out >= 0.5:
        p_out = 0.49
    temp = sc.get("rule_temperature", 2.0)
    expo = {c: math.exp((s - top) / temp) for c, s in ranked[:8]}
    total = sum(expo.values()) or 1.0
    dist: dict[str | None, float] = {c: (1 - p_out) * e / total for c, e in expo.items()}
    dist[None] = p_out
    return dist, ranked, scores, evidence, signals, top


def classify(tax: Taxonomy, *, title: str, text: str, channel: str = "web",
             accused: dict | None = None,
             learned: "LearnedModel | None" = None, reading=None) -> Classification:
    """Classify one report; see the module docstring. ``reading``: the corpus model's reading of
    this report made beforehand for a batch (routing.model_batch, classify_many)."""
    sc = tax.classifier.scoring
    dist, ranked, scores, evidence, signals, top = rules_distribution(
        tax, title=title, text=text, accused=accused)
    model_version = getattr(learned, "version", None)
    model_extra = None
    corrections = learned
    if getattr(learned, "calibration", None) is not None:     # the corpus model
        dist, idx, vals = calibrated(learned, dist, model_text(title, text, tax.typo_fixer), reading)
        model_extra = (idx, vals, reading)
        corrections = learned.corrections   # corrections made since it was trained
    if corrections is not None:
        dist = _with_corrections(tax, dist, ranked, corrections, f"{title}\n{text}")
    p_none = dist[None]
    cands = sorted((k for k in dist if k is not None), key=lambda k: (-dist[k], k))
    in_scope = bool(cands) and (1.0 - p_none) > p_none
    best = cands[0] if in_scope else None
    candidates = [Candidate(c, round(dist[c], 4),
                            evidence.get(("item", c), [])
                            + evidence.get(("area", tax.items[c].area), []),
                            round(scores.get(c, 0.0), 3)) for c in cands[:5]]
    if in_scope:
        s1 = dist[best]
        s2 = dist[cands[1]] if len(cands) > 1 else 0.0
        sat = top / (top + sc.get("confidence_k", 4.0)) if learned is None else 1.0
        confidence = min(1.0, (s1 / (s1 + s2)) * sat ** 0.5 * (1 - p_none) ** 0.5)
    else:
        confidence = p_none
    result = Classification(best if in_scope else None, candidates, in_scope,
                            round(confidence, 4), tax.rules_version, model_version,
                            {k: round(v, 3) for k, v in signals.items()})
    if model_extra is None:
        return result
    return _with_probabilities(result, learned, dist, cands, *model_extra)


def _with_probabilities(result: Classification, model, dist: dict, cands: list[str],
                        idx, vals, reading=None) -> Classification:
    """The calibrated figures of the corpus model on a classification: the answer's
    probability (its confidence too), the second reading when it is within the model's
    ``second_ratio`` of the first, and the model's top terms for the answer."""
    best = result.item
    p = dist[best] if best is not None else dist[None]
    second = None
    if best is not None and len(cands) > 1 and dist[cands[1]] >= model.second_ratio * p:
        second = cands[1]
    candidates = [replace(c, second_reading=True) if c.item == second else c for c in result.candidates]
    return replace(result, candidates=candidates, confidence=round(p, 4),
                   probability=round(p, 4), out_of_scope_probability=round(dist[None], 4),
                   item_probabilities={c: round(dist[c], 4) for c in cands if dist[c] >= 5e-4},
                   second_item=second, model_terms=model.top_terms(idx, vals, best),
                   lead_threshold=model.threshold,
                   accused_units=model.unit_proba(idx, vals) if reading is None else reading.units,
                   lead_model=model.lead_proba(idx, vals) if reading is None else reading.leads,
                   lead_mix=tuple(model.lead_mix))


def model_readings(tax: Taxonomy, reports: list[dict], learned) -> list:
    """The corpus model's reading of each report (dicts of title and text), the whole batch read at once
    (routing.model_batch); None for each when there is no corpus model, None for a report that cannot be
    read (the others of its batch are then read one by one; classify() reads that one itself)."""
    if getattr(learned, "calibration", None) is None:
        return [None] * len(reports)
    from routing.model_batch import read_many
    try:
        return read_many(learned, [model_text(r.get("title") or "", r.get("text") or "", tax.typo_fixer)
                                   for r in reports])
    except Exception:  # noqa: BLE001 - one report spoiled the batch: read them one by one
        return [_read_alone(tax, r, learned, read_many) for r in reports]


def _read_alone(tax: Taxonomy, report: dict, learned, read_many):
    """One report's reading, or None (classify() reads it itself, and raises what it raises)."""
    try:
        return read_many(learned, [model_text(report.get("title") or "", report.get("text") or "",
                                              tax.typo_fixer)])[0]
    except Exception:  # noqa: BLE001
        return None


# reports the model reads at once: small enough that their fields' match strings are still in
# routing.normalise's caches (256 entries) when the rules and the matrix read the same fields after it
READ_AHEAD = 64


def with_readings(tax: Taxonomy, reports: list, learned) -> Iterator[tuple]:
    """(report, its model reading) for each report, read READ_AHEAD at a time (model_readings)."""
    for at in range(0, len(reports), READ_AHEAD):
        part = reports[at:at + READ_AHEAD]
        yield from zip(part, model_readings(tax, part, learned))


def classify_many(tax: Taxonomy, reports: list[dict], learned: "LearnedModel | None" = None) -> list:
    """classify() of each report (dicts of title, text, channel, accused), the corpus model reading the
    whole batch at once: the same answers, in less time per report. What classify() raises for a report
    is that report's entry (the exception), so that one report never holds up the others."""
    out: list = []
    for r, reading in with_readings(tax, reports, learned):
        try:
            out.append(classify(tax, title=r.get("title") or "", text=r.get("text") or "",
                                channel=r.get("channel") or "web", accused=r.get("accused"),
                                learned=learned, reading=reading))
        except Exception as exc:  # noqa: BLE001 - this report's answer; the caller triages it
            out.append(exc)
    return out
