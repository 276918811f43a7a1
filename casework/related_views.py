"""Related reports as people see them: the related cases of a case (only those the viewer may see, access
and recusal applied, so "same reporter as XLT-…" is said only to someone who may see both cases), the
command line's list, and 多人反映 — persons and institutions named in reports from several distinct
reporters in the window (a report without a reporter key counts as a reporter of its own)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, cast, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from casework.access import visible_case_ids_clause, visible_clause
from casework.models import Case, CaseLink, CaseReport
from casework.related import REASONS, RelatedPolicy
from casework.related_models import CaseRepeat, RelatedCandidate
from core.accounts import User
from core.audit import latest_per_case
from intake.match_keys import ReportMatchKey
from intake.models import Report


@dataclass
class Related:
    case: Case
    reference: str
    title: str
    reasons: list[str]
    score: float
    linked: bool = False


def _pairs(session: Session, case: Case) -> dict[int, tuple[list[str], float]]:
    rows = session.execute(select(RelatedCandidate.case_id, RelatedCandidate.other_case_id, RelatedCandidate.reasons,
                                  RelatedCandidate.score)
                           .where(or_(RelatedCandidate.case_id == case.id, RelatedCandidate.other_case_id == case.id)))
    out: dict[int, tuple[list[str], float]] = {}
    for a, b, reasons, score in rows:
        other = b if a == case.id else a
        old_reasons, old_score = out.get(other, ([], 0.0))
        merged = set(old_reasons) | set(reasons or [])
        out[other] = ([r for r in REASONS if r in merged], max(old_score, float(score)))
    return out


def _linked(session: Session, case: Case) -> set[int]:
    rows = session.execute(select(CaseLink.case_id, CaseLink.other_id)
                           .where(or_(CaseLink.case_id == case.id, CaseLink.other_id == case.id))).all()
    return {b if a == case.id else a for a, b in rows}


def related_cases(session: Session, case: Case, user: User | None = None, limit: int = 20) -> list[Related]:
    """The cases related to `case`, best first: with a user, only those the user may see; without one
    (the command line), all. A merged case is left out (its reports are on the case it went into)."""
    pairs = _pairs(session, case)
    if not pairs:
        return []
    query = (select(Case, Report.reference, Report.title).join(Report, Report.id == Case.report_id)
             .where(Case.id.in_(list(pairs)), Case.status != "merged"))
    if user is not None:
        query = query.where(visible_clause(session, user))
    linked = _linked(session, case)
    found = [Related(c, reference, title, pairs[c.id][0], pairs[c.id][1], c.id in linked)
             for c, reference, title in session.execute(query).all()]
    found.sort(key=lambda r: (-r.score, r.reference))
    return found[:limit]


@dataclass
class ManyReporters:
    kind: str  # person | inst
    name: str  # the name key (simplified, without spaces or punctuation)
    reporters: int
    cases: list[tuple[str, str, str]]  # (reference, title, status) of the cases the viewer may see


def many_reporters(session: Session, user: User, policy: RelatedPolicy, now: datetime,
                   limit: int = 20) -> list[ManyReporters]:
    """多人反映: persons and institutions named in reports (on cases `user` may see) received in the
    window from at least `policy.many_reporters` distinct reporters, most reporters first."""
    since = now - timedelta(days=policy.window_days)
    own = aliased(ReportMatchKey)
    reporter = func.coalesce(
        select(func.min(own.key)).where(own.report_id == ReportMatchKey.report_id, own.kind == "reporter")
        .correlate(ReportMatchKey).scalar_subquery(),
        literal("r").concat(cast(ReportMatchKey.report_id, String)))
    count = func.count(reporter.distinct())
    named = (select(ReportMatchKey.kind, ReportMatchKey.key, count.label("n"))
             .join(Report, Report.id == ReportMatchKey.report_id)
             .join(CaseReport, CaseReport.report_id == ReportMatchKey.report_id)
             .where(ReportMatchKey.kind.in_(["person", "inst"]), Report.received_at >= since,
                    visible_case_ids_clause(session, user, CaseReport.case_id))
             .group_by(ReportMatchKey.kind, ReportMatchKey.key).having(count >= policy.many_reporters)
             .order_by(count.desc(), ReportMatchKey.key).limit(limit))
    out = []
    first = aliased(Report)
    for kind, key, n in session.execute(named).all():
        cases = session.execute(
            select(first.reference, first.title, Case.status).distinct()
            .select_from(ReportMatchKey).join(Report, Report.id == ReportMatchKey.report_id)
            .join(CaseReport, CaseReport.report_id == ReportMatchKey.report_id)
            .join(Case, Case.id == CaseReport.case_id).join(first, first.id == Case.report_id)
            .where(ReportMatchKey.kind == kind, ReportMatchKey.key == key, Report.received_at >= since,
                   visible_clause(session, user))
            .order_by(first.reference)).all()
        out.append(ManyReporters(kind, key, int(n), [tuple(c) for c in cases]))
    return out


def related_summary(session: Session, user: User, case_ids: list[int], per_case: int = 3) -> dict[int, list[Related]]:
    """The queue's line under each case: its best related cases the user may see (two queries a page)."""
    if not case_ids:
        return {}
    rows = session.execute(select(RelatedCandidate.case_id, RelatedCandidate.other_case_id, RelatedCandidate.reasons,
                                  RelatedCandidate.score)
                           .where(or_(RelatedCandidate.case_id.in_(case_ids), RelatedCandidate.other_case_id.in_(case_ids))))
    wanted = set(case_ids)
    pairs: list[tuple[int, int, list[str], float]] = []
    for a, b, reasons, score in rows:
        if a in wanted:
            pairs.append((a, b, reasons or [], float(score)))
        if b in wanted:
            pairs.append((b, a, reasons or [], float(score)))
    others = {other for _case, other, _r, _s in pairs}
    if not others:
        return {}
    seen = {c.id: (c, reference, title) for c, reference, title in session.execute(
        select(Case, Report.reference, Report.title).join(Report, Report.id == Case.report_id)
        .where(Case.id.in_(others), Case.status != "merged", visible_clause(session, user)))}
    out: dict[int, list[Related]] = {}
    for case_id, other, reasons, score in sorted(pairs, key=lambda p: -p[3]):
        if other in seen and len(out.setdefault(case_id, [])) < per_case:
            c, reference, title = seen[other]
            out[case_id].append(Related(c, reference, title, [r for r in REASONS if r in reasons], score))
    return out


