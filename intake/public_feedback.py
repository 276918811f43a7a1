"""The reporter's answer to a result on the follow-up page: a rating (满意 / 基本满意 / 不满意) and an
objection (复查 request), each once and within 30 days. Plain forms: they work with JavaScript off."""
from __future__ import annotations

from flask import flash, redirect, url_for
from flask_babel import gettext as _

from core.db import get_session
from core.extensions import csrf
from intake.errors import IntakeError, ValidationFailed
from intake.feedback import rate_result
from intake.followup import object_to_result
from intake.forms import ObjectionForm, RatingForm
from intake.messages import field_messages, message_for
from intake.public import bp, followup_report, incoming_files, intake_context, receipt_budget, status_page



def _errors(exc: IntakeError, field: str) -> dict:
    return field_messages(exc) if isinstance(exc, ValidationFailed) else {field: message_for(exc)}


@bp.post("/followup/rating")
@receipt_budget  # one budget with the look-ups and replies (issue 15)
def followup_rating():
    found = followup_report()
    if found is None or found.receipt_must_reset:
        return redirect(url_for("public.followup"))
    form = RatingForm()
    if not form.validate_on_submit() and form.errors.get("csrf_token"):
        return status_page(found, 400, rating_form=form, feedback_errors={"rating": _("This form has expired. Please try again.")})
    try:
        rate_result(get_session(), found, form.rating.data, form.comment.data or "", source="web")
    except IntakeError as exc:
        get_session().rollback()
        return status_page(found, exc.status, rating_form=form, feedback_errors=_errors(exc, "rating"))
    flash(_("Thank you: your rating was recorded."))
    return redirect(url_for("public.followup_status") + "#result")


@bp.post("/followup/objection")
@receipt_budget
@csrf.exempt  # checked by the form itself (an expired token re-shows the text instead of losing it)
def followup_objection():
    found = followup_report()
    if found is None or found.receipt_must_reset:
        return redirect(url_for("public.followup"))
    form = ObjectionForm()
    if not form.validate_on_submit():
        return status_page(found, 400, objection_form=form, feedback_errors={"objection": _("This form has expired. Please try again.")})
    try:
        object_to_result(get_session(), intake_context(), found, form.text.data or "", incoming_files())
    except IntakeError as exc:
        get_session().rollback()
        errors = _errors(exc, "objection")
        if "text" in errors:
            errors["objection"] = errors.pop("text")
        return status_page(found, exc.status, objection_form=form, feedback_errors=errors)
    flash(_("Your objection was received. The task force reviews it within 30 days and answers here."))
    return redirect(url_for("public.followup_status") + "#result")
