"""Staff pages of the reporter's side (反馈): the task force's review of an objection (on the case page)
and the clerks' 回访 list, where a clerk records a return call to a real-name phone, letter or visit
reporter. Every read goes through casework.access; the review through casework.review."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from casework import review
from casework.access import case_for
from casework.deadline_models import CaseDeadline
from casework.models import Case, CaseReport
from casework.page_actions import action_error_message
from casework.return_call_models import ReturnCall
from casework.return_calls import may_record_return_call, record_return_call
from casework.rules import CaseActionError
from core.db import get_session
from core.roles import CASE_ROLES, roles_required
from intake.feedback_models import ReportObjection, ReportRating, ReportResult
from intake.models import Attachment, Report

bp = Blueprint("feedback", __name__)


def feedback_context(session, case: Case, user) -> dict:
    """The case page's part: results, ratings, return calls, objections, and whether `user` may review."""
    report_ids = select(CaseReport.report_id).where(CaseReport.case_id == case.id)
    objections = list(session.scalars(select(ReportObjection).where(ReportObjection.report_id.in_(report_ids))
                                      .order_by(ReportObjection.id)))
    return {
        "results": list(session.scalars(select(ReportResult).where(ReportResult.case_id == case.id)
                                        .order_by(ReportResult.id))),
        "ratings": {r.result_id: r for r in session.scalars(select(ReportRating).where(
            ReportRating.report_id.in_(report_ids)))},
        "return_calls": list(session.scalars(select(ReturnCall).where(ReturnCall.case_id == case.id)
                                             .order_by(ReturnCall.id))),
        "objections": objections,
        # the files the reporter sent with each objection (its message), for the reviewer to download
        "objection_files": _objection_files(session, objections),
        "may_review": any(o.state == "open" for o in objections) and review.may_review(session, user, case),
    }


def _objection_files(session, objections) -> dict[int, list[Attachment]]:
    message_ids = {o.message_id: o.id for o in objections if o.message_id is not None}
    files: dict[int, list[Attachment]] = {}
    if message_ids:
        for att in session.scalars(select(Attachment).where(Attachment.message_id.in_(message_ids))
                                   .order_by(Attachment.id)):
            if att.extension != "eml":
                files.setdefault(message_ids[att.message_id], []).append(att)
    return files


@bp.post("/cases/<reference>/review/<int:objection_id>")
@roles_required(*CASE_ROLES)
def decide(reference: str, objection_id: int):
    session = get_session()
    case = case_for(session, current_user, reference)
    objection = session.get(ReportObjection, objection_id)
    if objection is None or review.case_of_report(session, objection.report_id) is not case:
        abort(404)
    try:
        review.decide_review(session, current_user, case, objection, request.form.get("decision", ""),
                             request.form.get("reply", ""), request.form.get("unit", ""))
    except CaseActionError as exc:
        session.rollback()
        flash(action_error_message(exc))
    else:
        flash(_("The review was decided; the reporter reads the reply with their receipt."))
    return redirect(url_for("staff.case_page", reference=reference) + "#review")


def _due_calls(session, user) -> list[tuple[Report, CaseDeadline, ReportResult]]:
    rows = session.execute(
        select(Report, CaseDeadline).join(CaseReport, CaseReport.report_id == Report.id)
        .join(CaseDeadline, CaseDeadline.case_id == CaseReport.case_id)
        .where(CaseDeadline.stage == "return_call", CaseDeadline.state == "open",
               *([] if user.role == "coordinator" else [CaseDeadline.unit_code == user.unit_code,
                                                        Report.received_by == user.unit_code]))
        .order_by(CaseDeadline.due_on).limit(200)).all()
    out = []
    for report, deadline in rows:
        result = session.scalar(select(ReportResult).where(ReportResult.report_id == report.id)
                                .order_by(ReportResult.id.desc()).limit(1))
        if result is not None and may_record_return_call(user, report):
            out.append((report, deadline, result))
    return out


@bp.get("/return-calls")
@roles_required("clerk", "coordinator")
def return_calls():
    session = get_session()
    return render_template("staff/return_calls.html", due=_due_calls(session, current_user), errors={}, form={})


@bp.post("/return-calls/<reference>")
@roles_required("clerk", "coordinator")
def record(reference: str):
    session = get_session()
    report = session.scalar(select(Report).where(Report.reference == reference))
    if report is None or not may_record_return_call(current_user, report):
        abort(404)
    try:
        called_at = datetime.fromisoformat(request.form.get("called_at", "").strip() or "invalid")
    except ValueError:
        called_at = None
    try:
        record_return_call(session, current_user, report, caller_name=request.form.get("caller_name", ""),
                           called_at=called_at, rating=request.form.get("rating", ""),
                           words=request.form.get("words", ""))
    except CaseActionError as exc:
        session.rollback()
        return render_template("staff/return_calls.html", due=_due_calls(session, current_user),
                               errors={reference: action_error_message(exc)}, form=request.form), 422
    flash(_("The return call (回访) was recorded."))
    return redirect(url_for("feedback.return_calls"))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
