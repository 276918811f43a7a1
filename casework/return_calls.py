"""回访: a clerk of the unit that received a phone, letter or visit report calls the reporter back after
the result and records who called, when, the rating the reporter gave and their words. The rating,
when given, is the report's one rating (as if the reporter had rated it online)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.models import Case, CaseReport
from casework.return_call_models import ReturnCall
from casework.rules import InvalidInput, InvalidState, MissingInput, NotAllowed, commit_action, lock, optional_text
from core.accounts import User
from core.db import utcnow
from core.localtime import LOCAL_TZ
from intake.feedback import latest_result, rating_of
from intake.feedback_models import RATINGS, ReportRating
from intake.models import Report


def may_record_return_call(actor: User, report: Report) -> bool:
    """A clerk of the unit that received the report (or the task force)."""
    return bool(actor.active) and actor.role in ("clerk", "coordinator") and (
        actor.role == "coordinator" or actor.unit_code == report.received_by)


def record_return_call(session: Session, actor: User, report: Report, *, caller_name: str, called_at: datetime,
                       rating: str = "", words: str = "") -> ReturnCall:
    """`called_at` is the district's local time (naive or aware); stored as UTC."""
    case = session.scalar(select(Case).join(CaseReport, CaseReport.case_id == Case.id)
                          .where(CaseReport.report_id == report.id))
    if case is None or not may_record_return_call(actor, report):
        raise NotAllowed("only a clerk of the receiving unit records a return call")
    lock(session, case)
    result = latest_result(session, report)
    if result is None:
        raise InvalidState("no result has been given yet", status=case.status)
    caller_name = optional_text(caller_name, 100, line=True, field="caller_name") or actor.label()
    if called_at is None or called_at == "":
        raise MissingInput("the time of the call is required", field="called_at")
    if not isinstance(called_at, datetime):
        raise InvalidInput("the time of the call is not a time", field="called_at")
    local = called_at if called_at.tzinfo else called_at.replace(tzinfo=LOCAL_TZ)
    utc = local.astimezone(timezone.utc).replace(tzinfo=None)
    if utc > utcnow():
        raise InvalidInput("the call is in the future", field="called_at")
    if local.date() < result.decided_on:
        raise InvalidInput("the call is before the result", field="called_at")
    rating = (rating or "").strip() or None
    if rating is not None and rating not in RATINGS:
        raise InvalidInput(f"unknown rating {rating!r}", field="rating")
    words = optional_text(words, 5000, field="words")
    call = ReturnCall(case_id=case.id, report_id=report.id, result_id=result.id, caller_id=actor.id,
                      caller_name=caller_name, called_at=utc, rating=rating, words=words)
    session.add(call)
    rated = False
    if rating is not None and rating_of(session, result) is None:
        session.add(ReportRating(report_id=report.id, result_id=result.id, rating=rating, comment=words,
                                 source="return_call"))
        rated = True
    session.flush()
    commit_action(session, "case.return_call_recorded", actor, case, report_id=report.id, return_call_id=call.id,
                  rating=rating, rated=rated)
    return call
