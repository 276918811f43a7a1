"""Responsibility matrix: from a classification to the lead and assisting units.

Content decides, not the receiving channel. Area 1 items are led by the member unit
whose official is accused (accused fields first, then title and text); a report that is
out of scope, has no item or a confidence below the triage threshold goes to the task
force. A report about an institution outside the district is flagged for transfer.
"""
from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field

from routing.classifier import Classification, accused_text
from routing.leadership import Finding, detect, explain
from routing.model import model_text
from routing.normalise import fold, prepare
from routing.plain import plain
from routing.taxonomy import ACCUSED, Taxonomy


@dataclass(frozen=True)
class Routing:
    lead_unit: str
    assist_units: list[str] = field(default_factory=list)
    triage: bool = False
    transfer: bool = False
    reason: str = ""
    excluded_units: list[str] = field(default_factory=list)  # 防止"灯下黑": never lead, assist or see it
    discipline: bool = False   # accuses the task force's leader or deputy: to discipline inspection
    explanation: str = ""      # which rule applied, in words a person reads (Chinese), for the case page
    lead_probability: float | None = None   # calibrated P(lead unit), with the corpus model

    def to_dict(self) -> dict:
        return plain(self)


def _first_hit(text: str, terms_by_unit: dict[str, list[str]]) -> tuple[str | None, int]:
    """The unit named most often in ``text``; ties go to the earliest mention."""
    best, best_key = None, None
    for unit, terms in terms_by_unit.items():
        positions = [i for t in terms for i in _find_all(text, t)]
        if positions:
            key = (-len(positions), min(positions))
            if best_key is None or key < best_key:
                best, best_key = unit, key
    return best, (best_key[0] if best_key else 0)


def _find_all(text: str, term: str) -> list[int]:
    out, i = [], text.find(term)
    while i >= 0:
        out.append(i)
        i = text.find(term, i + len(term))
    return out


def accused_unit(tax: Taxonomy, *, title: str, text: str,
                 accused: dict | None = None) -> str:
    """The member unit whose official the report accuses (health / medinsure / market),
    or the matrix fallback (taskforce) when the report does not say."""
    m = tax.matrix
    terms = _folded(tax).accused_units
    acc = prepare(accused_text(accused), tax.typo_fixer).text
    if acc:
        unit, _ = _first_hit(acc, terms)
        if unit:
            return unit
    unit, _ = _first_hit(model_text(title, text, tax.typo_fixer), terms)
    return unit or m.accused_fallback


@dataclass(frozen=True)
class _Folded:
    """The matrix's and the classifier's place and unit words, folded once per taxonomy."""
    accused_units: dict
    institutions: list
    out_of_district: list
    in_district: list


_FOLDED: "weakref.WeakKeyDictionary[Taxonomy, _Folded]" = weakref.WeakKeyDictionary()


def _folded(tax: Taxonomy) -> _Folded:
    hit = _FOLDED.get(tax)
    if hit is None:
        c = tax.classifier
        hit = _FOLDED[tax] = _Folded({u: [fold(t) for t in ts] for u, ts in tax.matrix.accused_units.items()},
                                     [fold(t) for t in c.institutions], [fold(p) for p in c.out_of_district],
                                     [fold(p) for p in c.in_district])
    return hit


def _near_institution(text: str, places: list[str], institutions: list[str],
                      window: int) -> bool:
    for place in places:
        for i in _find_all(text, place):
            tail = text[i + len(place): i + len(place) + window + 6]
            if any(inst in tail[: window + len(inst)] for inst in institutions):
                return True
    return False


def out_of_district(tax: Taxonomy, *, title: str, text: str,
                    accused: dict | None = None) -> bool:
    """True when the report clearly names an institution outside the district and no
    institution of the district."""
    c, f = tax.classifier, _folded(tax)
    # the match strings of the fields joined, as the model reads title and text (normalising drops the
    # line breaks between them anyway): each field's is cached, the joined string's would not be
    body = model_text(title, text, tax.typo_fixer) + prepare(accused_text(accused), tax.typo_fixer).text
    outside = _near_institution(body, f.out_of_district, f.institutions, c.district_window)
    if not outside:
        return False
    return not _near_institution(body, f.in_district, f.institutions, c.district_window)


def route(tax: Taxonomy, classification: Classification, *, title: str, text: str,
          accused: dict | None = None) -> Routing:
    """Lead and assisting units for a classified report; a report that accuses the leadership of a
    member unit goes around that unit (routing.leadership)."""
    by_matrix = _route_by_matrix(tax, classification, title=title, text=text, accused=accused)
    finding = detect(tax.leadership, title=title, text=text, accused=accused,
                     extra_aliases=tax.matrix.accused_units)
    if finding is None:
        return by_matrix
    return _around_leadership(tax, by_matrix, finding)


