"""Rule classifier: scores a report against the 30 items of the negative list.

Every cue term of the config is looked up in the normalised title, text and accused
fields; an item's score is the sum of its own cue weights plus a share of its area's
cue weights (who acts: an official, a hospital leader, a society, a company, a doctor).
Separate signal lists decide whether the report is about the campaign at all. A learned
model (``routing.learned``), when given, is blended in as a probability distribution.
"""
from __future__ import annotations

import math
import weakref
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from routing.normalise import Prepared, extract_amounts, fold, prepare
from routing.taxonomy import Taxonomy

if TYPE_CHECKING:  # pragma: no cover
    from routing.learned import LearnedModel

FIELDS = ("title", "text", "accused")
ACCUSED_KEYS = ("name", "institution", "position")


@dataclass(frozen=True)
class Evidence:
    term: str      # as in the config
    matched: str   # as found in the original field
    field: str     # title / text / accused
    start: int     # offsets into the original field string
    end: int
    weight: float


@dataclass(frozen=True)
class Candidate:
    item: str
    score: float                 # final score, 0..1 (share of the decision)
    evidence: list[Evidence]
    rule_score: float = 0.0      # raw rule points


@dataclass(frozen=True)
class Classification:
    item: str | None
    candidates: list[Candidate]
    in_scope: bool
    confidence: float
    rules_version: str
    model_version: str | None = None
    signals: dict = field(default_factory=dict)

    @property
    def area(self) -> int | None:
        return int(self.item.split(".")[0]) if self.item else None

    def to_dict(self) -> dict:
        return asdict(self)


def accused_text(accused: dict | None) -> str:
    """The string the "accused" evidence offsets point into: the non-empty values of
    name, institution and position joined by a space, in that order."""
    if not accused:
        return ""
    return " ".join(str(accused.get(k) or "").strip() for k in ACCUSED_KEYS
                    if str(accused.get(k) or "").strip())


class Matcher:
    """All config terms, folded, indexed by their first two characters."""

    def __init__(self, tax: Taxonomy):
        self.targets: dict[str, list[tuple[str, object, float, str]]] = {}
        self.pairs: list[tuple[tuple[str, ...], str, object, float, str]] = []
        clf = tax.classifier
        for area in tax.areas.values():
            self._add(area.cues, "area", area.number)
        for item in tax.items.values():
            self._add(item.cues, "item", item.code)
        self._add(clf.context, "context", None)
        self._add(clf.misconduct, "misconduct", None)
        self._add(clf.out_of_scope, "oos", None)
        self.by_head: dict[str, list[str]] = {}
        for term in self.targets:
            self.by_head.setdefault(term[:2], []).append(term)
        self.window = int(clf.scoring.get("pair_window", 20))

    def _add(self, cues, kind: str, key) -> None:
        for cue in cues:
            parts = tuple(fold(p) for p in cue.term.split("+"))
            if any(len(p) < 2 for p in parts):
                raise ValueError(f"cue {cue.term!r}: terms need two characters or more")
            for p in parts:
                self.targets.setdefault(p, [])
            if len(parts) == 1:
                self.targets[parts[0]].append((kind, key, cue.weight, cue.term))
            else:
                self.pairs.append((parts, kind, key, cue.weight, cue.term))

    def scan(self, text: str) -> dict[str, list[int]]:
        """folded term -> start offsets in the match string."""
        hits: dict[str, list[int]] = {}
        by_head = self.by_head
        for i in range(len(text) - 1):
            terms = by_head.get(text[i:i + 2])
            if terms:
                for t in terms:
                    if text.startswith(t, i):
                        hits.setdefault(t, []).append(i)
        return hits

    def pair_hit(self, parts, hits) -> list[tuple[str, int]] | None:
        if not all(p in hits for p in parts):
            return None
        for s in hits[parts[0]]:
            found = [(parts[0], s)]
            for p in parts[1:]:
                near = min(hits[p], key=lambda x: abs(x - s))
                if abs(near - s) > self.window:
                    break
                found.append((p, near))
            else:
                return found
        return None


_MATCHERS: "weakref.WeakKeyDictionary[Taxonomy, Matcher]" = weakref.WeakKeyDictionary()


def matcher_for(tax: Taxonomy) -> Matcher:
    m = _MATCHERS.get(tax)
    if m is None:
        m = _MATCHERS[tax] = Matcher(tax)
    return m


def _evidence(prep: Prepared, fname: str, folded: str, start: int, raw: str,
              weight: float) -> Evidence:
    s, e = prep.span(start, start + len(folded))
    return Evidence(raw, prep.original[s:e], fname, s, e, weight)


