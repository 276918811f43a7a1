"""Related reports found again after a person corrects a case's routing, or merges a case into it. The
institution keys of the look-up on arrival carry the area ("instarea"), and whether two reports about one
institution share an item or only an area depends on the case's item: a correction can make both wrong,
and a merge brings reports whose relations were recorded for the case they left. So the case's reports get
their area keys afresh and the case's candidates (both directions) are found again with the same bounded
look-ups as on arrival, from every report the case holds. Repeats (重复件) are not re-decided: a
correction does not move a report that already has its case."""
from __future__ import annotations

import logging

from sqlalchemy import delete, insert, or_, select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from casework.models import Case, CaseReport
from casework.related import RelatedPolicy, area_key, candidate_rows, find_related, institution_key, report_keys
from casework.related_models import RelatedCandidate
from intake.match_keys import ReportMatchKey
from intake.models import Report

log = logging.getLogger(__name__)
MAX_REPORTS = 50  # a case that gathered more reports than this looks again from its first and newest ones


def _rekey_areas(session: Session, case: Case) -> list[int]:
    """The case's reports' "instarea" keys under the case's (new) area; returns the reports' ids in order."""
    reports = session.execute(select(Report.id, Report.accused_institution)
                              .join(CaseReport, CaseReport.report_id == Report.id)
                              .where(CaseReport.case_id == case.id).order_by(Report.id)).all()
    ids = [rid for rid, _inst in reports]
    if not ids:
        return ids
    session.execute(delete(ReportMatchKey).where(ReportMatchKey.kind == "instarea", ReportMatchKey.report_id.in_(ids)))
    rows = [{"kind": "instarea", "key": area_key(case.area, inst), "report_id": rid}
            for rid, inst in ((rid, institution_key(name)) for rid, name in reports) if inst and case.area]
    if rows:
        session.execute(insert(ReportMatchKey.__table__), rows)
    return ids


def _looked_up(session: Session, case: Case, ids: list[int]) -> list[Report]:
    if len(ids) > MAX_REPORTS:
        ids = ids[:1] + ids[-(MAX_REPORTS - 1):]
    return list(session.scalars(select(Report).where(Report.id.in_(ids)).order_by(Report.id))) if ids else [case.report]


def refresh_candidates(session: Session, policy: RelatedPolicy, case: Case) -> int:
    """Find the related cases of `case` again after its routing or its reports changed; returns how many
    are stored."""
    ids = _rekey_areas(session, case)
    session.execute(delete(RelatedCandidate).where(or_(RelatedCandidate.case_id == case.id,
                                                       RelatedCandidate.other_case_id == case.id)))
    found: dict = {}
    for report in _looked_up(session, case, ids):  # every report the case holds, as each was looked up on arrival
        for case_id, hit in find_related(session, policy, case, report, report_keys(report)).items():
            if case_id in found:
                found[case_id].reasons |= hit.reasons
                found[case_id].similarity = max(found[case_id].similarity, hit.similarity)
            else:
                found[case_id] = hit
    if found:
        session.execute(insert(RelatedCandidate.__table__), candidate_rows(case.id, found))
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
