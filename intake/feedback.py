"""The reporter's side after the case ended (反馈): read the result, rate it once within 30 days, object
once within 30 days (复查 request). Every channel (web follow-up, JSON API) calls these; casework
reads the objections (a review stage) through the signal sent here."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import utcnow
from core.localtime import local_date
from intake.errors import (
    AlreadyObjected,
    AlreadyRated,
    FeedbackWindowClosed,
    FieldTooLong,
    InvalidRating,
    NoResultYet,
    TextTooShort,
    ValidationFailed,
)
from intake.feedback_models import RATINGS, ReportObjection, ReportRating, ReportResult
from intake.models import Report
from intake.signals import objection_filed
from intake.text import clean_text

WINDOW_DAYS = 30        # rating and objection: within 30 days of the result (信访工作条例 第三十五条)
COMMENT_LIMIT = 2000
OBJECTION_MIN = 10


@dataclass(frozen=True)
class PublicResult:
    kind: str
    text: str
    decided_on: date
    open_until: date                 # the last day a rating or an objection is taken
    rating: str | None
    can_rate: bool
    can_object: bool
    objection_state: str | None      # open | reopened | upheld
    objection_reply: str


def latest_result(session: Session, report: Report) -> ReportResult | None:
    return session.scalar(select(ReportResult).where(ReportResult.report_id == report.id)
                          .order_by(ReportResult.id.desc()).limit(1))


def rating_of(session: Session, result: ReportResult) -> ReportRating | None:
    return session.scalar(select(ReportRating).where(ReportRating.result_id == result.id))


def objection_of(session: Session, report: Report) -> ReportObjection | None:
    return session.scalar(select(ReportObjection).where(ReportObjection.report_id == report.id))


def window_open(result: ReportResult, today: date) -> bool:
    return today <= result.decided_on + timedelta(days=WINDOW_DAYS)


def public_result(session: Session, report: Report, today: date) -> PublicResult | None:
    """What the receipt holder reads; None while the case has not ended. A case reopened on the reporter's
    objection shows the earlier result with the review's reply (nothing to rate while it runs again)."""
    result = latest_result(session, report)
    objection = objection_of(session, report)
    ended = report.status in ("closed", "not_accepted")
    if result is None or not (ended or (objection is not None and objection.state == "reopened")):
        return None
    rating = rating_of(session, result)
    in_window = ended and window_open(result, today)
    return PublicResult(kind=result.kind, text=result.text, decided_on=result.decided_on,
                        open_until=result.decided_on + timedelta(days=WINDOW_DAYS),
                        rating=rating.rating if rating else None, can_rate=in_window and rating is None,
                        can_object=in_window and objection is None,
                        objection_state=objection.state if objection else None,
                        objection_reply=objection.reply if objection else "")


def _current(session: Session, report: Report, today: date) -> ReportResult:
    result = latest_result(session, report)
    if result is None or report.status not in ("closed", "not_accepted"):
        raise NoResultYet()
    if not window_open(result, today):
        raise FeedbackWindowClosed(days=WINDOW_DAYS)
    return result


def rate_result(session: Session, report: Report, rating: object, comment: object = "", *, source: str,
                today: date | None = None) -> ReportRating:
    today = today or local_date(utcnow())
    if not isinstance(rating, str) or rating not in RATINGS:
        raise ValidationFailed({"rating": InvalidRating()})
    body = clean_text(comment if isinstance(comment, str) else "")
    if len(body) > COMMENT_LIMIT:
        raise ValidationFailed({"comment": FieldTooLong(max=COMMENT_LIMIT)})
    result = _current(session, report, today)
    if rating_of(session, result) is not None:
        raise AlreadyRated()
    row = ReportRating(report_id=report.id, result_id=result.id, rating=rating, comment=body, source=source)
    session.add(row)
    try:
        session.commit()
    except IntegrityError:  # the unique result_id refuses a second rating that raced this one
        session.rollback()
        raise AlreadyRated()
    return row


def check_objection(session: Session, report: Report, text: object, today: date | None = None) -> tuple[ReportResult, str]:
    """The result objected to and the cleaned reasons, or the named error (before any file is stored)."""
    today = today or local_date(utcnow())
    if objection_of(session, report) is not None:
        raise AlreadyObjected()
    body = clean_text(text if isinstance(text, str) else "")
    if len(body) < OBJECTION_MIN:
        raise ValidationFailed({"text": TextTooShort(min=OBJECTION_MIN, length=len(body))})
    return _current(session, report, today), body


def file_objection(session: Session, report: Report, result: ReportResult, body: str,
                   message_id: int | None, filed_at: datetime | None = None) -> ReportObjection:
    row = ReportObjection(report_id=report.id, result_id=result.id, message_id=message_id, text=body,
                          filed_at=filed_at or utcnow(), state="open")
    session.add(row)
    try:
        session.commit()
    except IntegrityError:  # the same report objected to twice at once: one wins
        session.rollback()
        raise AlreadyObjected()
    objection_filed.send(None, report_id=report.id, objection_id=row.id)
    return row
