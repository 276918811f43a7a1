"""复查: the task force reviews a reporter's objection to a result, within its own time limit (the
"review" stage of config/deadlines.toml, with reminders and 督办 like every stage). The reviewer is a
task-force member who never handled the case and is not named in it (casework.access recusal). The
review either reopens the case (back to its lead unit or to another) or upholds the result with a
reply the reporter reads. One objection per report: the same facts are not taken up twice."""
from __future__ import annotations

import logging

from flask import has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.access import is_recused
from casework.assignment import known_unit, move_lead
from casework.deadlines import sync_deadlines
from casework.models import Case, CaseReport
from casework.rules import (
    TASKFORCE,
    InvalidInput,
    InvalidState,
    MissingInput,
    NotAllowed,
    commit_action,
    lock,
    required_text,
)
from core.accounts import User
from core.audit import AuditEvent, record
from core.db import new_session, utcnow
from core.localtime import local_today
from intake.feedback_models import ReportObjection

log = logging.getLogger(__name__)
REVIEWER_ROLES = ("coordinator", "unit_head", "handler")
DECISIONS = ("reopen", "uphold")
NOT_HANDLING = ("case.viewed", "case.review_decided", "case.objection_received", "case.return_call_recorded")


def case_of_report(session: Session, report_id: int) -> Case | None:
    return session.scalar(select(Case).join(CaseReport, CaseReport.case_id == Case.id)
                          .where(CaseReport.report_id == report_id))


def open_objections(session: Session, case: Case) -> list[ReportObjection]:
    return list(session.scalars(select(ReportObjection).join(CaseReport, CaseReport.report_id == ReportObjection.report_id)
                                .where(CaseReport.case_id == case.id, ReportObjection.state == "open")
                                .order_by(ReportObjection.id)))


def handled_by(session: Session, case: Case) -> set[int]:
    """Everyone who worked the case: its handler, everyone ever assigned to it, everyone who acted on it."""
    people = {case.handler_id} if case.handler_id else set()
    for actor_id, action, detail in session.execute(select(AuditEvent.actor_id, AuditEvent.action, AuditEvent.detail)
                                                    .where(AuditEvent.case_id == case.id)):
        if action.startswith("case.") and action not in NOT_HANDLING and actor_id is not None:
            people.add(actor_id)
        if action == "case.assigned" and isinstance(detail, dict) and detail.get("handler_id"):
            people.add(int(detail["handler_id"]))
    return people


def may_review(session: Session, user: User | None, case: Case) -> bool:
    if user is None or not getattr(user, "active", False):
        return False
    if user.unit_code != TASKFORCE or user.role not in REVIEWER_ROLES:
        return False
    return user.id not in handled_by(session, case) and not is_recused(session, user, case)


def decide_review(session: Session, reviewer: User, case: Case, objection: ReportObjection, decision: str,
                  reply: str, unit_code: str = "") -> ReportObjection:
    """Reopen the case (to `unit_code`, default its lead unit) or uphold the result; `reply` is what the
    reporter reads either way."""
    lock(session, case)
    if not may_review(session, reviewer, case):
        raise NotAllowed("only a task-force member who did not handle the case and is not named in it reviews it")
    if objection.state != "open" or case_of_report(session, objection.report_id) is not case:
        raise InvalidState("this objection is not waiting for a review", status=case.status)
    decision = (decision or "").strip()
    if not decision:
        raise MissingInput("a decision is required", field="decision")
    if decision not in DECISIONS:
        raise InvalidInput(f"unknown decision {decision!r}", field="decision")
    reply = required_text(reply, 5000, field="reply")
    objection.reviewer_id, objection.decided_at, objection.reply = reviewer.id, utcnow(), reply
    detail = {}
    if decision == "reopen":
        target = known_unit(session, unit_code) if (unit_code or "").strip() else case.lead_unit
        if case.status not in ("closed", "not_accepted", "transferred"):
            raise InvalidState("the case is not ended", status=case.status)
        previous = case.status
        if target != case.lead_unit:
            move_lead(case, target, session)
        case.status, case.closed_at, case.handling_from = "in_progress", None, local_today()
        case.handler_id, case.purge_warned_at = None, None
        if previous == "not_accepted":
            case.not_accepted_reason = ""
            case.accepted_at = case.accepted_at or utcnow()
        objection.state, objection.reopened_to = "reopened", target
        detail = {"previous": previous, "to_unit": target}
    else:
        objection.state = "upheld"
    commit_action(session, "case.review_decided", reviewer, case, report_id=objection.report_id,
                  objection_id=objection.id, decision=decision, **detail)
    return objection


def on_objection_filed(sender, report_id: int, objection_id: int) -> None:
    """Open the review stage of the case (its deadline, then reminders) in a session of its own."""
    if not has_app_context():
        log.warning("objection %s filed outside an app context: its review deadline opens with the next "
                    "`deadlines sync`", objection_id)
        return
    with new_session() as session:
        case = case_of_report(session, report_id)
        if case is None:
            return
        sync_deadlines(session, case)
        record(session, "case.objection_received", case_id=case.id, report_id=report_id, objection_id=objection_id)
        session.commit()
