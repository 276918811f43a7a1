"""Case workflow: accept or not, the 五定 plan, findings, rectification, 销号 (close) and reopening.

Every function takes the session and plain data, checks permission (casework.rules), raises a
named CaseActionError, writes one audit event, updates the public status of every report the case
holds and commits. Assignment, messages, ledgers, links and corrections live in their own modules
and are re-exported here, so the web layer calls `casework.<action>` for all of them."""
from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from casework.ledger_entries import mark_ledger_rectified
from casework.models import FINDINGS, Case
from casework.results import check_result_text, write_results
from casework.rules import (
    TASKFORCE,
    CaseActionError,
    InvalidInput,
    InvalidState,
    MissingInput,
    NotAllowed,
    commit_action,
    local_today,
    lock,
    optional_text,
    past_date,
    require_status,
    require_supervisor,
    require_worker,
    required_text,
)
from core.accounts import User
from core.db import utcnow

NOT_ACCEPTED_REASONS = ("not_corruption", "outside_jurisdiction", "insufficient_detail", "duplicate",
                        "already_handled", "other")
NOTE_LIMIT = 5000


def accept(session: Session, actor: User, case: Case) -> Case:
    """to_accept → in_progress (public "accepted"). A triage case is accepted only once it has a
    lead unit other than the task force (the coordinator corrects or transfers it first). A handler
    who accepts an unassigned case of the unit becomes its handler."""
    lock(session, case)
    require_worker(session, actor, case, unassigned_ok=True)
    require_status(case, "to_accept", "triage")
    if case.status == "triage" and case.lead_unit == TASKFORCE:
        raise InvalidState("a triage case needs a lead unit first", status=case.status)
    case.status, case.accepted_at, case.handling_from = "in_progress", utcnow(), local_today()
    if case.handler_id is None and actor.role == "handler":
        case.handler_id = actor.id
    commit_action(session, "case.accepted", actor, case, handler_id=case.handler_id)
    return case


def not_accept(session: Session, actor: User, case: Case, reason_code: str, note: str = "", *,
               result: str = "") -> Case:
    """Decide not to accept (public "not_accepted"); the reason "other" needs a note; `result` is what
    the reporter reads (casework.results)."""
    lock(session, case)
    require_worker(session, actor, case, unassigned_ok=True)
    require_status(case, "to_accept", "triage")
    reason_code = (reason_code or "").strip()
    if not reason_code:
        raise MissingInput("a reason is required", field="reason_code")
    if reason_code not in NOT_ACCEPTED_REASONS:
        raise InvalidInput(f"unknown reason {reason_code!r}", field="reason_code")
    note = optional_text(note, NOTE_LIMIT, field="note")
    if reason_code == "other" and not note:
        raise MissingInput("the reason 'other' needs a note", field="note")
    result = check_result_text(session, case, result)
    case.status, case.not_accepted_reason = "not_accepted", reason_code
    write_results(session, case, "not_accepted", result, actor.id)
    commit_action(session, "case.not_accepted", actor, case, reason_code=reason_code, reason=note or reason_code)
    return case


def record_plan(session: Session, actor: User, case: Case, *, problem: str, measures: str, responsible: str,
                goal: str, deadline: date) -> Case:
    """The 五定: problem, measures, responsible person, expected goal, time limit — all five."""
    lock(session, case)
    require_worker(session, actor, case)
    require_status(case, "in_progress")
    values = {"problem": required_text(problem, NOTE_LIMIT, field="problem"),
              "measures": required_text(measures, NOTE_LIMIT, field="measures"),
              "responsible": required_text(responsible, 200, line=True, field="responsible"),
              "goal": required_text(goal, NOTE_LIMIT, field="goal")}
    if deadline is None or deadline == "":
        raise MissingInput("a time limit is required", field="deadline", problem="required")
    if not isinstance(deadline, date):
        raise InvalidInput("the time limit is not a date", field="deadline", problem="not_a_date")
    if deadline < local_today():  # the district's today: a 五定 time limit already passed is no plan
        raise InvalidInput("the time limit is before today", field="deadline", problem="past")
    amended = case.plan_deadline is not None
    case.plan_problem, case.plan_measures = values["problem"], values["measures"]
    case.plan_responsible, case.plan_goal, case.plan_deadline = values["responsible"], values["goal"], deadline
    commit_action(session, "case.plan_recorded", actor, case, deadline=deadline.isoformat(), amended=amended)
    return case