def _around_leadership(tax: Taxonomy, by_matrix: Routing, finding: Finding) -> Routing:
    """The task force leads instead of the accused unit, which neither leads nor assists; a report on
    the task force's own leader or deputy goes to discipline inspection, with no assisting unit."""
    triage_unit = tax.matrix.triage_unit
    explanation = explain(tax.leadership, finding)
    if finding.discipline:
        return Routing(triage_unit, [], True, by_matrix.transfer,
                       by_matrix.reason + "; accuses the task force's leader or deputy: discipline inspection",
                       list(finding.units), True, explanation, lead_probability=by_matrix.lead_probability)
    assist = [u for u in [by_matrix.lead_unit, *by_matrix.assist_units]
              if u not in finding.units and u != triage_unit] if not by_matrix.triage else []
    return Routing(triage_unit, list(dict.fromkeys(assist)), by_matrix.triage, by_matrix.transfer,
                   by_matrix.reason + f"; accuses the leadership of {', '.join(finding.units)}: task force leads",
                   list(finding.units), False, explanation + (TRANSFER_NOTE if by_matrix.transfer else ""),
                   lead_probability=by_matrix.lead_probability)


def leadership_walls(tax: Taxonomy, *, title: str, text: str, accused: dict | None = None) -> dict:
    """The walls alone (excluded_units, discipline, explanation) for a report the classifier failed on.
    Fails closed: if even this fails, coordinators only, until someone triages the case."""
    try:
        finding = detect(tax.leadership, title=title, text=text, accused=accused,
                         extra_aliases=tax.matrix.accused_units)
    except Exception:  # noqa: BLE001 - never open a case the walls could not be checked on
        return {"excluded_units": [], "discipline": False, "coordinators_only": True,
                "explanation": "无法判断举报是否涉及成员单位领导：在工作专班协调员分办之前，只有协调员可以查看。"}
    if finding is None:
        return {}
    return {"excluded_units": list(finding.units), "discipline": finding.discipline,
            "explanation": explain(tax.leadership, finding)}


TRANSFER_NOTE = "举报对象似在本区以外，建议转办。"


def unit_label(tax: Taxonomy, code: str) -> str:
    unit = tax.leadership.units.get(code)
    return unit.name if unit is not None else "工作专班"


def _item_label(tax: Taxonomy, item: str) -> str:
    return f"条目 {item}「{tax.items[item].title}」"


def _route_by_matrix(tax: Taxonomy, classification: Classification, *, title: str, text: str,
                     accused: dict | None = None) -> Routing:
    triage_unit = tax.matrix.triage_unit
    transfer = classification.in_scope and out_of_district(
        tax, title=title, text=text, accused=accused)
    suffix = "; outside the district: suggest transfer" if transfer else ""
    note = TRANSFER_NOTE if transfer else ""
    if not classification.in_scope or classification.item is None:
        return Routing(triage_unit, [], True, False,
                       "out of scope or no item fits: manual triage",
                       explanation="未能归入负面清单的条目，或与本次集中整治无关：由工作专班人工分办。")
    item = classification.item
    if classification.lead_threshold is not None:
        return _route_calibrated(tax, classification, title=title, text=text,
                                 accused=accused, transfer=transfer, suffix=suffix, note=note)
    threshold = tax.classifier.threshold
    if classification.confidence < threshold:
        return Routing(triage_unit, [], True, transfer,
                       f"item {item} below confidence threshold "
                       f"{classification.confidence:.2f} < {threshold:.2f}: manual triage"
                       + suffix,
                       explanation=f"初步归入{_item_label(tax, item)}，但把握不足（{classification.confidence:.0%}，"
                                   f"低于 {threshold:.0%}）：由工作专班人工分办。" + note)
    lead, assist = units_for_item(tax, item, title=title, text=text, accused=accused)
    reason, explanation = _matrix_reason(tax, item, lead, assist)
    return Routing(lead, assist, False, transfer, reason + suffix, explanation=explanation + note)


