"""防止"灯下黑": does a report accuse the leadership of a member unit, or the task force's own leader or
deputy? Pure: the configuration (config/leadership.toml) and plain report fields in, a finding out.

A report accuses the leadership of a member unit when
  - the accused position is one of the unit's leadership positions and the accused institution names
    the unit (or, with no institution given, the title or text does) — rule "accused_fields";
  - the title or text names the unit and, close after it in the same sentence, one of its leadership
    positions ("区卫健局的副局长", "医保分中心主任") — rule "text"; or it names the unit and later refers
    back to it ("反映到区市场监督管理局……是该局一位副局长", "转给医保分中心……分中心的一位副主任"): a
    word of `anaphora` followed, in its sentence, by one of the posts of the unit named last before it;
  - it names a person Attachment 1 lists as a leader of the unit — rule "person".
A position that belongs to a part of the unit (卫健局医政科主任, 综合办公室主任) or is a rank (主任医师)
does not count. The task force's own leader or deputy is accused when the report names them, the task
force's 组长/副组长, or the positions of the health bureau they hold (its 局长, 副局长, 党组书记).

Every comparison is on name keys (routing.names): 繁體, spaces and middle dots make no difference."""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from routing.names import SENTENCE_END, name_key, sentence_key

TASKFORCE = "taskforce"
RULES = ("accused_fields", "text", "person")
ROLES = ("leader", "deputy", "member", "liaison")


class LeadershipConfigError(ValueError):
    """config/leadership.toml is inconsistent (unknown unit or role, no positions)."""


@dataclass(frozen=True)
class Person:
    name: str          # as the plan writes it
    key: str           # its name key
    unit: str
    role: str          # leader | deputy | member | liaison
    position: str
    leadership: bool   # counts as the unit's leadership (liaisons do not)

    @property
    def leads_taskforce(self) -> bool:
        return self.role in ("leader", "deputy")


@dataclass(frozen=True)
class UnitLeadership:
    code: str
    name: str
    aliases: tuple[str, ...]     # name keys
    positions: tuple[str, ...]   # name keys, longest first


@dataclass(frozen=True)
class Leadership:
    units: Mapping[str, UnitLeadership]
    people: tuple[Person, ...]
    taskforce_unit: str                  # the member unit whose principal leads the task force
    taskforce_positions: frozenset[str]  # that unit's positions held by the task force's leader or deputy
    taskforce: UnitLeadership            # the task force itself: its names, and 组长 / 副组长
    sub_bodies: tuple[str, ...]
    not_posts: tuple[str, ...]
    salutations: tuple[str, ...]
    window: int
    anaphora: tuple[str, ...] = ()       # words that refer back to the unit named last (该局, 分中心)


@dataclass(frozen=True)
class Hit:
    unit: str             # a member unit, or "taskforce"
    rule: str             # accused_fields | text | person
    evidence: str         # what matched (normalised)
    position: str = ""
    person: Person | None = None


@dataclass(frozen=True)
class Finding:
    units: tuple[str, ...]       # member units that must never lead, assist or see the case
    discipline: bool             # accuses the task force's leader or deputy: to discipline inspection
    hits: tuple[Hit, ...] = field(default_factory=tuple)

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(h.rule for h in self.hits))


def _keys(words) -> tuple[str, ...]:
    return tuple(dict.fromkeys(k for k in (name_key(w) for w in words) if k))


def _longest_first(words) -> tuple[str, ...]:
    return tuple(sorted(_keys(words), key=len, reverse=True))


def parse_leadership(data: dict, unit_codes: tuple[str, ...]) -> Leadership:
    units = {}
    for code, entry in data.get("unit", {}).items():
        if code not in unit_codes or code == TASKFORCE:
            raise LeadershipConfigError(f"leadership: unknown member unit {code!r}")
        positions = _longest_first(entry.get("positions", ()))
        if not positions:
            raise LeadershipConfigError(f"leadership: unit {code} has no positions")
        units[code] = UnitLeadership(code, entry.get("name", code), _keys(entry.get("aliases", ())), positions)
    tf = data.get("taskforce", {})
    tf_unit = tf.get("unit", "health")
    if tf_unit not in units:
        raise LeadershipConfigError(f"leadership: the task force's unit {tf_unit!r} has no [unit.{tf_unit}]")
    people = []
    for p in data.get("person", []):
        if p.get("unit") not in units or p.get("role") not in ROLES or not name_key(p.get("name")):
            raise LeadershipConfigError(f"leadership: person {p.get('name')!r}: unknown unit or role, or no name")
        people.append(Person(p["name"], name_key(p["name"]), p["unit"], p["role"], p.get("position", ""),
                             bool(p.get("leadership", True))))
    return Leadership(
        units=MappingProxyType(units), people=tuple(people), taskforce_unit=tf_unit,
        taskforce_positions=frozenset(_keys(tf.get("positions", ()))),
        taskforce=UnitLeadership(TASKFORCE, "工作专班", _keys(tf.get("aliases", ())),
                                 _longest_first(tf.get("titles", ()))),
        sub_bodies=_keys(data.get("sub_bodies", ())), not_posts=_keys(data.get("not_posts", ())),
        salutations=_keys(data.get("salutations", ())),
        window=int(data.get("window", 12)), anaphora=_longest_first(data.get("anaphora", ())))


