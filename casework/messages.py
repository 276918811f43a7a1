"""Answering the reporter: a staff message they read with their receipt, and the record of the
acceptance and result notices owed to a real-name reporter (信访 rules)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.models import Case, CaseNotice, CaseReport
from casework.rules import (
    InvalidInput,
    InvalidState,
    MissingInput,
    case_reports,
    commit_action,
    lock,
    optional_text,
    past_date,
    require_worker,
    required_text,
)
from core.accounts import User
from core.db import utcnow
from intake.models import Message, Report

MESSAGE_LIMIT = 20_000
NOTICE_KINDS = ("acceptance", "result")
NOTICE_METHODS = ("phone", "letter", "visit", "message", "email")


def message_reporter(session: Session, actor: User, case: Case, text: str, report_id: int | None = None) -> Message:
    """A staff message on one of the case's reports (default: its first), visible to the reporter."""
    lock(session, case)
    require_worker(session, actor, case)
    if case.status == "merged":
        raise InvalidState("the case was merged: write on the case it was merged into", status=case.status)
    report_id = case.report_id if report_id is None else report_id
    held = session.scalar(select(CaseReport.id).where(CaseReport.case_id == case.id, CaseReport.report_id == report_id))
    if held is None:
        raise InvalidInput("the report is not one of the case's reports", field="report_id")
    body = required_text(text, MESSAGE_LIMIT, field="text")
    message = Message(report_id=report_id, author="staff", author_user_id=actor.id, body=body,
                      visible_to_reporter=True, created_at=utcnow())
    session.add(message)
    session.flush()
    session.expire(session.get(Report, report_id), ["messages"])  # the report's loaded list gains it
    commit_action(session, "case.message_sent", actor, case, report_id=report_id, message_id=message.id,
                  length=len(body))
    return message


def record_notice(session: Session, actor: User, case: Case, kind: str, given_on: date, method: str,
                  note: str = "") -> CaseNotice:
    """The acceptance notice (after the decision on acceptance) or the result feedback (after the
    findings or the end of the case), given to a real-name reporter."""
    lock(session, case)
    require_worker(session, actor, case)
    kind, method = (kind or "").strip(), (method or "").strip()
    if not kind or not method:
        raise MissingInput("the kind and the method are required", field="kind" if not kind else "method")
    if kind not in NOTICE_KINDS:
        raise InvalidInput(f"unknown notice kind {kind!r}", field="kind")
    if method not in NOTICE_METHODS:
        raise InvalidInput(f"unknown method {method!r}", field="method")
    given_on = past_date(given_on, field="given_on")
    note = optional_text(note, 5000, field="note")
    if not any(not r.anonymous for r in case_reports(session, case)):
        raise InvalidState("notices are owed to real-name reporters only", status=case.status)
    decided = case.status in ("in_progress", "closed", "not_accepted", "transferred")
    finished = case.status in ("closed", "not_accepted", "transferred") or case.findings is not None
    if (kind == "acceptance" and not decided) or (kind == "result" and not finished):
        raise InvalidState(f"no {kind} notice is due while the case is {case.status}", status=case.status)
    notice = CaseNotice(case_id=case.id, kind=kind, given_on=given_on, method=method, note=note)
    session.add(notice)
    session.flush()
    commit_action(session, "case.notice_recorded", actor, case, notice_id=notice.id, kind=kind, method=method,
                  given_on=given_on.isoformat())
    return notice
