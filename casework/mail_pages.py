"""The clerk's mail pages: replies that may not speak for the reporter (/clerk/mail/unmatched) and mail
that could not be taken (/clerk/mail/quarantine). For clerks (their own unit's mailbox) and coordinators
(all). Every form posts with its CSRF token; every list, reading and decision is audited (intake.mail_review,
casework.mail_notes). The page lives in casework because attaching to a case needs the case and recusal."""
from __future__ import annotations

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from casework.mail_notes import attach_to_case
from core.db import get_session
from core.roles import roles_required
from intake.errors import IntakeError, MailOriginalMissing, ValidationFailed
from intake.mail_cli import mail_settings
from intake.mail_review import MAIL_REVIEW_ROLES, dismiss, held_mail, make_report, read_as_text, waiting
from intake.mailboxes import MailConfigError, mailboxes_from
from intake.messages import message_for

bp = Blueprint("clerk_mail", __name__, url_prefix="/clerk/mail")
PAGES = {"unmatched": "clerk_mail.unmatched", "quarantined": "clerk_mail.quarantine"}


def _error_text(exc: IntakeError) -> str:
    return message_for(exc.first if isinstance(exc, ValidationFailed) else exc)


def _acknowledging() -> set[str]:
    try:
        return {box.unit for box in mailboxes_from(current_app.config) if box.acknowledge}
    except MailConfigError:
        return set()


def _decide(status: str, mail_id: int, action) -> object:
    """Run one clerk decision on a held mail; its error (already taken, a missing reason …) is flashed."""
    session = get_session()
    try:
        action(session, held_mail(session, current_app.extensions["intake"], current_user, mail_id, status))
    except IntakeError as exc:
        session.rollback()
        flash(_error_text(exc))
    return redirect(url_for(PAGES[status]))


def _listing(status: str, template: str):
    mails = waiting(get_session(), current_app.extensions["intake"], current_user, status)
    return render_template(template, mails=mails)


@bp.get("/unmatched")
@roles_required(*MAIL_REVIEW_ROLES)
def unmatched():
    return _listing("unmatched", "clerk/mail_unmatched.html")


@bp.get("/quarantine")
@roles_required(*MAIL_REVIEW_ROLES)
def quarantine():
    return _listing("quarantined", "clerk/mail_quarantine.html")


@bp.get("/quarantine/<int:mail_id>")
@roles_required(*MAIL_REVIEW_ROLES)
def quarantined_mail(mail_id: int):
    session = get_session()
    ctx = current_app.extensions["intake"]
    try:
        held = held_mail(session, ctx, current_user, mail_id, "quarantined")
    except IntakeError as exc:
        flash(_error_text(exc))
        return redirect(url_for("clerk_mail.quarantine"))
    try:
        text, cut = read_as_text(session, ctx, current_user, held)
    except MailOriginalMissing as exc:
        text, cut = None, False
        flash(message_for(exc))
    return render_template("clerk/mail_quarantined_one.html", mail=held.row, text=text, cut=cut)


def _report(status: str, mail_id: int):
    def act(session, held):
        receipt = make_report(session, current_app.extensions["intake"], mail_settings(current_app), current_user,
                              held, _acknowledging())
        flash(_("Registered as report %(reference)s.", reference=receipt.reference))
    return _decide(status, mail_id, act)


def _dismiss(status: str, mail_id: int):
    def act(session, held):
        dismiss(session, current_user, held, request.form.get("reason", ""))
        flash(_("The mail was set aside with your reason; it is kept."))
    return _decide(status, mail_id, act)


@bp.post("/unmatched/<int:mail_id>/report")
@roles_required(*MAIL_REVIEW_ROLES)
def unmatched_report(mail_id: int):
    return _report("unmatched", mail_id)


@bp.post("/unmatched/<int:mail_id>/attach")
@roles_required(*MAIL_REVIEW_ROLES)
def unmatched_attach(mail_id: int):
    def act(session, held):
        report, _case = attach_to_case(session, current_app.extensions["intake"], current_user, held,
                                       request.form.get("reference", ""), request.form.get("note", ""),
                                       mail_settings(current_app).own_addresses)
        flash(_("Attached to %(reference)s as a staff note; the reporter does not see it.", reference=report.reference))
    return _decide("unmatched", mail_id, act)


@bp.post("/unmatched/<int:mail_id>/dismiss")
@roles_required(*MAIL_REVIEW_ROLES)
def unmatched_dismiss(mail_id: int):
    return _dismiss("unmatched", mail_id)


@bp.post("/quarantine/<int:mail_id>/report")
@roles_required(*MAIL_REVIEW_ROLES)
def quarantine_report(mail_id: int):
    return _report("quarantined", mail_id)


@bp.post("/quarantine/<int:mail_id>/dismiss")
@roles_required(*MAIL_REVIEW_ROLES)
def quarantine_dismiss(mail_id: int):
    return _dismiss("quarantined", mail_id)


def quarantine_reason(row) -> str:
    """Why a mail was quarantined, in the clerk's words (the stored reason is for the logs)."""
    reason = row.reason or ""
    if reason.startswith("cannot be parsed"):
        return _("It cannot be read as a mail (broken or missing headers).")
    if reason.startswith("declared size"):
        return _("It is larger than the limit; the original was left on the mail server.")
    return _("Taking it in failed; the original is kept for you to read.")


@bp.app_context_processor
def mail_helpers():
    return {"quarantine_reason": quarantine_reason}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