# --- detection -------------------------------------------------------------------------------------

def _all(text: str, word: str, lo: int = 0, hi: int | None = None):
    """Where `word` starts in `text`, from `lo` up to `hi` (exclusive)."""
    i = text.find(word, lo)
    while i >= 0 and (hi is None or i < hi):
        yield i
        i = text.find(word, i + 1)


def _is_post(cfg: Leadership, text: str, start: int, position: str, positions: tuple[str, ...]) -> bool:
    """`position` found at `start` of `text` is a post of the unit: not the tail of a longer position
    (局长 in 副局长), not a rank (主任医师), not the post of a part of the unit (医政科主任)."""
    end = start + len(position)
    for longer in positions:
        if len(longer) > len(position) and longer.endswith(position) and \
                text[max(0, end - len(longer)):end] == longer:
            return False
    if any(text.startswith(w, end) for w in cfg.not_posts):
        return False
    before = text[:start]
    if before.endswith("的"):
        before = before[:-1]
    return not any(before.endswith(b) for b in cfg.sub_bodies)


def _posts_in(cfg: Leadership, text: str, unit: UnitLeadership) -> list[str]:
    return [p for p in unit.positions for i in _all(text, p) if _is_post(cfg, text, i, p, unit.positions)]


def _named_units(text: str, aliases: Mapping[str, tuple[str, ...]]) -> list[str]:
    return [code for code, words in aliases.items() if any(w in text for w in words)]


def _unit(cfg: Leadership, code: str) -> UnitLeadership:
    return cfg.taskforce if code == TASKFORCE else cfg.units[code]


def _position_hits(cfg: Leadership, aliases, own_aliases, accused: dict, body: str) -> list[Hit]:
    """The accused position is a leadership post of a unit the institution names (or, when no
    institution is given, the title or text names with one of the unit's own names)."""
    position = sentence_key(accused.get("position"))
    if not position:
        return []
    institution = sentence_key(accused.get("institution"))
    named = _named_units(institution, aliases) if institution else _named_units(body, own_aliases)
    named += [code for code in _named_units(position, own_aliases) if code not in named]
    return [Hit(code, "accused_fields", f"{institution}{position}" if institution else position, post)
            for code in named for post in _posts_in(cfg, position, _unit(cfg, code))]


def _posts_after(cfg: Leadership, body: str, unit: UnitLeadership, after: int, every_alias) -> list[tuple[int, str]]:
    """The unit's posts that start within `window` characters after `after`, in the same sentence and with
    no other unit named in between: (where, post)."""
    found = []
    for post in unit.positions:
        for j in _all(body, post, after, after + cfg.window + 1):
            gap = body[after:j]
            if SENTENCE_END in gap or any(other in gap for other in every_alias):
                continue  # another sentence, or the post of another unit named in between
            if _is_post(cfg, body, j, post, unit.positions):
                found.append((j, post))
    return found


def _text_hits(cfg: Leadership, aliases, body: str) -> list[Hit]:
    """A unit's name, then within `window` characters of the same sentence one of its posts (not in a
    salutation: 尊敬的医保中心领导); or a word referring back to the unit named last (_anaphor_hits)."""
    every_alias = {w for words in aliases.values() for w in words}
    named = [(i, i + len(alias), code) for code, words in aliases.items() for alias in words
             for i in _all(body, alias)]
    hits = []
    for i, after, code in named:
        if any(s in body[max(0, i - len(s) - 2):i] for s in cfg.salutations):
            continue
        hits += [Hit(code, "text", body[i:j + len(post)], post)
                 for j, post in _posts_after(cfg, body, _unit(cfg, code), after, every_alias)]
    return hits + _anaphor_hits(cfg, body, sorted(named), every_alias)


def _anaphor_hits(cfg: Leadership, body: str, named: list[tuple[int, int, str]], every_alias) -> list[Hit]:
    """该局一位副局长, 分中心的副主任: a word of `anaphora` that is not part of a unit's name where it
    stands refers to the unit named last before it (in an earlier sentence too); one of that unit's posts
    close after it, in its sentence, accuses that unit's leadership. `named`: where the units' names
    stand (start, end, unit), in order."""
    if not cfg.anaphora or not named:
        return []
    hits, taken = [], [(a, b) for a, b, _c in named]
    for word in cfg.anaphora:   # longest first
        for i in _all(body, word):
            end = i + len(word)
            if any(a < end and i < b for a, b in taken):
                continue   # inside a unit's name (分中心 in 医保分中心), or in a longer anaphor (该分中心)
            taken.append((i, end))
            before = [code for a, b, code in named if b <= i]
            if not before:
                continue
            code = before[-1]
            hits += [Hit(code, "text", body[i:j + len(post)], post)
                     for j, post in _posts_after(cfg, body, _unit(cfg, code), end, every_alias)]
    return hits