def _shadowed(term: str, hits: dict[str, list[int]], same: list[str]) -> bool:
    """A cue inside a longer cue of the same target counts once (民营 in 民营医院)."""
    longer = [t for t in same if len(t) > len(term) and term in t]
    return bool(longer) and _inside_longer(term, hits[term], {t: hits[t] for t in longer})


def _inside_longer(term: str, starts: list[int], hits: dict[str, list[int]]) -> bool:
    """Every occurrence of ``term`` lies inside a longer matched term (班费 in 加班费)."""
    spans = [(s, s + len(t)) for t in hits if len(t) > len(term) for s in hits[t]]
    return all(any(a <= s and s + len(term) <= b for a, b in spans) for s in starts)


def score_fields(tax: Taxonomy, fields: dict[str, str]):
    """Raw rule points: (item points, area points, signals, evidence per target)."""
    m = matcher_for(tax)
    sc = tax.classifier.scoring
    mult = {"title": sc.get("title_weight", 1.5), "text": 1.0,
            "accused": sc.get("accused_weight", 1.5)}
    best: dict[tuple, tuple[float, Evidence]] = {}   # (kind, key, term) -> weight, ev
    for fname, value in fields.items():
        if not value:
            continue
        prep = prepare(value, tax.typo_fixer)
        hits = m.scan(prep.text)
        found = [(t, hits[t][0], tgt) for t in hits for tgt in m.targets[t]
                 if tgt[0] != "oos" or not _inside_longer(t, hits[t], hits)]
        for parts, kind, key, w, raw in m.pairs:
            ph = m.pair_hit(parts, hits)
            if ph:
                found.append((ph[0][0], ph[0][1], (kind, key, w, raw)))
        groups: dict[tuple, list[str]] = {}
        for folded, _s, (kind, key, _w, _r) in found:
            groups.setdefault((kind, key), []).append(folded)
        for folded, start, (kind, key, w, raw) in found:
            if _shadowed(folded, hits, groups[(kind, key)]):
                continue
            wf = w * mult[fname] if w > 0 else w
            k = (kind, key, raw)
            if k not in best or abs(wf) > abs(best[k][0]):
                best[k] = (wf, _evidence(prep, fname, folded, start, raw, w))
    items: dict[str, float] = {}
    areas: dict[int, float] = {}
    signals = {"context": 0.0, "misconduct": 0.0, "oos": 0.0}
    evidence: dict[tuple, list[Evidence]] = {}
    for (kind, key, _raw), (w, ev) in best.items():
        if kind == "item":
            items[key] = items.get(key, 0.0) + w
        elif kind == "area":
            areas[key] = areas.get(key, 0.0) + w
        else:
            signals[kind] += w
        evidence.setdefault((kind, key), []).append(ev)
    return items, areas, signals, evidence


def _blend(rules: dict, learned: dict, weight: float, n_classes: int) -> dict:
    """Product of experts: rules x (smoothed learned probabilities) ** weight. Decisive
    rules stay; close calls and ties among an area's items go the learned way."""
    if weight <= 0:
        return rules
    out = {}
    for k in set(rules) | set(learned):
        p = 0.5 * learned.get(k, 0.0) + 0.5 / n_classes
        out[k] = rules.get(k, 1e-6) * p ** weight
    total = sum(out.values())
    return {k: v / total for k, v in out.items()}


def classify(tax: Taxonomy, *, title: str, text: str, channel: str = "web",
             accused: dict | None = None,
             learned: "LearnedModel | None" = None) -> Classification:
    """Classify one report; see the module docstring."""
    sc = tax.classifier.scoring
    fields = {"title": title or "", "text": text or "", "accused": accused_text(accused)}
    items, areas, signals, evidence = score_fields(tax, fields)
    area_w = sc.get("area_weight", 0.5)
    area_only = sc.get("area_only_factor", 0.3)
    scores: dict[str, float] = {}
    for code, item in tax.items.items():
        own = items.get(code, 0.0)
        a = max(areas.get(item.area, 0.0), 0.0)
        s = own + area_w * a if own > 0 else area_only * area_w * a + min(own, 0.0)
        if s > 0:
            scores[code] = s
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    top = ranked[0][1] if ranked else 0.0
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    money = sum(1 for a in extract_amounts(f"{title}\n{text}") if a.yuan >= 100)
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
    model_version = None
    if learned is not None:
        dist = _blend(dist, learned.predict_proba(f"{title}\n{text}"), learned.weight,
                      len(tax.items) + 1)
        model_version = learned.version
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
    return Classification(best if in_scope else None, candidates, in_scope,
                          round(confidence, 4), tax.rules_version, model_version,
                          {k: round(v, 3) for k, v in signals.items()})