@dataclass
class RepeatSeen:
    report_reference: str
    received_at: datetime
    new: bool  # arrived after this user last opened the case page (or the user never opened it)


def repeats_news(session: Session, user: User, case_ids: list[int]) -> dict[int, tuple[int, int]]:
    """For each of these cases that received repeats (重复件): how many, and how many of them arrived after
    `user` last opened the case page — the queue's badge shows those as new until the user looks."""
    if not case_ids:
        return {}
    rows = session.execute(select(CaseRepeat.case_id, CaseRepeat.created_at)
                           .where(CaseRepeat.case_id.in_(case_ids))).all()
    if not rows:
        return {}
    seen = latest_per_case(session, actor_id=user.id, action="case.viewed", case_ids={c for c, _at in rows})
    out: dict[int, tuple[int, int]] = {}
    for case_id, at in rows:
        total, new = out.get(case_id, (0, 0))
        out[case_id] = (total + 1, new + int(seen.get(case_id) is None or at > seen[case_id]))
    return out


def repeats_on(session: Session, user: User, case: Case) -> list[RepeatSeen]:
    """The repeats registered on `case`, newest first, each marked new when it arrived after `user` last
    opened the case page. Call it before the page records this view."""
    last = latest_per_case(session, actor_id=user.id, action="case.viewed", case_ids=[case.id]).get(case.id)
    rows = session.execute(select(Report.reference, Report.received_at, CaseRepeat.created_at)
                           .join(Report, Report.id == CaseRepeat.report_id)
                           .where(CaseRepeat.case_id == case.id)
                           .order_by(CaseRepeat.created_at.desc(), CaseRepeat.id.desc())).all()
    return [RepeatSeen(reference, received, last is None or at > last) for reference, received, at in rows]
