"""The negative list, the responsibility matrix and the classifier settings, loaded from
``config/negative_list.toml``, ``config/matrix.toml`` and ``config/classifier.toml`` into
frozen dataclasses. Pure Python: no Flask, no database."""
from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from routing.leadership import Leadership, LeadershipConfigError, parse_leadership
from routing.normalise import TypoFixer

FILES = ("negative_list.toml", "matrix.toml", "classifier.toml", "leadership.toml")
UNITS = ("health", "market", "medinsure", "police", "audit", "taskforce")
ACCUSED = "accused"  # matrix lead meaning "the unit whose official is accused"


class TaxonomyError(ValueError):
    """The configuration is inconsistent (unknown item, unit, missing field)."""


@dataclass(frozen=True)
class Cue:
    term: str      # as written in the config; "A+B" = both parts close together
    weight: float  # negative = argues against


@dataclass(frozen=True)
class Area:
    number: int
    title: str
    cues: tuple[Cue, ...]


@dataclass(frozen=True)
class Item:
    code: str
    area: int
    area_title: str
    title: str
    wording: str
    cues: tuple[Cue, ...]
    needs: tuple[str, ...] = ()   # the item's own cues count fully only if one is named


@dataclass(frozen=True)
class MatrixEntry:
    lead: str                  # a unit code, or "accused"
    assist: tuple[str, ...]


@dataclass(frozen=True)
class Matrix:
    entries: Mapping[str, MatrixEntry]
    accused_units: Mapping[str, tuple[str, ...]]   # unit -> terms naming it
    accused_fallback: str
    triage_unit: str


@dataclass(frozen=True)
class ClassifierConfig:
    threshold: float
    scoring: Mapping[str, float]
    context: tuple[Cue, ...]        # medical-sector context
    misconduct: tuple[Cue, ...]     # something improper is alleged
    out_of_scope: tuple[Cue, ...]   # complaint kinds the campaign does not cover
    in_district: tuple[str, ...]
    out_of_district: tuple[str, ...]
    institutions: tuple[str, ...]
    district_window: int
    typos: Mapping[str, str]
    neutral: tuple[str, ...] = ()    # set phrases that mask the cues inside them


@dataclass(frozen=True, eq=False)
class Taxonomy:
    version: str
    rules_version: str
    areas: Mapping[int, Area]
    items: Mapping[str, Item]
    matrix: Matrix
    classifier: ClassifierConfig
    typo_fixer: TypoFixer
    leadership: Leadership  # 防止"灯下黑": who counts as each member unit's leadership (config/leadership.toml)

    def area_of(self, code: str | None) -> int | None:
        return self.items[code].area if code in self.items else None


def _cues(table: Mapping[str, float] | None, sign: float = 1.0) -> tuple[Cue, ...]:
    return tuple(Cue(t, sign * abs(float(w))) for t, w in (table or {}).items())


def _frozen(d: dict) -> Mapping:
    return MappingProxyType(dict(d))


def _load_items(data: dict) -> tuple[dict[int, Area], dict[str, Item]]:
    areas = {int(a["number"]): Area(int(a["number"]), a["title"], _cues(a.get("cues")))
             for a in data["area"]}
    items: dict[str, Item] = {}
    for it in data["item"]:
        area = int(it["area"])
        if area not in areas or not it["code"].startswith(f"{area}."):
            raise TaxonomyError(f"item {it['code']}: bad area {area}")
        cues = _cues(it.get("cues")) + _cues(it.get("against"), -1.0)
        items[it["code"]] = Item(it["code"], area, areas[area].title, it["title"],
                                 it["wording"].strip(), cues, tuple(it.get("needs", ())))
    return areas, items


