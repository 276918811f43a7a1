"""Related reports for a whole routing batch (issue 18, casework.opening's batch): every look-up key of the
batch read in one statement (PostgreSQL) or a few (SQLite), each report then resolved in arrival order with
the outcomes one-by-one routing (casework.related.on_arrival) would give, and the batch's index rows,
signatures and candidates written with one statement each."""
from __future__ import annotations

from datetime import timedelta

import numpy as np
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from casework.models import Case, CaseReport
from casework.related import (
    BAND_CANDIDATES,
    PER_KEY,
    RelatedPolicy,
    area_key,
    band_keys,
    candidate_rows,
    find_related,
    index_rows,
    institution_key,
    register_repeat,
    repeat_target,
    report_keys,
)
from casework.related_models import RelatedCandidate, ReportSignature
from intake.match_keys import ReportMatchKey
from intake.models import Report

LIMITS = {"reporter": PER_KEY, "person": PER_KEY * 4, "band": BAND_CANDIDATES, "instarea": PER_KEY}
LOOKUP_CHUNK = 400  # keys per statement on SQLite (at most 500 terms in a compound SELECT)
DETAILS_CHUNK = 2000


def _newest_per_key(session: Session, wanted: dict[tuple[str, str], int]) -> dict[tuple[str, str], list[int]]:
    """For every (kind, key), the report ids of its newest `limit` rows: on PostgreSQL one statement for all
    of them (a LATERAL look-up per key), on SQLite one per LOOKUP_CHUNK keys (a UNION ALL)."""
    items = list(wanted.items())
    out: dict[tuple[str, str], list[int]] = {k: [] for k, _limit in items}
    if not items:
        return out
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(text(
            "SELECT k.i, m.report_id FROM unnest(CAST(:kinds AS text[]), CAST(:keys AS text[]), CAST(:lims AS int[])) "
            "WITH ORDINALITY AS k(kind, key, lim, i) CROSS JOIN LATERAL (SELECT r.report_id FROM report_match_keys r "
            "WHERE r.kind = k.kind AND r.key = k.key ORDER BY r.report_id DESC LIMIT k.lim) m"),
            {"kinds": [k for (k, _v), _n in items], "keys": [v for (_k, v), _n in items],
             "lims": [n for _k, n in items]})
        for i, rid in rows:
            out[items[i - 1][0]].append(rid)
        return out
    connection = session.connection()
    for at in range(0, len(items), LOOKUP_CHUNK):
        chunk = items[at:at + LOOKUP_CHUNK]
        sql = " UNION ALL ".join(f"SELECT {n}, report_id FROM (SELECT report_id FROM report_match_keys WHERE kind = ? "
                                 f"AND key = ? ORDER BY report_id DESC LIMIT {int(limit)})"
                                 for n, (_key, limit) in enumerate(chunk))
        params = tuple(part for (kind, key), _limit in chunk for part in (kind, key))
        for n, rid in connection.exec_driver_sql(sql, params):
            out[chunk[n][0]].append(rid)
    return out


