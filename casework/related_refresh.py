"""Related reports found again after a person corrects a case's routing. The institution keys of the
look-up on arrival carry the area ("instarea"), and whether two reports about one institution share an
item or only an area depends on the case's item: a correction can make both wrong. So the case's
reports get their area keys afresh and the case's candidates (both directions) are found again with the
same bounded look-ups as on arrival. Repeats (重复件) are not re-decided: a correction does not move
a report that already has its case."""
from __future__ import annotations

from sqlalchemy import delete, insert, or_, select
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


def refresh_candidates(session: Session, policy: RelatedPolicy, case: Case) -> int:
    """Find the related cases of `case` again after its routing changed; returns how many are stored."""
    _rekey_areas(session, case)
    session.execute(delete(RelatedCandidate).where(or_(RelatedCandidate.case_id == case.id,
                                                       RelatedCandidate.other_case_id == case.id)))
    report = case.report
    keys = (signature(report.text), person_keys(report.accused_name), institution_key(report.accused_institution))
    found = find_related(session, policy, case, report, keys)
    if found:
        now = utcnow()
        session.execute(insert(RelatedCandidate.__table__), [
            {"case_id": case.id, "other_case_id": f.case_id, "reasons": f.ordered_reasons(), "score": f.score,
             "created_at": now} for f in sorted(found.values(), key=lambda f: f.case_id)])
    return len(found)
