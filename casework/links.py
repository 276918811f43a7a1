"""Cases in relation to their routing and to each other: correcting the classification (re-routes
and retrains), linking two cases about the same institution or person, and merging one into another
(线索归集: the reports move, every reporter's receipt keeps working)."""
from __future__ import annotations

import logging

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from casework.deadlines import sync_deadlines
from casework.learned_store import retrain
from casework.models import Case, CaseLink, CaseReport
from casework.opening import UNCHANGED, CorrectionError, accused_of, correct_routing
from casework.recusal import scan_reports
from casework.related import RelatedPolicy
from casework.related_refresh import refresh_quietly
from casework.rules import (
    OPEN_STATUSES,
    TASKFORCE,
    InvalidInput,
    InvalidState,
    NotAllowed,
    UnitExcluded,
    commit_action,
    lock,
    optional_text,
    require_supervisor,
    required_text,
)
from casework.search import index_cases
from casework.walls import carry, excluded_units, route_around
from core.accounts import User
from core.audit import record
from core.db import utcnow
from routing.matrix import units_for_item
from routing.taxonomy import UNITS, Taxonomy

log = logging.getLogger(__name__)


def _new_lead(session: Session, tax: Taxonomy, case: Case, item, lead_unit: str | None) -> str:
    """The lead unit correct_routing will set (to know beforehand whether the handler stays)."""
    if lead_unit is not None:
        return lead_unit
    new_item = case.item_code if item is UNCHANGED else item
    if new_item is None:
        return tax.matrix.triage_unit
    report = case.report
    lead, assist = units_for_item(tax, new_item, title=report.title, text=report.text, accused=accused_of(report))
    return route_around(lead, assist, excluded_units(session, case))[0]


def correct(session: Session, actor: User, case: Case, *, item=UNCHANGED, lead_unit: str | None = None,
            reason: str, tax: Taxonomy, related: RelatedPolicy | None = None) -> Case:
    """Set the item (a code, or None: not about the campaign) and/or the lead unit, with a reason;
    re-routes the case and retrains the learned model. A handler outside the new lead unit is cleared."""
    lock(session, case)
    require_supervisor(session, actor, case)
    if case.status == "merged":
        raise InvalidState("a merged case is not re-routed", status=case.status)
    reason = required_text(reason, 2000, field="reason")
    if item is not UNCHANGED and item is not None and item not in tax.items:
        raise InvalidInput(f"unknown item {item!r}", field="item")
    lead_unit = (lead_unit or "").strip() or None
    if lead_unit is not None and lead_unit not in UNITS:
        raise InvalidInput(f"unknown unit {lead_unit!r}", field="lead_unit")
    if lead_unit is not None and lead_unit in excluded_units(session, case):
        raise UnitExcluded("the case accuses the leadership of that unit", field="lead_unit", unit=lead_unit)
    new_lead = _new_lead(session, tax, case, item, lead_unit)
    old_item, old_lead, old_handler = case.item_code, case.lead_unit, case.handler_id
    if old_handler is not None:
        handler = session.get(User, old_handler)
        if handler is None or handler.unit_code not in (new_lead, TASKFORCE):
            case.handler_id = None
    record(session, "case.corrected", actor=actor, case_id=case.id, report_id=case.report_id, reason=reason,
           old_item=old_item, new_item=old_item if item is UNCHANGED else item, old_lead=old_lead, new_lead=new_lead,
           handler_cleared=old_handler is not None and case.handler_id is None)
    try:  # commits the correction, the re-routed case and the audit event together
        correct_routing(session, tax, case, reason=reason, by=actor.label(), item=item, lead_unit=lead_unit,
                        by_user_id=actor.id, related=related)
    except CorrectionError as exc:
        session.rollback()
        raise InvalidInput(str(exc)) from exc
    try:
        retrain(session)
    except Exception:  # the correction stands; the model is trained again on the next one
        log.exception("retraining after the correction of case %s failed", case.id)
        session.rollback()
    return case


def _already_linked(session: Session, a: Case, b: Case) -> bool:
    return session.scalar(select(CaseLink.id).where(or_(
        (CaseLink.case_id == a.id) & (CaseLink.other_id == b.id),
        (CaseLink.case_id == b.id) & (CaseLink.other_id == a.id)))) is not None


def _two_cases(session: Session, actor: User, case: Case, other: Case | None) -> None:
    if other is None:
        raise InvalidInput("the other case is required", field="other")
    if other.id == case.id:
        raise InvalidInput("a case cannot be linked or merged with itself", field="other")
    for c in sorted((case, other), key=lambda c: c.id):  # a fixed order: no deadlock between two mergers
        lock(session, c)
    if actor.role not in ("coordinator", "admin", "unit_head"):
        raise NotAllowed("only a unit head or the task force links and merges cases")
    require_supervisor(session, actor, case)
    require_supervisor(session, actor, other)  # an assisting unit may not change another unit's case
    if "merged" in (case.status, other.status):
        raise InvalidState("a merged case cannot be linked or merged", status="merged")


def link(session: Session, actor: User, case: Case, other: Case, note: str = "") -> CaseLink:
    """Two cases about the same institution or person, worked separately; each timeline shows it."""
    _two_cases(session, actor, case, other)
    note = optional_text(note, 300, line=True, field="note")
    if _already_linked(session, case, other):
        raise InvalidState("the cases are already linked", status=case.status)
    row = CaseLink(case_id=case.id, other_id=other.id, note=note)
    session.add(row)
    session.flush()
    record(session, "case.linked", actor=actor, case_id=other.id, report_id=other.report_id, link_id=row.id,
           other_case_id=case.id, reason=note)
    commit_action(session, "case.linked", actor, case, link_id=row.id, other_case_id=other.id, reason=note)
    return row


def merge(session: Session, actor: User, case: Case, into: Case) -> Case:
    """Move every report of `case` to `into`; `case` becomes "merged". Each reporter's receipt still
    finds their report, whose public status now follows `into`."""
    _two_cases(session, actor, case, into)
    if into.status not in OPEN_STATUSES:
        raise InvalidState("merge only into a case that is still being worked", status=into.status)
    walled = excluded_units(session, case) & ({into.lead_unit} | set(into.assist_units))
    if walled:  # 防止"灯下黑": the reports would reach a unit whose leadership they accuse
        raise UnitExcluded("the case accuses the leadership of a unit that works the other case",
                           field="into", unit=sorted(walled)[0])
    moved = list(session.scalars(select(CaseReport.report_id).where(CaseReport.case_id == case.id)))
    session.execute(update(CaseReport).where(CaseReport.case_id == case.id).values(case_id=into.id)
                    .execution_options(synchronize_session="fetch"))
    carry(session, case, into)  # the walls go with the reports
    scan_reports(session, {(into.id, report_id) for report_id in moved})  # people they name: off `into`
    case.status, case.merged_into_id, case.updated_at = "merged", into.id, utcnow()
    session.flush()
    index_cases(session, (case.id, into.id))  # the search finds the moved reports on `into` only
    refresh_quietly(session, None, into)  # what the moved reports were related to now shows on `into`
    sync_deadlines(session, case)  # the merged case's clocks end; `into` is synced by commit_action
    record(session, "case.merged", actor=actor, case_id=case.id, report_id=case.report_id, into_case_id=into.id,
           reports_moved=moved)
    commit_action(session, "case.merged", actor, into, from_case_id=case.id, reports_moved=moved)
    return case