class BatchLookup:
    """The look-ups of a routing batch, read together before the batch is indexed: every key's newest rows
    (one statement on PostgreSQL), what the reports found are (one statement per DETAILS_CHUNK). For the
    batch's i-th report, `lookups` adds the rows of the reports the batch routed before it and leaves out
    its own, and a report of the batch is held by the case `held` gave it: the rows and details one-by-one
    routing's find_related reads at that point."""

    def __init__(self, session: Session, policy: RelatedPolicy, arrivals: list[tuple[Case, Report]], keys: list):
        self.policy = policy
        self.position = {report.id: i for i, (_case, report) in enumerate(arrivals)}
        self.keys = {report.id: k for (_case, report), k in zip(arrivals, keys)}
        self.reports = {report.id: report for _case, report in arrivals}
        self.holder: dict[int, Case] = {}
        reporter: dict[int, list[str]] = {rid: [] for rid in self.position}
        for rid, key in session.execute(select(ReportMatchKey.report_id, ReportMatchKey.key).where(
                ReportMatchKey.kind == "reporter", ReportMatchKey.report_id.in_(list(self.position)))):
            reporter[rid].append(key)
        self.index: list[dict] = []   # the batch's own index rows, written by on_arrival_batch
        self.looked_up: dict[int, list[tuple[str, str]]] = {}   # report id -> its (kind, key) look-ups
        wanted: dict[tuple[str, str], int] = {}
        own: dict[tuple[str, str], list[int]] = {}  # the batch's own index rows by key: their positions
        for i, ((case, report), (sig, persons, inst)) in enumerate(zip(arrivals, keys)):
            bands = band_keys(sig) if sig is not None else []
            mine = [("reporter", k) for k in reporter[report.id]] + [("person", k) for k in persons]
            mine += [("band", k) for k in bands]
            mine += [("instarea", area_key(case.area, inst))] if inst and case.area is not None else []
            self.looked_up[report.id] = mine
            for kind, key in mine:
                wanted[(kind, key)] = LIMITS[kind] + (1 if kind == "reporter" else 0)  # +1: itself, left out later
            rows = index_rows(report, case.area, (sig, persons, inst), bands)
            self.index += rows
            for row in rows:
                own.setdefault((row["kind"], row["key"]), []).append(i)
        found = _newest_per_key(session, wanted)
        self.rows: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        for key, rids in found.items():
            mine = own.get(key, [])
            ids = np.array(rids + [arrivals[i][1].id for i in mine], dtype=np.int64)
            pos = np.array([-1] * len(rids) + mine, dtype=np.int64)
            self.rows[key] = ids, pos
        others = sorted({rid for rids in found.values() for rid in rids if rid not in self.position})
        self.details: dict[int, tuple] = {}
        for at in range(0, len(others), DETAILS_CHUNK):
            for rid, name, received, blob, case_id, status, item in session.execute(
                    select(Report.id, Report.accused_institution, Report.received_at, ReportSignature.signature,
                           Case.id, Case.status, Case.item_code)
                    .join(CaseReport, CaseReport.report_id == Report.id).join(Case, Case.id == CaseReport.case_id)
                    .outerjoin(ReportSignature, ReportSignature.report_id == Report.id)
                    .where(Report.id.in_(others[at:at + DETAILS_CHUNK]))):
                self.details[rid] = (institution_key(name), blob, case_id, status, received, item)

    def held(self, report: Report, case: Case) -> None:
        """The report of the batch is now held by `case` (its own, or the one it repeats)."""
        self.holder[report.id] = case

    def _detail(self, rid: int) -> tuple | None:
        if rid not in self.position:
            return self.details.get(rid)
        case = self.holder.get(rid)
        if case is None:   # routed after the report looked up (or not yet held): not found, as one by one
            return None
        sig, _persons, inst = self.keys[rid]
        return (inst, None if sig is None else sig.tobytes(), case.id, case.status,
                self.reports[rid].received_at, case.item_code)

    def lookups(self, case: Case, report: Report, keys) -> tuple[list, dict]:
        """find_related's look-up rows and details for one report of the batch (in the batch's order)."""
        me, i = report.id, self.position[report.id]
        by_kind: dict[str, list[np.ndarray]] = {}
        for kind, key in self.looked_up[me]:
            ids, pos = self.rows[(kind, key)]
            by_kind.setdefault(kind, []).append(ids[ids != me] if kind == "reporter" else ids[pos < i])
        found_by, details = [], {}
        for kind in ("reporter", "person", "band", "instarea"):
            if kind not in by_kind:
                continue
            ids, limit = np.concatenate(by_kind[kind]), LIMITS[kind]
            if len(ids) > limit:   # the newest `limit` rows (the limit counts rows, as the SQL's LIMIT)
                ids = -np.partition(-ids, limit - 1)[:limit]
            newest = np.unique(ids).tolist()
            for rid in newest:
                detail = self._detail(rid)
                if kind == "instarea":
                    if detail is None or not self._in_window(report, detail[4]):
                        continue
                    found_by.append((rid, "inst", detail[5]))
                else:
                    found_by.append((rid, kind, None))
                if detail is not None and detail[2] != case.id:
                    details[rid] = detail[:4]
        return found_by, details

    def _in_window(self, report: Report, received) -> bool:
        window = timedelta(days=self.policy.window_days)
        return report.received_at - window <= received <= report.received_at + window


def _insert_many(session: Session, table: str, columns: tuple[str, ...], pg_types: tuple[str, ...],
                 rows: list[tuple]) -> None:
    """Plain rows into a table that no ORM event watches, with the least work per row: one INSERT ... SELECT
    FROM unnest(arrays) on PostgreSQL, the driver's executemany on SQLite."""
    if not rows:
        return
    names = ", ".join(columns)
    if session.get_bind().dialect.name == "postgresql":
        arrays = ", ".join(f"CAST(:c{n} AS {t}[])" for n, t in enumerate(pg_types))
        session.execute(text(f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays})"),
                        {f"c{n}": [row[n] for row in rows] for n in range(len(columns))})
        return
    marks = ", ".join("?" for _c in columns)
    session.connection().exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)


def on_arrival_batch(session: Session, policy: RelatedPolicy, arrivals: list[tuple[Case, Report]],
                     keys: list | None = None) -> list[Case | None]:
    """on_arrival for the cases a routing batch opened, in order, with the outcomes of one-by-one routing: the
    look-ups of the whole batch are read first (BatchLookup), then each report is resolved in order, a report
    that is not a repeat held by its case before the next one (so a later report of the batch finds it); the
    index rows, the signatures and the candidates of the whole batch are written with one statement each.
    The caller defers the scans of the flushes (casework.opening) and wraps it in a savepoint; `keys`: the
    reports' report_keys, if the caller has them already."""
    if not arrivals:
        return []
    keys = keys if keys is not None else [report_keys(report) for _case, report in arrivals]
    batch = BatchLookup(session, policy, arrivals, keys)
    _insert_many(session, "report_signatures", ("report_id", "signature"), ("bigint", "bytea"),
                 [(report.id, k[0].tobytes()) for (_case, report), k in zip(arrivals, keys) if k[0] is not None])
    _insert_many(session, "report_match_keys", ("kind", "key", "report_id"), ("text", "text", "bigint"),
                 [(r["kind"], r["key"], r["report_id"]) for r in batch.index])
    targets, rows = [], []
    for (case, report), k in zip(arrivals, keys):
        found = find_related(session, policy, case, report, k, batch)
        target = repeat_target(session, policy, case, found)
        if target is not None:
            register_repeat(session, case, report, target)
            batch.held(report, target)
        else:
            session.add(CaseReport(case_id=case.id, report_id=report.id))
            batch.held(report, case)
            rows += candidate_rows(case.id, found)
        targets.append(target)
    if rows:
        session.execute(insert(RelatedCandidate.__table__), rows)
    return targets