def _matrix_reason(tax: Taxonomy, item: str, lead: str, assist: list[str]) -> tuple[str, str]:
    """(the reason for the log, the explanation a person reads) of a lead taken from the matrix."""
    helpers = f"，{'、'.join(unit_label(tax, u) for u in assist)}协办" if assist else ""
    if tax.matrix.entries[item].lead == ACCUSED:
        accused_named = lead != tax.matrix.accused_fallback
        how = "accused official's unit" if accused_named else "accused official's unit not named"
        explanation = (f"{_item_label(tax, item)}：由被举报人所在单位{unit_label(tax, lead)}牵头{helpers}。"
                       if accused_named else
                       f"{_item_label(tax, item)}：举报未写明被举报人所在单位，由工作专班牵头{helpers}。")
        return f"item {item}: {how}", explanation
    return f"item {item}: matrix", f"{_item_label(tax, item)}：按责任矩阵由{unit_label(tax, lead)}牵头{helpers}。"


def lead_probabilities(tax: Taxonomy, classification: Classification, *, title: str, text: str,
                       accused: dict | None = None) -> dict[str, float]:
    """P(unit) = the sum of the calibrated item probabilities whose matrix lead is that
    unit (1.x: the unit accused_unit finds, else the task force; out of scope: the task
    force)."""
    out: dict[str, float] = {}
    probs = classification.item_probabilities
    needs_accused = any(tax.matrix.entries[c].lead == ACCUSED for c in probs)
    named = (accused_unit(tax, title=title, text=text, accused=accused)
             if needs_accused else None)
    implied = classification.accused_units if named == tax.matrix.accused_fallback else {}
    for code, p in probs.items():
        lead = tax.matrix.entries[code].lead
        if lead != ACCUSED:
            out[lead] = out.get(lead, 0.0) + p
        elif implied:                 # the text does not name the unit: the model's reading
            for unit, q in implied.items():
                out[unit] = out.get(unit, 0.0) + p * q
        else:
            out[named] = out.get(named, 0.0) + p
    triage = tax.matrix.triage_unit
    out[triage] = out.get(triage, 0.0) + (classification.out_of_scope_probability or 0.0)
    return mix_leads(out, classification.lead_model, classification.lead_mix)


def mix_leads(items: dict[str, float], direct: dict[str, float], mix=(1.0, 0.0)) -> dict[str, float]:
    """P(unit) proportional to items(unit)^a * direct(unit)^b over the units of either (the items'
    sums and the direct lead-unit model, routing.model); the items' sums alone without a direct model."""
    a, b = mix
    if not direct or b == 0.0:
        return items
    z = {u: a * math.log(max(items.get(u, 0.0), 1e-6)) + b * math.log(max(direct.get(u, 0.0), 1e-6))
         for u in dict.fromkeys([*items, *direct])}
    top = max(z.values())
    q = {u: math.exp(v - top) for u, v in z.items()}
    total = sum(q.values())
    return {u: v / total for u, v in q.items()}


def _route_calibrated(tax: Taxonomy, classification: Classification, *, title: str, text: str,
                      accused: dict | None, transfer: bool, suffix: str, note: str) -> Routing:
    """Abstain on purpose: triage when P(lead unit) < θ (the model's threshold)."""
    item = classification.item
    lead, assist = units_for_item(tax, item, title=title, text=text, accused=accused,
                                  accused_units=classification.accused_units)
    p_lead = lead_probabilities(tax, classification, title=title, text=text,
                                accused=accused).get(lead, 0.0)
    theta = classification.lead_threshold
    if p_lead < theta:
        return Routing(tax.matrix.triage_unit, [], True, transfer,
                       f"item {item}, lead {lead}: P(lead unit) {p_lead:.2f} < {theta:.2f}: "
                       "manual triage" + suffix,
                       explanation=f"初步归入{_item_label(tax, item)}，但牵头单位{unit_label(tax, lead)}的把握不足"
                                   f"（{p_lead:.0%}，低于 {theta:.0%}）：由工作专班人工分办。" + note,
                       lead_probability=round(p_lead, 4))
    reason, explanation = _matrix_reason(tax, item, lead, assist)
    return Routing(lead, assist, False, transfer, reason + f" (P(lead unit) {p_lead:.2f})" + suffix,
                   explanation=explanation + note, lead_probability=round(p_lead, 4))


def units_for_item(tax: Taxonomy, item: str, *, title: str, text: str,
                   accused: dict | None = None,
                   accused_units: dict | None = None) -> tuple[str, list[str]]:
    """Lead and assisting units the matrix gives an item (for 1.x: the accused official's unit;
    when the text names none, the corpus model's most likely unit if given)."""
    entry = tax.matrix.entries[item]
    lead = (accused_unit(tax, title=title, text=text, accused=accused)
            if entry.lead == ACCUSED else entry.lead)
    if entry.lead == ACCUSED and lead == tax.matrix.accused_fallback and accused_units:
        lead = max(accused_units, key=accused_units.get)
    return lead, [u for u in entry.assist if u != lead]
