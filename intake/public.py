"""The public site: home, how to report, the report form, follow-up with the receipt."""
from __future__ import annotations

import hashlib
import logging
import re
import time
from datetime import datetime, timedelta

from flask import (Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, session,
                   url_for)
from flask_babel import gettext as _

from core.db import get_session, utcnow
from core.extensions import csrf, limiter
from core.localtime import local_datetime, local_today
from core.units import channels_of_kind, list_units
from intake.errors import AlreadySubmitted, IntakeError, ReceiptNotFound, ReceiptReplaced, ValidationFailed
from intake.followup import add_reporter_message, find_by_receipt, public_view, replace_receipt
from intake.feedback import public_result
from intake.forms import ConfirmForm, ObjectionForm, RatingForm, ReceiptForm, ReplyForm, ReportForm
from intake.labels import status_label
from intake.messages import field_messages, message_for
from intake.models import Report
from intake.quotas import QuotaExceeded
from intake.receipts import format_receipt, parse_receipt
from intake.submit import IncomingFile, IntakeContext, submit_report
from intake.validate import ReportInput

bp = Blueprint("public", __name__)
log = logging.getLogger(__name__)
FOLLOWUP_KEY = "followup"
REFERENCE_SHAPE = re.compile(r"[A-Za-z0-9]{1,20}-\d{4}-\d{6,12}")


def intake_context() -> IntakeContext:
    return current_app.extensions["intake"]


def incoming_files(field_name: str = "files") -> list[IncomingFile]:
    return [IncomingFile(f.filename or "file", f.stream)
            for f in request.files.getlist(field_name) if f and (f.filename or f.content_length)]


def submit_limit() -> str:
    return current_app.config["RATELIMIT_SUBMIT"]


def failed_submit_limit() -> str:
    return current_app.config["RATELIMIT_SUBMIT_FAILED"]


def lookup_limit() -> str:
    return current_app.config["RATELIMIT_LOOKUP"]


def accepted(response) -> bool:
    return response.status_code < 400


def refused(response) -> bool:
    return 400 <= response.status_code < 500 and response.status_code != 429  # our failures spend nothing


# One budget per client for the web form and the API together, spent only by submissions that were
# accepted; refused attempts (validation, expired form, honeypot) spend their own, higher budget.
submit_budget = limiter.shared_limit(submit_limit, scope="submit", methods=["POST"], deduct_when=accepted,
                                     override_defaults=False)
failed_submit_budget = limiter.shared_limit(failed_submit_limit, scope="submit-failed", methods=["POST"],
                                            deduct_when=refused, override_defaults=False)
# Everything that uses a receipt (look-up, reply, message, replacement; web and API) spends one budget.
receipt_budget = limiter.shared_limit(lookup_limit, scope="receipt-lookup", methods=["POST"], override_defaults=False)


@bp.get("/")
def home():
    return render_template("public/home.html")


@bp.get("/channels")
def channels():
    return render_template("public/channels.html", units=list_units(get_session()))


def _form_input(form: ReportForm) -> ReportInput:
    return ReportInput(
        text=form.text.data or "", title=form.title.data or "", occurred=form.occurred.data or "",
        accused_name=form.accused_name.data or "", accused_institution=form.accused_institution.data or "",
        accused_position=form.accused_position.data or "", anonymous=form.identity.data != "realname",
        reporter_name=form.reporter_name.data or "", reporter_phone=form.reporter_phone.data or "",
        reporter_email=form.reporter_email.data or "", own_conduct=bool(form.own_conduct.data),
        consent=bool(form.consent.data), channel="web")


