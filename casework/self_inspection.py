"""自查自纠: a unit head records what an institution found in its own self-inspection. It enters like
every report (channel "self", through intake's one submit path) and commits together with its
case — already in progress, led by the unit — and its Attachment 3 ledger row. The routing
subscriber that hears of the report afterwards finds the case and leaves it alone."""
from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from sqlalchemy.orm import Session

from casework.deadlines import sync_deadlines
from casework.ledger_entries import INSTITUTION_FIELDS, ledger_values
from casework.models import Case, CaseReport, CaseUnit, LedgerInstitution, NegativeListItem
from casework.rules import InvalidInput, MissingInput, NotAllowed, sync_public_status
from core.accounts import User
from core.audit import record
from core.db import utcnow
from core.localtime import local_today
from intake.errors import ValidationFailed
from intake.submit import IntakeContext, submit_report
from intake.validate import ReportInput

HOW_FOUND = "自查自纠"


def _report_text(institution: str, item: NegativeListItem, manifestation: str, measures: str) -> str:
    lines = [f"{HOW_FOUND}：{institution}", f"负面清单条目：{item.code} {item.title}", f"问题表现：{manifestation}"]
    if measures:
        lines.append(f"整治措施：{measures}")
    return "\n".join(lines)


def record_self_inspection(session: Session, ctx: IntakeContext, actor: User, *, institution: str, item_code: str,
                           manifestation: str, measures: str = "", found_on: date, supervising_dept: str = "",
                           handling_opinion: str = "", policy_basis: str = "", responsible_person: str = "",
                           phone: str = "", rectified: bool = False, rectified_on: date | None = None) -> Case:
    """Create the report, its case (lead: the actor's unit, in progress) and its ledger row at once."""
    if actor.role != "unit_head" or not actor.active:
        raise NotAllowed("only a unit head records self-inspection findings")
    fields = {"name": institution, "item_code": item_code, "manifestation": manifestation, "measures": measures,
              "found_on": found_on, "supervising_dept": supervising_dept, "handling_opinion": handling_opinion,
              "policy_basis": policy_basis, "responsible_person": responsible_person, "phone": phone,
              "rectified": rectified, "rectified_on": rectified_on, "how_found": HOW_FOUND}
    values = ledger_values(session, SimpleNamespace(how_found="self_inspection"), fields, INSTITUTION_FIELDS, 200)
    if not values["manifestation"]:
        raise MissingInput("the problem found is required", field="manifestation")
    if values["found_on"] is None:
        raise MissingInput("the date it was found is required", field="found_on")
    item = session.get(NegativeListItem, values["item_code"])
    lead = actor.unit_code
    made: dict[str, Case] = {}

    def open_case(report, _receipt) -> None:
        case = Case(report_id=report.id, status="in_progress", item_code=item.code, area=item.area, lead_unit=lead,
                    in_scope=True, routing_reason=f"self-inspection recorded by {actor.label()}"[:500],
                    how_found="self_inspection", accepted_at=utcnow(), handling_from=local_today())
        case.units.append(CaseUnit(unit_code=lead, role="lead"))
        session.add(case)
        session.flush()
        session.add(CaseReport(case_id=case.id, report_id=report.id))
        row = LedgerInstitution(case_id=case.id, unit_code=lead, **values)
        session.add(row)
        session.flush()
        sync_public_status(session, case)
        sync_deadlines(session, case)
        record(session, "case.self_inspection_recorded", actor=actor, case_id=case.id, report_id=report.id,
               ledger_row_id=row.id, item_code=item.code, found_on=values["found_on"].isoformat())
        made["case"] = case

    data = ReportInput(text=_report_text(values["name"], item, values["manifestation"], values["measures"]),
                       title=f"{HOW_FOUND}：{values['name']}"[:200], accused_institution=values["name"],
                       occurred=values["found_on"].isoformat(), anonymous=True, channel="self",
                       received_by=lead, received_via=HOW_FOUND)
    try:
        submit_report(session, ctx, data, before_commit=open_case)
    except ValidationFailed as exc:
        raise InvalidInput(f"the record was refused: {', '.join(sorted(exc.errors))}") from exc
    return made["case"]
