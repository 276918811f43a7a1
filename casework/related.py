"""Related reports found on arrival (线索归集). When routing opens a report's case, the report is indexed
(intake.match_keys: the accused person's and institution's name keys, the LSH band keys of its text; the
reporter's keyed hash was written by intake) and the reports that belong with it are looked up by those
keys: a few indexed look-ups, each bounded, so the cost does not grow with the number of reports.

Relations (reason codes; their words are in casework.labels):
  - same_person: a name in the accused-name field (split at 、,;/ but not at spaces) has the same name key
    (routing.names: 繁體, spaces, middle dots and full-width make no difference) and the institutions are
    the same or one of them is not named. Two people who share a surname have different keys;
  - same_institution_item / same_institution_area: the same institution (name key) and the same item, or
    another item of the same area, received within the window (config/related.toml, default 180 days);
  - near_duplicate: the MinHash signatures (datasketch, character 3-grams of the name-key form of the
    text: simplified, no punctuation or spaces) agree on at least `near_duplicate` of their values, found
    through 32 LSH bands of 4 rows. The same text about two different named institutions is about
    different facts: no near_duplicate (and, without any other relation, not related at all);
  - same_reporter: the same keyed hash of a normalised phone number or e-mail address.
A near-exact repeat (`repeat`) by the same reporter of a case still open is registered on that case as a
repeat (重复件) instead of opening a new case: the report joins the case as a merge would move it, the
reporter's receipt follows that case, and the case's handlers see it arrive (timeline, queue badge)."""
from __future__ import annotations

import hashlib
import logging
import re
import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np
from datasketch import MinHash
from sqlalchemy import bindparam, insert, literal, null, select, union_all
from sqlalchemy.orm import Session, aliased

from casework.models import Case, CaseReport
from casework.recusal import recuse_like, run_pending, scan_reports
from casework.related_models import CaseRepeat, RelatedCandidate, ReportSignature
from casework.rules import sync_public_status
from casework.states import OPEN_STATUSES
from casework.walls import carry, excluded_units
from core.audit import record
from core.db import utcnow
from intake.match_keys import ReportMatchKey
from intake.models import Report
from routing.names import MIN_NAME_CHARS, name_key

log = logging.getLogger(__name__)

NUM_PERM, BANDS, ROWS, SHINGLE, SEED = 128, 32, 4, 3, 18
SCHEME = "affine32"  # named, so that stored signatures stay comparable whatever the library's default becomes
_TEMPLATE = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)
PER_KEY = 50  # the newest reports per key that are looked at: a common name or hospital stays cheap
BAND_CANDIDATES = 200
REASONS = ("same_person", "same_institution_item", "same_institution_area", "near_duplicate", "same_reporter")
WEIGHTS = {"same_person": 0.6, "same_institution_item": 0.4, "same_institution_area": 0.25, "same_reporter": 0.3}
_NAME_SPLIT = re.compile(r"[、,，;；/／]+")  # not spaces: "王 小明" is one name


@dataclass(frozen=True)
class RelatedPolicy:
    window_days: int = 180
    near_duplicate: float = 0.6
    repeat: float = 0.9
    many_reporters: int = 3

    @classmethod
    def from_config(cls, path: Path) -> "RelatedPolicy":
        if not path.exists():
            return cls()
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return cls(window_days=int(data.get("window_days", 180)), near_duplicate=float(data.get("near_duplicate", 0.6)),
                   repeat=float(data.get("repeat", 0.9)), many_reporters=int(data.get("many_reporters", 3)))


# --- the keys of one report ------------------------------------------------------------------------

def person_keys(accused_name: str | None) -> list[str]:
    """The name keys of the people named in an accused-name field."""
    keys = (name_key(part) for part in _NAME_SPLIT.split(accused_name or ""))
    return list(dict.fromkeys(k[:64] for k in keys if len(k) >= MIN_NAME_CHARS))


def institution_key(institution: str | None) -> str:
    key = name_key(institution)
    return key[:64] if len(key) >= MIN_NAME_CHARS else ""


def shingles(text: str | None) -> list[bytes]:
    key = name_key(text)
    if len(key) <= SHINGLE:
        return [key.encode("utf-8")] if key else []
    return list({key[i:i + SHINGLE].encode("utf-8") for i in range(len(key) - SHINGLE + 1)})