@bp.route("/report", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token, so an expired one re-shows the text instead of losing it
@submit_budget
@failed_submit_budget
def report():
    form = ReportForm()
    if request.method == "GET":
        form.ensure_token()
        return render_template("public/report.html", form=form, errors={})
    if not form.validate_on_submit():  # CSRF failure or a malformed choice
        form.ensure_token()
        return render_template("public/report.html", form=form,
                               errors={"form": _("This form has expired. Please check your text and send it again.")}), 400
    if form.website.data:
        log.warning("honeypot field filled on the report form")
        form.ensure_token()
        return render_template("public/report.html", form=form,
                               errors={"form": _("The report could not be accepted. Please leave the last, hidden field empty.")}), 400
    form.ensure_token()
    try:
        receipt = submit_report(get_session(), intake_context(), _form_input(form), incoming_files(),
                                submission_token=form.submission_token.data)
    except ValidationFailed as exc:
        status = 413 if "files" in exc.errors and exc.errors["files"].code == "file_too_large" else 422
        return render_template("public/report.html", form=form, errors=field_messages(exc)), status
    except AlreadySubmitted as exc:
        return render_template("public/already.html", message=message_for(exc), reference=exc.params["reference"]), 409
    except IntakeError as exc:
        return render_template("public/report.html", form=form, errors={"form": message_for(exc)}), exc.status
    return render_template("public/submitted.html", reference=receipt.reference,
                           receipt=format_receipt(receipt.receipt), received_at=receipt.received_at)


@bp.post("/receipt/print")
def receipt_print():
    """The proof of filing alone, to print without JavaScript. The code comes in the POST body (from the
    page that showed it), never in an address, a log line or the session; nothing is looked up or kept,
    and the page is not cached. A body that is not a reference and a 16-digit code shows nothing."""
    form = ConfirmForm()
    reference = (request.form.get("reference") or "").strip()
    digits = parse_receipt(request.form.get("receipt"))
    if not form.validate_on_submit() or not REFERENCE_SHAPE.fullmatch(reference) or digits is None:
        abort(400)
    try:
        received_at = datetime.fromisoformat(request.form.get("received_at") or "")
    except ValueError:
        received_at = None
    response = make_response(render_template("public/receipt_print.html", reference=reference,
                                             receipt=format_receipt(digits), received_at=received_at))
    response.headers["Cache-Control"] = "no-store"
    return response


def _retry_after() -> int:
    """Seconds until the limit that refused the request lets the client in again (at least 1)."""
    current = limiter.current_limit
    reset_at = getattr(current, "reset_at", None) if current is not None else None
    return max(1, int((reset_at or time.time() + 60) - time.time()) + 1)


@bp.errorhandler(429)
def too_many_attempts(exc):
    """Too many attempts: the report form comes back with the citizen's text (files must be attached
    again), when they can try again and the units' phone lines; other public pages say the same."""
    wait = _retry_after()
    again = local_datetime(utcnow() + timedelta(seconds=wait)).strftime("%H:%M")
    message = _("Too many attempts from this connection. Your text is kept below; you can send it again "
                "after %(time)s (in about %(minutes)s minutes). Files must be attached again.",
                time=again, minutes=max(1, round(wait / 60)))
    phones = channels_of_kind(get_session(), "phone")
    if request.endpoint == "public.report" and request.method == "POST":
        form = ReportForm()
        form.ensure_token()
        body = render_template("public/report.html", form=form, errors={"form": message}, phones=phones)
    else:
        body = render_template("error.html", status=429, phones=phones, message=_(
            "Too many attempts. You can try again after %(time)s (in about %(minutes)s minutes).",
            time=again, minutes=max(1, round(wait / 60))))
    response = make_response(body, 429)
    response.headers["Retry-After"] = str(wait)
    return response


# --- follow-up -------------------------------------------------------------------------------

def followup_report() -> Report | None:
    state = session.get(FOLLOWUP_KEY)
    if not state or time.time() - state.get("at", 0) > current_app.config["PERMANENT_SESSION_LIFETIME"]:
        session.pop(FOLLOWUP_KEY, None)
        return None
    report = get_session().get(Report, state.get("id"))
    if report is None or state.get("r") != _receipt_mark(report):  # the receipt was replaced since
        session.pop(FOLLOWUP_KEY, None)
        return None
    return report


def _remember(report: Report) -> None:
    session.permanent = True
    session[FOLLOWUP_KEY] = {"id": report.id, "at": time.time(), "r": _receipt_mark(report)}


def _receipt_mark(report: Report) -> str:
    """Ties a follow-up session to the receipt that opened it (a short hash of its stored hash)."""
    return hashlib.sha256(report.receipt_hash).hexdigest()[:16]


@bp.route("/followup", methods=["GET", "POST"])
@receipt_budget
def followup():
    form = ReceiptForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            return render_template("public/followup.html", form=form,
                                   error=_("This form has expired. Please enter your code again.")), 400
        try:
            found = find_by_receipt(get_session(), intake_context(), form.receipt.data)
        except ReceiptNotFound as exc:
            log.info("follow-up: unknown receipt from a client")
            error = _("A receipt code has 16 digits; you entered %(n)s. Check the code and try again.",
                      n=exc.params["entered"]) if exc.params.get("malformed") else message_for(exc)
            return render_template("public/followup.html", form=form, error=error), 404
        except ReceiptReplaced as exc:
            log.info("follow-up: a replaced receipt was used")
            return render_template("public/followup.html", form=form, error=message_for(exc)), exc.status
        _remember(found)
        if found.receipt_must_reset:
            return redirect(url_for("public.new_receipt"))
        return redirect(url_for("public.followup_status"))
    return render_template("public/followup.html", form=form, error=None)


@bp.get("/followup/status")
def followup_status():
    found = followup_report()
    if found is None:
        flash(_("Please enter your receipt code again."))
        return redirect(url_for("public.followup"))
    if found.receipt_must_reset:
        return redirect(url_for("public.new_receipt"))
    return status_page(found)


def status_page(found: Report, code: int = 200, **overrides):
    """The follow-up page: status, history, messages, the result with its rating and objection forms."""
    context = {"view": public_view(found), "form": ReplyForm(), "exit_form": ConfirmForm(), "errors": {},
               "result": public_result(get_session(), found, local_today()), "rating_form": RatingForm(),
               "objection_form": ObjectionForm(), "feedback_errors": {}}
    context.update(overrides)
    return render_template("public/status.html", **context), code


@bp.post("/followup/reply")
@csrf.exempt  # checked by the form itself, see report()
@receipt_budget
def followup_reply():
    found = followup_report()
    if found is None or found.receipt_must_reset:
        return redirect(url_for("public.followup"))
    form = ReplyForm()
    if not form.validate_on_submit():
        return status_page(found, 400, form=form,
                           errors={"text": _("This form has expired. Please check your text and send it again.")})
    try:
        add_reporter_message(get_session(), intake_context(), found, form.text.data or "", incoming_files())
    except ValidationFailed as exc:
        return status_page(found, 422, form=form, errors=field_messages(exc))
    except QuotaExceeded as exc:
        field_name = "text" if exc.params.get("kind") == "messages" else "files"
        return status_page(found, exc.status, form=form, errors={field_name: message_for(exc)})
    flash(_("Your reply was received."))
    return redirect(url_for("public.followup_status"))


@bp.route("/followup/new-receipt", methods=["GET", "POST"])
@receipt_budget
def new_receipt():
    found = followup_report()
    if found is None:
        return redirect(url_for("public.followup"))
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit() and found.receipt_must_reset:
        receipt = replace_receipt(get_session(), intake_context(), found)
        _remember(found)
        return render_template("public/new_receipt.html", receipt=format_receipt(receipt),
                               reference=found.reference, form=None)
    if not found.receipt_must_reset:
        return redirect(url_for("public.followup_status"))
    return render_template("public/new_receipt.html", receipt=None, reference=found.reference, form=form)


@bp.post("/followup/exit")
def followup_exit():
    ConfirmForm().validate_on_submit()
    session.pop(FOLLOWUP_KEY, None)
    return redirect(url_for("public.home"))


def rating_label(rating: str) -> str:
    labels = {"satisfied": _("Satisfied"), "basically_satisfied": _("Basically satisfied"),
              "unsatisfied": _("Unsatisfied")}
    return labels.get(rating, "")


@bp.app_context_processor
def public_helpers():
    return {"status_label": status_label, "rating_label": rating_label}
