"""Cue matching: every config term looked up in a normalised field, with evidence.

Terms are indexed by their first two characters and scanned in one pass over the match
string (see ``routing.normalise``). ``A+B`` cues need both parts within ``pair_window``
characters; a part of a pair may be a single character (钱 in 主任+钱), looked up
only for pairs. Neutral phrases (``[neutral]`` in classifier.toml, e.g. 不愿透露姓名) mask
every cue that lies entirely inside them: set phrases of the reporting genre must not
count as evidence (透露 there is not a leak of secrets).
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass

from routing.normalise import Prepared, fold, prepare
from routing.taxonomy import Taxonomy

NEUTRAL = "neutral"


@dataclass(frozen=True)
class Evidence:
    term: str      # as in the config
    matched: str   # as found in the original field
    field: str     # title / text / accused
    start: int     # offsets into the original field string
    end: int
    weight: float


class Matcher:
    """All config terms, folded, indexed by their first two characters."""

    def __init__(self, tax: Taxonomy):
        self.targets: dict[str, list[tuple[str, object, float, str]]] = {}
        self.pairs: list[tuple[tuple[str, ...], str, object, float, str]] = []
        self.singles: set[str] = set()   # one-character parts of pairs
        clf = tax.classifier
        for area in tax.areas.values():
            self._add(area.cues, "area", area.number)
        for item in tax.items.values():
            self._add(item.cues, "item", item.code)
            for t in item.needs:
                self.targets.setdefault(fold(t), []).append(("need", item.code, 0.0, t))
        self._add(clf.context, "context", None)
        self._add(clf.misconduct, "misconduct", None)
        self._add(clf.out_of_scope, "oos", None)
        self.neutral = frozenset(fold(t) for t in clf.neutral if len(fold(t)) >= 2)
        for t in self.neutral:
            self.targets.setdefault(t, [])
        self.by_head: dict[str, list[str]] = {}
        for term in self.targets:
            self.by_head.setdefault(term[:2], []).append(term)
        self.window = int(clf.scoring.get("pair_window", 20))

    def _add(self, cues, kind: str, key) -> None:
        for cue in cues:
            parts = tuple(fold(p) for p in cue.term.split("+"))
            short = [p for p in parts if len(p) < 2]
            if (len(parts) == 1 and short) or any(not p for p in parts) or len(short) == len(parts):
                raise ValueError(f"cue {cue.term!r}: terms need two characters or more "
                                 "(in a pair, one part may have one)")
            for p in parts:
                if len(p) == 1:
                    self.singles.add(p)
                else:
                    self.targets.setdefault(p, [])
            if len(parts) == 1:
                self.targets[parts[0]].append((kind, key, cue.weight, cue.term))
            else:
                self.pairs.append((parts, kind, key, cue.weight, cue.term))

    def scan(self, text: str) -> dict[str, list[int]]:
        """folded term -> start offsets in the match string (neutral-masked removed)."""
        hits: dict[str, list[int]] = {}
        by_head = self.by_head
        for i in range(len(text) - 1):
            terms = by_head.get(text[i:i + 2])
            if terms:
                for t in terms:
                    if text.startswith(t, i):
                        hits.setdefault(t, []).append(i)
        for ch in self.singles:
            i = text.find(ch)
            while i >= 0:
                hits.setdefault(ch, []).append(i)
                i = text.find(ch, i + 1)
        return self.unmasked(hits) if self.neutral else hits

    def unmasked(self, hits: dict[str, list[int]]) -> dict[str, list[int]]:
        spans = [(s, s + len(t)) for t in self.neutral if t in hits for s in hits[t]]
        if not spans:
            return hits
        out = {}
        for t, starts in hits.items():
            if t in self.neutral:
                continue
            keep = [s for s in starts
                    if not any(a <= s and s + len(t) <= b for a, b in spans)]
            if keep:
                out[t] = keep
        return out

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
    """Raw rule points: (item points, area points, signals, evidence per target).
    Evidence keys: ("item", code), ("area", n), ("need", code) when a need of the item
    is named, and ("context" | "misconduct" | "oos", None)."""
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
        found = [(t, hits[t][0], tgt) for t in hits for tgt in m.targets.get(t, ())
                 if tgt[0] != "oos" or not _inside_longer(t, hits[t], hits)]
        for parts, kind, key, w, raw in m.pairs:
            if parts[0] not in hits or parts[1] not in hits:
                continue
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
        elif kind == "need":
            pass                      # only its evidence matters: the need is met
        else:
            signals[kind] += w
        evidence.setdefault((kind, key), []).append(ev)
    return items, areas, signals, evidence