def signature(text: str | None) -> np.ndarray | None:
    """The MinHash signature (NUM_PERM unsigned 32-bit values) of a text, None for an empty one."""
    grams = shingles(text)
    if not grams:
        return None
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED, permutations=_TEMPLATE.permutations, scheme=SCHEME)
    minhash.update_batch(grams)
    return minhash.hashvalues.astype("<u4")


def band_keys(sig: np.ndarray) -> list[str]:
    return [f"{i:02d}" + hashlib.blake2b(sig[i * ROWS:(i + 1) * ROWS].tobytes(), digest_size=8).hexdigest()
            for i in range(BANDS)]


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """The estimated Jaccard similarity of two signatures."""
    return float(np.mean(a == b))


def _signature_of(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<u4")


def area_key(area: int | None, inst: str) -> str:
    """The institution within an area of the negative list ("instarea": the look-up on arrival takes the
    newest few of them, so a hospital with thousands of reports costs no more than one with ten)."""
    return f"{area}:{inst}"[:64]


def report_keys(report: Report) -> tuple[np.ndarray | None, list[str], str]:
    """What the look-ups match a report on: its text's signature, its person keys, its institution key."""
    return signature(report.text), person_keys(report.accused_name), institution_key(report.accused_institution)


def index_rows(report: Report, area: int | None, keys: tuple[np.ndarray | None, list[str], str],
               bands: list[str] | None = None) -> list[dict]:
    """The report_match_keys rows of a report routed with `keys` (report_keys) into `area` (`bands`: the
    band keys of its signature, if the caller has them already)."""
    sig, persons, inst = keys
    rows = [{"kind": "person", "key": k, "report_id": report.id} for k in persons]
    rows += [{"kind": "inst", "key": inst, "report_id": report.id}] if inst else []
    rows += [{"kind": "instarea", "key": area_key(area, inst), "report_id": report.id}] if inst and area else []
    if sig is not None:
        rows += [{"kind": "band", "key": k, "report_id": report.id} for k in bands or band_keys(sig)]
    return rows


def index_report(session: Session, report: Report, area: int | None = None) -> tuple[np.ndarray | None, list[str], str]:
    """Write the report's person, institution and band keys and its signature; return them."""
    keys = report_keys(report)
    rows = index_rows(report, area, keys)
    if keys[0] is not None:
        session.execute(insert(ReportSignature.__table__), [{"report_id": report.id, "signature": keys[0].tobytes()}])
    if rows:  # Core inserts: the ORM's bulk path would double the time of this step
        session.execute(insert(ReportMatchKey.__table__), rows)
    return keys


# --- finding -----------------------------------------------------------------------------------------

@dataclass
class Found:
    case_id: int
    status: str
    reasons: set[str] = field(default_factory=set)
    similarity: float = 0.0

    @property
    def score(self) -> float:
        rest = 1.0
        for reason in self.reasons:
            weight = 0.8 * self.similarity if reason == "near_duplicate" else WEIGHTS[reason]
            rest *= 1.0 - weight
        return round(1.0 - rest, 2)

    def ordered_reasons(self) -> list[str]:
        return [r for r in REASONS if r in self.reasons]


def _limited(query, kind: str):
    """One branch of the look-up: at most its limit of the newest reports, labelled with its kind."""
    sub = query.subquery()
    return select(sub.c.report_id, literal(kind).label("kind"), sub.c.item_code)


@lru_cache(maxsize=8)
def _lookup_statement(persons: bool, bands: bool, inst: bool):
    """The UNION ALL of the look-ups, built once per shape with bound parameters (the statement cache
    then compiles it once: building and compiling it again for every report cost more than running it)."""
    key, me = ReportMatchKey, bindparam("me")

    def branch(kind: str, values, limit: int):
        return _limited(select(key.report_id, null().label("item_code"))
                        .where(key.kind == kind, key.key.in_(values), key.report_id != me)
                        .order_by(key.report_id.desc()).limit(limit), kind)

    mine = aliased(ReportMatchKey)  # the reporter keys intake wrote for this report
    parts = [branch("reporter", select(mine.key).where(mine.kind == "reporter", mine.report_id == me), PER_KEY)]
    if persons:
        parts.append(branch("person", bindparam("persons", expanding=True), PER_KEY * 4))
    if bands:
        parts.append(branch("band", bindparam("bands", expanding=True), BAND_CANDIDATES))
    if inst:  # the newest reports about the institution in the same area, then those inside the window
        newest = (select(key.report_id).where(key.kind == "instarea", key.key == bindparam("instarea"), key.report_id != me)
                  .order_by(key.report_id.desc()).limit(PER_KEY).subquery())
        parts.append(select(newest.c.report_id, literal("inst").label("kind"), Case.item_code.label("item_code"))
                     .join(Report, Report.id == newest.c.report_id)
                     .join(CaseReport, CaseReport.report_id == newest.c.report_id).join(Case, Case.id == CaseReport.case_id)
                     .where(Report.received_at >= bindparam("since"), Report.received_at <= bindparam("until")))
    return union_all(*parts)


def _lookups(policy: RelatedPolicy, case: Case, report: Report, keys):
    sig, persons, inst = keys
    with_inst = bool(inst) and case.area is not None
    params: dict = {"me": report.id}
    if persons:
        params["persons"] = persons
    if sig is not None:
        params["bands"] = band_keys(sig)
    if with_inst:
        window = timedelta(days=policy.window_days)
        params.update(instarea=area_key(case.area, inst), since=report.received_at - window,
                      until=report.received_at + window)
    return _lookup_statement(bool(persons), sig is not None, with_inst), params


def find_related(session: Session, policy: RelatedPolicy, case: Case, report: Report,
                 keys: tuple[np.ndarray | None, list[str], str], batch=None) -> dict[int, Found]:
    """The cases that hold reports related to `report`, by case id (never `case` itself): one statement
    of bounded, indexed look-ups (a UNION ALL), then one for what the hits are (institution, signature,
    the case that holds them). With `batch` (a routing batch's look-ups, made together beforehand) no
    look-up statement: the same rows are taken from what the batch read."""
    if batch is not None:
        found_by, details = batch.lookups(case, report, keys)
    else:
        statement, params = _lookups(policy, case, report, keys)
        found_by = session.execute(statement, params).all()
        if not found_by:
            return {}
        ids = list({rid for rid, _kind, _item in found_by})
        details = {rid: (institution_key(name), blob, case_id, status) for rid, name, blob, case_id, status in
                   session.execute(
            select(Report.id, Report.accused_institution, ReportSignature.signature, Case.id, Case.status)
            .join(CaseReport, CaseReport.report_id == Report.id).join(Case, Case.id == CaseReport.case_id)
            .outerjoin(ReportSignature, ReportSignature.report_id == Report.id)
            .where(Report.id.in_(ids), Case.id != case.id))}
    return _found(session, policy, case, report, keys, found_by, details)


def _found(session: Session, policy: RelatedPolicy, case: Case, report: Report, keys, found_by,
           details: dict) -> dict[int, Found]:
    """find_related's outcome from the look-ups' rows (other report id, kind, item of the case holding it
    for "inst") and what the hits are (other report id -> institution key, signature, holder case, status)."""
    sig, _persons, inst = keys
    if not found_by:
        return {}
    sims = _similarities(sig, found_by, details)
    hits: dict[int, dict[str, float]] = {}  # other report id -> reason -> similarity
    for rid, kind, item in found_by:
        if rid not in details:
            continue
        other_inst, blob, _case_id, _status = details[rid]
        if kind == "person" and (not inst or not other_inst or other_inst == inst):
            hits.setdefault(rid, {})["same_person"] = 0.0
        elif kind == "inst":
            hits.setdefault(rid, {})["same_institution_item" if item == case.item_code else "same_institution_area"] = 0.0
        elif kind == "reporter":
            hits.setdefault(rid, {})["same_reporter"] = 0.0
        elif kind == "band" and blob is not None and sig is not None:
            sim = sims[rid]
            if sim >= policy.near_duplicate and not (inst and other_inst and other_inst != inst):
                hits.setdefault(rid, {})["near_duplicate"] = sim  # the same words about another institution: no
    if not hits:
        return {}
    _exact_for_repeats(session, report, hits)
    holders = [(rid, details[rid][2], details[rid][3]) for rid in hits]
    found: dict[int, Found] = {}
    for rid, case_id, status in holders:
        entry = found.setdefault(case_id, Found(case_id, status))
        for reason, sim in hits[rid].items():
            entry.reasons.add(reason)
            entry.similarity = max(entry.similarity, sim)
    return found


def _similarities(sig: np.ndarray | None, found_by, details: dict) -> dict[int, float]:
    """similarity() of `sig` and every band hit's signature, as one array operation (the same values)."""
    ids = [rid for rid in dict.fromkeys(rid for rid, kind, _item in found_by if kind == "band")
           if rid in details and details[rid][1] is not None]
    if sig is None or not ids:
        return {}
    blobs = [details[rid][1] for rid in ids]
    if any(len(blob) != NUM_PERM * 4 for blob in blobs):
        return {rid: similarity(sig, _signature_of(blob)) for rid, blob in zip(ids, blobs)}
    matrix = np.frombuffer(b"".join(blobs), dtype="<u4").reshape(len(ids), NUM_PERM)
    return dict(zip(ids, (matrix == sig).mean(axis=1).tolist()))


def jaccard(a: str | None, b: str | None) -> float:
    """The exact Jaccard similarity of two texts' shingles."""
    x, y = set(shingles(a)), set(shingles(b))
    return len(x & y) / len(x | y) if x and y else 0.0


def _exact_for_repeats(session: Session, report: Report, hits: dict[int, dict[str, float]]) -> None:
    """For a possible repeat (same reporter, near-duplicate: a few reports at most) the MinHash estimate
    is replaced by the exact similarity, so that "near-exact" does not depend on the estimate's noise."""
    ids = [rid for rid, reasons in hits.items() if {"same_reporter", "near_duplicate"} <= set(reasons)]
    if ids:
        for rid, text in session.execute(select(Report.id, Report.text).where(Report.id.in_(ids))):
            hits[rid]["near_duplicate"] = jaccard(report.text, text)


def repeat_target(session: Session, policy: RelatedPolicy, case: Case, found: dict[int, Found]) -> Case | None:
    """The open case this report repeats (same reporter, near-exact text), unless a wall forbids it."""
    best = sorted((f for f in found.values() if "same_reporter" in f.reasons and "near_duplicate" in f.reasons
                   and f.similarity >= policy.repeat and f.status in OPEN_STATUSES),
                  key=lambda f: (-f.similarity, f.case_id))
    walls = excluded_units(session, case) if best else set()
    for f in best:
        target = session.get(Case, f.case_id)
        if not walls & ({target.lead_unit} | set(target.assist_units)):
            return target
    return None


def register_repeat(session: Session, case: Case, report: Report, target: Case) -> None:
    """重复件: the report joins the open case `target`; its own case row is closed as merged into it."""
    session.add(CaseReport(case_id=target.id, report_id=report.id))
    session.add(CaseRepeat(case_id=target.id, report_id=report.id))
    carry(session, case, target)  # the walls go with the report
    _recuse_leftover(session, case, report, target)
    case.status, case.merged_into_id = "merged", target.id
    case.routing_reason = f"重复件：同一举报人就同一事项再次举报，登记在 {target.report.reference}。"[:500]
    target.updated_at = utcnow()
    session.flush()
    record(session, "case.repeat_registered", actor="system", case_id=target.id, report_id=report.id,
           repeat_case_id=case.id)
    sync_public_status(session, target)


def _recuse_leftover(session: Session, case: Case, report: Report, target: Case) -> None:
    """The repeat's own case row stays behind as merged, without a CaseReport of its own (so the ORM
    events of casework.recusal never scan it): whoever the report names, and whoever may not see the
    case it joins, is kept off that row too (its title and routing note would tell them)."""
    session.flush()
    run_pending(session)  # the target's own scan, if a batch deferred it (casework.opening)
    scan_reports(session, {(case.id, report.id)})
    recuse_like(session, case.id, target.id)


def on_arrival(session: Session, policy: RelatedPolicy, case: Case, report: Report) -> Case | None:
    """Index the report, record its related cases, or register it as a repeat. Returns the case it was
    registered on as a repeat (the caller then adds no CaseReport of its own), else None."""
    target, rows = _arrive(session, policy, case, report)
    if rows:
        session.execute(insert(RelatedCandidate.__table__), rows)
    return target


def _arrive(session: Session, policy: RelatedPolicy, case: Case, report: Report) -> tuple[Case | None, list[dict]]:
    """on_arrival without writing the candidates: the repeat target (registered) or None, the candidate rows."""
    keys = index_report(session, report, case.area)
    found = find_related(session, policy, case, report, keys)
    target = repeat_target(session, policy, case, found)
    if target is not None:
        register_repeat(session, case, report, target)
        return target, []
    return None, candidate_rows(case.id, found)


def candidate_rows(case_id: int, found: dict[int, Found]) -> list[dict]:
    """The related_candidates rows of `case_id` for what find_related found, in case order."""
    now = utcnow()
    return [{"case_id": case_id, "other_case_id": f.case_id, "reasons": f.ordered_reasons(), "score": f.score,
             "created_at": now} for f in sorted(found.values(), key=lambda f: f.case_id)]