def has_plan(case: Case) -> bool:
    return bool(case.plan_problem and case.plan_measures and case.plan_responsible and case.plan_goal
                and case.plan_deadline)


def record_findings(session: Session, actor: User, case: Case, findings: str, note: str = "") -> Case:
    """查实 / 部分查实 / 不实, with an optional note."""
    lock(session, case)
    require_worker(session, actor, case)
    require_status(case, "in_progress")
    findings = (findings or "").strip()
    if not findings:
        raise MissingInput("findings are required", field="findings")
    if findings not in FINDINGS:
        raise InvalidInput(f"unknown findings {findings!r}", field="findings")
    case.findings, case.findings_note = findings, optional_text(note, NOTE_LIMIT, field="note")
    commit_action(session, "case.findings_recorded", actor, case, findings=findings)
    return case


def record_rectification(session: Session, actor: User, case: Case, done_on: date, note: str = "") -> Case:
    """Rectification done on `done_on` (not in the future); needs the 五定 plan. The case's ledger
    rows that are not yet marked rectified are marked with the same date."""
    lock(session, case)
    require_worker(session, actor, case)
    require_status(case, "in_progress")
    if not has_plan(case):
        raise InvalidState("record the 五定 plan before the rectification", status=case.status)
    done_on = past_date(done_on, field="done_on")
    case.rectified_on = done_on
    case.rectification_note = optional_text(note, NOTE_LIMIT, field="note")
    rows = mark_ledger_rectified(session, case, done_on)
    commit_action(session, "case.rectified", actor, case, done_on=done_on.isoformat(), ledger_rows=rows)
    return case


def close(session: Session, actor: User, case: Case, result: str = "", *, confirmed: bool = True) -> Case:
    """销号: only when the rectification is recorded as done, or the findings are "unfounded"; with the
    result written for the reporter (casework.results). The case page asks the person to confirm
    (`confirmed` False until they tick it); that check comes last, so the page first says what is missing."""
    lock(session, case)
    require_worker(session, actor, case)
    require_status(case, "in_progress")
    if case.rectified_on is None and case.findings != "unfounded":
        missing = "findings" if not case.findings else "rectification"  # the page says which step is missing
        raise InvalidState("record the rectification (or unfounded findings) before closing", status=case.status,
                           missing=missing)
    result = check_result_text(session, case, result)
    if not confirmed:
        raise MissingInput("closing needs the person's confirmation", field="confirm")
    case.status, case.closed_at = "closed", utcnow()
    write_results(session, case, "closed", result, actor.id)
    commit_action(session, "case.closed", actor, case, findings=case.findings,
                  rectified_on=case.rectified_on.isoformat() if case.rectified_on else None)
    return case


def reopen(session: Session, actor: User, case: Case, reason: str) -> Case:
    """closed or not_accepted → in_progress, with a reason; by the lead unit's head or the task force."""
    lock(session, case)
    require_supervisor(session, actor, case)
    require_status(case, "closed", "not_accepted")
    reason = required_text(reason, NOTE_LIMIT, field="reason")
    previous = case.status
    case.status, case.closed_at, case.handling_from = "in_progress", None, local_today()  # a new handling period
    case.purge_warned_at = None  # a retention notice no longer applies
    if previous == "not_accepted":
        case.not_accepted_reason = ""
        case.accepted_at = case.accepted_at or utcnow()
    commit_action(session, "case.reopened", actor, case, previous=previous, reason=reason)
    return case


# Re-exported: the web layer calls every case action through this module.
from casework.assignment import assign, bulk_assign, refer, request_assistance, transfer  # noqa: E402
from casework.ledger_entries import add_ledger_institution, add_ledger_person  # noqa: E402
from casework.links import correct, link, merge  # noqa: E402
from casework.messages import message_reporter, record_notice  # noqa: E402

__all__ = ["NOT_ACCEPTED_REASONS", "CaseActionError", "NotAllowed", "InvalidState", "MissingInput", "InvalidInput",
           "accept", "not_accept", "record_plan", "record_findings", "record_rectification", "close", "reopen",
           "assign", "bulk_assign", "request_assistance", "transfer", "refer", "message_reporter", "record_notice",
           "add_ledger_institution", "add_ledger_person", "correct", "link", "merge"]