def _load_matrix(data: dict, items: Mapping[str, Item]) -> Matrix:
    entries = {}
    for code, e in data["items"].items():
        if code not in items:
            raise TaxonomyError(f"matrix: unknown item {code}")
        for unit in [e["lead"], *e.get("assist", [])]:
            if unit not in UNITS and unit != ACCUSED:
                raise TaxonomyError(f"matrix {code}: unknown unit {unit}")
        entries[code] = MatrixEntry(e["lead"], tuple(e.get("assist", [])))
    missing = set(items) - set(entries)
    if missing:
        raise TaxonomyError(f"matrix: no entry for {sorted(missing)}")
    acc = data["accused"]
    units = {u: tuple(terms) for u, terms in acc["units"].items()}
    return Matrix(_frozen(entries), _frozen(units), acc.get("fallback", "taskforce"),
                  data.get("triage_unit", "taskforce"))


def _with_official_words(matrix: Matrix, extra: Mapping[str, list[str]]) -> Matrix:
    """Add classifier.toml ``[accused_units]`` (everyday words for each unit's officials:
    医保的人, 工商所) to the matrix's terms naming the accused official's unit."""
    if not extra:
        return matrix
    units = {u: list(ts) for u, ts in matrix.accused_units.items()}
    for unit, terms in extra.items():
        if unit not in UNITS:
            raise TaxonomyError(f"accused_units: unknown unit {unit}")
        units[unit] = units.get(unit, []) + [t for t in terms if t not in units.get(unit, [])]
    return Matrix(matrix.entries, _frozen({u: tuple(ts) for u, ts in units.items()}),
                  matrix.accused_fallback, matrix.triage_unit)


def _load_classifier(data: dict) -> ClassifierConfig:
    district = data.get("district", {})
    return ClassifierConfig(
        threshold=float(data["triage"]["threshold"]),
        scoring=_frozen({k: float(v) for k, v in data["scoring"].items()}),
        context=_cues(data["in_scope"]["context"]),
        misconduct=_cues(data["in_scope"]["misconduct"]),
        out_of_scope=_cues(data["out_of_scope"]["cues"]),
        in_district=tuple(district.get("in_district", ())),
        out_of_district=tuple(district.get("out_of_district", ())),
        institutions=tuple(district.get("institutions", ())),
        district_window=int(district.get("window", 12)),
        typos=_frozen(data.get("typos", {})),
        neutral=tuple(data.get("neutral", {}).get("phrases", ())),
    )


_PARSED: dict[str, Taxonomy] = {}  # by the digest of the files' bytes: a Taxonomy is immutable
_PARSED_MAX = 8


def load_taxonomy(config_dir: Path | str) -> Taxonomy:
    """Read the four TOML files of ``config_dir``; rules_version hashes their bytes. The files are read each
    time; they are parsed again only when their bytes changed (every app and `flask setup` load them)."""
    config_dir = Path(config_dir)
    raw = {name: (config_dir / name).read_bytes() for name in FILES}
    key = hashlib.sha256(b"\0".join(raw[n] for n in FILES)).hexdigest()
    cached = _PARSED.get(key)
    if cached is None:
        cached = _parse_taxonomy(raw, key)
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[key] = cached
    return cached


def _parse_taxonomy(raw: dict[str, bytes], digest: str) -> Taxonomy:
    parsed = {name: tomllib.loads(b.decode("utf-8")) for name, b in raw.items()}
    areas, items = _load_items(parsed["negative_list.toml"])
    matrix = _with_official_words(_load_matrix(parsed["matrix.toml"], items),
                                  parsed["classifier.toml"].get("accused_units", {}))
    clf = _load_classifier(parsed["classifier.toml"])
    try:
        leadership = parse_leadership(parsed["leadership.toml"], UNITS)
    except LeadershipConfigError as exc:
        raise TaxonomyError(str(exc)) from exc
    version = str(parsed["negative_list.toml"].get("version", "0"))
    return Taxonomy(version=version, rules_version=f"{version}+{digest[:12]}",
                    areas=_frozen(areas), items=_frozen(items), matrix=matrix,
                    classifier=clf, typo_fixer=TypoFixer(clf.typos), leadership=leadership)
