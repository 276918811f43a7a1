"""The reporter's identity (section 四(六) of the plan): seen by as few people as possible, every
request, decision and view logged with its reason, the identity itself never logged.

The assigned handler (or the lead unit's head) asks; a coordinator approves or refuses; the
requester of an approved request may then view it while the case is open, for 72 hours after the
approval (RevealRequest.APPROVAL_VALID), then asks again. Coordinators and admins
view directly, with a reason. Nobody named in any of the case's reports asks, decides or views — not
even after a coordinator lifted their recusal as a namesake: the requester is checked when asking,
when the request is decided and when viewing, the deciding coordinator when deciding."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.models import Case, CaseReport, RevealRequest
from casework.recusal import named_in
from casework.rules import (
    OPEN_STATUSES,
    SUPERVISOR_ROLES,
    InvalidInput,
    InvalidState,
    NamedInCase,
    NotAllowed,
    case_reports,
    lock,
    require_status,
    require_visible,
    required_text,
)
from core.accounts import User
from core.audit import record
from core.db import utcnow
from intake.identity import Identity, IdentityCipher
from intake.models import Report

REASON_LIMIT = 2000


def _works_the_case(actor: User, case: Case) -> bool:
    """The assigned handler, or the head of the lead unit."""
    if actor.role == "unit_head" and actor.unit_code == case.lead_unit:
        return True
    return actor.role in ("handler", "unit_head") and case.handler_id == actor.id


def _has_identity(report: Report) -> bool:
    """A stored identity: a real-name reporter's, or the sender address of a mailed report (kept for
    replies even when the sender gave no name); revealing either goes through the same workflow."""
    return report.identity is not None


def pending_request(session: Session, case: Case) -> RevealRequest | None:
    return session.scalar(select(RevealRequest).where(RevealRequest.case_id == case.id,
                                                      RevealRequest.status == "pending"))


def require_not_named(session: Session, user: User, case: Case, who: str = "user") -> None:
    if named_in(session, user, case):
        raise NamedInCase(f"the {who} is named in the case's reports", who=who)


def request_reveal(session: Session, actor: User, case: Case, reason: str) -> RevealRequest:
    """Ask the coordinator to see the reporter's identity; one pending request per case."""
    lock(session, case)
    require_visible(session, actor, case)
    if not _works_the_case(actor, case):
        raise NotAllowed("only the assigned handler or the lead unit's head may ask")
    require_not_named(session, actor, case, "requester")
    require_status(case, *OPEN_STATUSES)
    reason = required_text(reason, REASON_LIMIT, field="reason")
    if not any(_has_identity(r) for r in case_reports(session, case)):
        raise InvalidState("the case's reports are anonymous: there is no identity to reveal", status=case.status)
    if pending_request(session, case) is not None:
        raise InvalidState("a request for this case is already waiting for a decision", status=case.status)
    request = RevealRequest(case_id=case.id, requester_id=actor.id, reason=reason, status="pending")
    session.add(request)
    session.flush()
    record(session, "identity.reveal_requested", actor=actor, case_id=case.id, report_id=case.report_id,
           request_id=request.id, reason=reason)
    session.commit()
    return request


def decide_reveal(session: Session, coordinator: User, request: RevealRequest, approve: bool,
                  reason: str) -> RevealRequest:
    """A coordinator or admin approves or refuses a pending request, with a reason."""
    if coordinator.role not in SUPERVISOR_ROLES:
        raise NotAllowed("only the task force decides on identity requests")
    session.refresh(request, with_for_update=True)
    case = session.get(Case, request.case_id)
    require_visible(session, coordinator, case)
    if request.requester_id == coordinator.id:
        raise NotAllowed("nobody decides on their own request")
    if request.status != "pending":
        raise InvalidState(f"the request was already {request.status}", status=request.status)
    require_not_named(session, coordinator, case, "coordinator")
    requester = session.get(User, request.requester_id)
    if approve and (requester is None or named_in(session, requester, case)):
        raise NamedInCase("the requester is named in the case's reports: refuse the request", who="requester")
    reason = required_text(reason, REASON_LIMIT, field="reason")
    request.status = "approved" if approve else "refused"
    request.decided_by_id, request.decision_reason, request.decided_at = coordinator.id, reason, utcnow()
    record(session, "identity.reveal_decided", actor=coordinator, case_id=case.id, report_id=case.report_id,
           request_id=request.id, requester_id=request.requester_id, approved=bool(approve), reason=reason)
    session.commit()
    return request


def approved_request(session: Session, actor: User, case: Case) -> RevealRequest | None:
    """The actor's approved request for this case that is still valid (RevealRequest.APPROVAL_VALID after
    its decision), or None: after that the requester asks again."""
    request = session.scalar(select(RevealRequest).where(
        RevealRequest.case_id == case.id, RevealRequest.requester_id == actor.id,
        RevealRequest.status == "approved").order_by(RevealRequest.id.desc()).limit(1))
    return request if request is not None and request.approval_valid(utcnow()) else None


def reveal_identity(session: Session, actor: User, case: Case, reason: str | None, cipher: IdentityCipher,
                    report_id: int | None = None) -> Identity | None:
    """The identity of the reporter of one of the case's reports (default: its first), or None for an
    anonymous report. Every call is logged as "identity.viewed" with its reason."""
    require_visible(session, actor, case)
    require_not_named(session, actor, case)
    reason = (reason or "").strip()
    request = None
    if actor.role in SUPERVISOR_ROLES:
        reason = required_text(reason, REASON_LIMIT, field="reason")
    else:
        request = approved_request(session, actor, case)
        if request is None or not _works_the_case(actor, case):
            raise NotAllowed("an approved request is needed to see the identity")
        require_status(case, *OPEN_STATUSES)
        reason = required_text(reason or request.reason, REASON_LIMIT, field="reason")
    report_id = case.report_id if report_id is None else report_id
    held = session.scalar(select(CaseReport.id).where(CaseReport.case_id == case.id, CaseReport.report_id == report_id))
    if held is None:
        raise InvalidInput("the report is not one of the case's reports", field="report_id")
    report = session.get(Report, report_id)
    identity = cipher.decrypt(report.identity.ciphertext) if _has_identity(report) else None
    record(session, "identity.viewed", actor=actor, case_id=case.id, report_id=report_id, reason=reason,
           request_id=request.id if request else None, shown=identity is not None)
    session.commit()
    return identity