def _person_hits(cfg: Leadership, key: str) -> list[Hit]:
    return [Hit(p.unit, "person", p.key, person=p) for p in cfg.people
            if (p.leadership or p.leads_taskforce) and len(p.key) >= 2 and p.key in key]


_ALIASES: dict[tuple[int, int], tuple] = {}


def _aliases(cfg: Leadership, extra: Mapping[str, tuple[str, ...]] | None) -> dict[str, tuple[str, ...]]:
    """Each unit's own names (config/leadership.toml) and the task force's, with `extra` added.
    Cached per (cfg, extra) object when both are read-only (the loaded configuration: a frozen
    dataclass of read-only mappings); the entry keeps both objects, so that their ids are not reused."""
    if extra is not None and not isinstance(extra, MappingProxyType):
        return _build_aliases(cfg, extra)
    key = (id(cfg), id(extra))
    hit = _ALIASES.get(key)
    if hit is not None and hit[0] is cfg and hit[1] is extra:
        return hit[2]
    if len(_ALIASES) >= 64:
        _ALIASES.clear()
    out = _build_aliases(cfg, extra)
    _ALIASES[key] = (cfg, extra, out)
    return out


def _build_aliases(cfg: Leadership, extra: Mapping[str, tuple[str, ...]] | None) -> dict[str, tuple[str, ...]]:
    out = {code: unit.aliases for code, unit in cfg.units.items()}
    for code, words in (extra or {}).items():
        if code in out:
            out[code] = tuple(dict.fromkeys(out[code] + _keys(words)))
    out[TASKFORCE] = cfg.taskforce.aliases
    return out


def _accuses_taskforce_leadership(cfg: Leadership, hit: Hit) -> bool:
    if hit.unit == TASKFORCE:
        return True
    if hit.person is not None:
        return hit.person.leads_taskforce
    return hit.unit == cfg.taskforce_unit and hit.position in cfg.taskforce_positions


def detect(cfg: Leadership, *, title: str, text: str, accused: dict | None = None,
           extra_aliases: Mapping[str, tuple[str, ...]] | None = None) -> Finding | None:
    """The member units whose leadership the report accuses, and whether it accuses the task force's
    leader or deputy; None when it accuses no leadership. `extra_aliases`: more words naming each unit
    (config/matrix.toml [accused.units])."""
    accused = accused or {}
    aliases, own = _aliases(cfg, extra_aliases), _aliases(cfg, None)
    body = sentence_key(f"{title}\n{text}")
    everything = name_key(" ".join([title or "", text or "", *(str(accused.get(k) or "") for k in
                                                                ("name", "institution", "position"))]))
    hits = (_position_hits(cfg, aliases, own, accused, body) + _text_hits(cfg, aliases, body)
            + _person_hits(cfg, everything))
    if not hits:
        return None
    discipline = any(_accuses_taskforce_leadership(cfg, h) for h in hits)
    units = {h.unit for h in hits if h.unit != TASKFORCE}
    if discipline:
        units.add(cfg.taskforce_unit)
    order = list(cfg.units)
    return Finding(tuple(sorted(units, key=order.index)), discipline, tuple(hits))


_RULE_WORDS = {"accused_fields": "被举报人的单位和职务", "text": "举报内容", "person": "点名"}


def explain(cfg: Leadership, finding: Finding) -> str:
    """Which rule applied, in words a person reads (Chinese), for the case page."""
    said: list[str] = []
    shown: list[str] = []
    for hit in sorted(finding.hits, key=lambda h: -len(h.evidence)):
        if any(hit.evidence in other for other in shown):
            continue  # 专班的组长 inside 工作专班的组长
        shown.append(hit.evidence)
        if hit.person is not None:
            said.append(f"点名{hit.person.name.replace(' ', '')}（{hit.person.position}）")
        else:
            said.append(f"{_RULE_WORDS[hit.rule]}提到“{hit.evidence}”")
    evidence = "；".join(dict.fromkeys(said[:4]))
    if finding.discipline:
        return (f"举报涉及工作专班组长或副组长（{evidence}）：按照对主要负责人的检举控告由上一级处理的规则，"
                f"本案移送纪检监察机关，只有未被举报点名的工作专班协调员可以查看。")
    names = "、".join(cfg.units[u].name for u in finding.units)
    return (f"举报涉及{names}的领导（{evidence}）：为防止“灯下黑”，本案不由该单位牵头、协办或查看，"
            f"改由工作专班牵头办理。")
