"""Related reports found again after a person corrects a case's routing. The institution keys of the
look-up on arrival carry the area ("instarea"), and whether two reports about one institution share an
item or only an area depends on the case's item: a correction can make both wrong. So the case's
reports get their area keys afresh and the case's candidates (both directions) are found again with the
same bounded look-ups as on arrival, from every report the case holds. A merge asks for the same, so
the case a report was merged into shows what that report was related to. Repeats (重复件) are not re-decided: a correction does not move
a report that already has its case."""
from __future__ import annotations

import logging

from sqlalchemy import delete, insert, or_, select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from casework.models import Case, CaseReport
from casework.related import RelatedPolicy, area_key, find_related, institution_key, person_keys, signature
from casework.related_models import RelatedCandidate
from core.db import utcnow
from intake.match_keys import ReportMatchKey
from intake.models import Report


def _rekey_areas(session: Session, case: Case) -> None:
    """The case's reports' "instarea" keys under the case's (new) area."""
    reports = session.execute(select(Report.id, Report.accused_institution)
                              .join(CaseReport, CaseReport.report_id == Report.id)
                              .where(CaseReport.case_id == case.id)).all()
    ids = [rid for rid, _inst in reports]
    if not ids:
        return
    session.execute(delete(ReportMatchKey).where(ReportMatchKey.kind == "instarea", ReportMatchKey.report_id.in_(ids)))
    rows = [{"kind": "instarea", "key": area_key(case.area, inst), "report_id": rid}
            for rid, inst in ((rid, institution_key(name)) for rid, name in reports) if inst and case.area]
    if rows:
        session.execute(insert(ReportMatchKey.__table__), rows)


log = logging.getLogger(__name__)
MAX_REPORTS = 50  # a case that gathered more reports than this looks again from its first and newest ones


def _reports_of(session: Session, case: Case) -> list[Report]:
    ids = list(session.scalars(select(CaseReport.report_id).where(CaseReport.case_id == case.id)
                               .order_by(CaseReport.report_id)))
    if len(ids) > MAX_REPORTS:
        ids = ids[:1] + ids[-(MAX_REPORTS - 1):]
    return list(session.scalars(select(Report).where(Report.id.in_(ids)).order_by(Report.id))) if ids else [case.report]


def refresh_candidates(session: Session, policy: RelatedPolicy, case: Case) -> int:
    """Find the related cases of `case` again after its routing changed; returns how many are stored."""
    _rekey_areas(session, case)
    session.execute(delete(RelatedCandidate).where(or_(RelatedCandidate.case_id == case.id,
                                                       RelatedCandidate.other_case_id == case.id)))
    found: dict = {}
    for report in _reports_of(session, case):  # every report the case holds, as each was looked up on arrival
        keys = (signature(report.text), person_keys(report.accused_name), institution_key(report.accused_institution))
        for case_id, hit in find_related(session, policy, case, report, keys).items():
            if case_id in found:
                found[case_id].reasons |= hit.reasons
                found[case_id].similarity = max(found[case_id].similarity, hit.similarity)
            else:
                found[case_id] = hit
    if found:
        now = utcnow()
        session.execute(insert(RelatedCandidate.__table__), [
            {"case_id": case.id, "other_case_id": f.case_id, "reasons": f.ordered_reasons(), "score": f.score,
             "created_at": now} for f in sorted(found.values(), key=lambda f: f.case_id)])
    return len(found)


def refresh_quietly(session: Session, policy: RelatedPolicy | None, case: Case) -> None:
    """refresh_candidates in a savepoint: the correction or merge that asked for it stands even if it fails
    (a lost connection is still raised)."""
    try:
        with session.begin_nested():
            refresh_candidates(session, policy or RelatedPolicy(), case)
    except (OperationalError, InterfaceError):
        raise
    except Exception:
        log.exception("related reports of case %s could not be found again", case.id)
