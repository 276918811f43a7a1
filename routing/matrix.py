"""Responsibility matrix: from a classification to the lead and assisting units.

Content decides, not the receiving channel. Area 1 items are led by the member unit
whose official is accused (accused fields first, then title and text); a report that is
out of scope, has no item or a confidence below the triage threshold goes to the task
force. A report about an institution outside the district is flagged for transfer.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from routing.classifier import Classification, accused_text
from routing.normalise import fold, prepare
from routing.taxonomy import ACCUSED, Taxonomy


@dataclass(frozen=True)
class Routing:
    lead_unit: str
    assist_units: list[str] = field(default_factory=list)
    triage: bool = False
    transfer: bool = False
    reason: str = ""
    lead_probability: float | None = None   # calibrated P(lead unit), with the corpus model

    def to_dict(self) -> dict:
        return asdict(self)


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
    terms = {u: [fold(t) for t in ts] for u, ts in m.accused_units.items()}
    acc = prepare(accused_text(accused), tax.typo_fixer).text
    if acc:
        unit, _ = _first_hit(acc, terms)
        if unit:
            return unit
    body = prepare(f"{title}\n{text}", tax.typo_fixer).text
    unit, _ = _first_hit(body, terms)
    return unit or m.accused_fallback


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
    c = tax.classifier
    body = prepare(f"{title}\n{text}\n{accused_text(accused)}", tax.typo_fixer).text
    inst = [fold(t) for t in c.institutions]
    outside = _near_institution(body, [fold(p) for p in c.out_of_district], inst,
                                c.district_window)
    if not outside:
        return False
    return not _near_institution(body, [fold(p) for p in c.in_district], inst,
                                 c.district_window)


def route(tax: Taxonomy, classification: Classification, *, title: str, text: str,
          accused: dict | None = None) -> Routing:
    """Lead and assisting units for a classified report."""
    triage_unit = tax.matrix.triage_unit
    transfer = classification.in_scope and out_of_district(
        tax, title=title, text=text, accused=accused)
    suffix = "; outside the district: suggest transfer" if transfer else ""
    if not classification.in_scope or classification.item is None:
        return Routing(triage_unit, [], True, False,
                       "out of scope or no item fits: manual triage")
    if classification.lead_threshold is not None:
        return _route_calibrated(tax, classification, title=title, text=text,
                                 accused=accused, transfer=transfer, suffix=suffix)
    threshold = tax.classifier.threshold
    if classification.confidence < threshold:
        return Routing(triage_unit, [], True, transfer,
                       f"item {classification.item} below confidence threshold "
                       f"{classification.confidence:.2f} < {threshold:.2f}: manual triage"
                       + suffix)
    lead, assist = units_for_item(tax, classification.item, title=title, text=text, accused=accused)
    return Routing(lead, assist, False, transfer, _matrix_reason(tax, classification.item, lead) + suffix)


def _matrix_reason(tax: Taxonomy, item: str, lead: str) -> str:
    if tax.matrix.entries[item].lead == ACCUSED:
        how = ("accused official's unit" if lead != tax.matrix.accused_fallback
               else "accused official's unit not named")
        return f"item {item}: {how}"
    return f"item {item}: matrix"


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
    return out


def _route_calibrated(tax: Taxonomy, classification: Classification, *, title: str, text: str,
                      accused: dict | None, transfer: bool, suffix: str) -> Routing:
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
                       "manual triage" + suffix, round(p_lead, 4))
    return Routing(lead, assist, False, transfer,
                   _matrix_reason(tax, item, lead) + f" (P(lead unit) {p_lead:.2f})" + suffix,
                   round(p_lead, 4))


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
