"""Clerk entry: reports that arrive by the published phone lines, letter boxes or in person are
transcribed here and go through the same submit path as the web form. The receipt is read out or
posted back; the reporter must replace it at the first follow-up (no clerk keeps a working code)."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import DateTimeLocalField, SelectField
from wtforms.validators import Optional
from wtforms.fields.choices import SelectChoice

from core.audit import record
from core.db import get_session
from core.extensions import csrf
from core.roles import roles_required
from core.units import Unit, channels_of_kind, list_units
from intake.errors import AlreadySubmitted, IntakeError, ValidationFailed
from intake.forms import ReportForm
from intake.messages import field_messages, message_for
from intake.public import incoming_files, intake_context
from intake.receipts import format_receipt
from intake.submit import submit_report
from intake.validate import ReportInput

bp = Blueprint("clerk", __name__, url_prefix="/clerk")
CLERK_ROLES = ("clerk", "unit_head", "coordinator", "admin")


class ClerkForm(ReportForm):
    source = SelectField(_l("Received through"))
    # empty means now (the hint says so); browsers send minutes, some seconds too
    received_at = DateTimeLocalField(_l("Received at"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                     validators=[Optional()])


def source_choices(session) -> list[SelectChoice]:
    """Each published phone line and letter box, and a walk-in at each member unit."""
    choices = []
    for ch in channels_of_kind(session, "phone"):
        choices.append(SelectChoice(f"phone:{ch.unit_code}:{ch.value}", f"{_('Phone')} {ch.value} · {ch.unit.name}"))
    for ch in channels_of_kind(session, "letter"):
        choices.append(SelectChoice(f"letter:{ch.unit_code}:{ch.id}", f"{_('Letters')} · {ch.unit.name}"))
    for unit in list_units(session):
        if unit.is_member or unit.code == "taskforce":
            choices.append(SelectChoice(f"visit:{unit.code}:", f"{_('Visit in person')} · {unit.name}"))
    return choices


def parse_source(session, value: str) -> tuple[str, str, str] | None:
    """(channel, receiving unit, which line or box) from a choice value, or None if not offered."""
    if value not in {c.value for c in source_choices(session)}:
        return None
    channel, unit, via = value.split(":", 2)
    if channel == "letter":
        via = next((c.value for c in channels_of_kind(session, "letter") if str(c.id) == via), "")
    return channel, unit, via


def _received_at(form: ClerkForm) -> datetime | None:
    if not form.received_at.data:
        return None
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    local = form.received_at.data.replace(tzinfo=zone)
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def form_errors(form: ClerkForm) -> dict[str, str]:
    """Each failed check of the form by what it is: only a missing or stale CSRF token is an expired form."""
    messages = {"received_at": _("Enter the date and time it was received (for example 2026-12-01 09:30), "
                                 "or leave it empty for now."),
                "source": _("Choose the phone line, letter box or unit it came through."),
                "identity": _("Choose anonymous or real name.")}
    errors = {name: messages.get(name, _("Please check this field.")) for name in form.errors if name != "csrf_token"}
    if "csrf_token" in form.errors:
        errors["form"] = _("This form has expired. Please check your text and send it again.")
    return errors


@bp.route("/new", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token and re-shows the text when it expired
@roles_required(*CLERK_ROLES)
def new():
    session = get_session()
    form = ClerkForm()
    form.source.choices = source_choices(session)
    form.consent.data = True  # the clerk read the notice out; the checkbox is for the public form
    if request.method == "GET":
        form.ensure_token()
        form.identity.data = form.identity.data or "anonymous"
        return render_template("clerk/new.html", form=form, errors={})
    form.ensure_token()
    if not form.validate_on_submit():
        errors = form_errors(form)
        return render_template("clerk/new.html", form=form, errors=errors), 400 if "form" in errors else 422
    source = parse_source(session, form.source.data or "")
    if source is None:
        return render_template("clerk/new.html", form=form, errors={"source": _("This field is required.")}), 422
    channel, unit, via = source
    data = ReportInput(
        text=form.text.data or "", title=form.title.data or "", occurred=form.occurred.data or "",
        accused_name=form.accused_name.data or "", accused_institution=form.accused_institution.data or "",
        accused_position=form.accused_position.data or "", anonymous=form.identity.data != "realname",
        reporter_name=form.reporter_name.data or "", reporter_phone=form.reporter_phone.data or "",
        reporter_email=form.reporter_email.data or "", own_conduct=bool(form.own_conduct.data),
        channel=channel, received_by=unit, received_via=via, received_at=_received_at(form),
        receipt_must_reset=True)

    def audit(report, _receipt):
        record(session, "report.registered", actor=current_user, report_id=report.id, channel=channel, unit=unit)

    try:
        receipt = submit_report(session, intake_context(), data, incoming_files(),
                                submission_token="clerk:" + (form.submission_token.data or ""), before_commit=audit)
    except ValidationFailed as exc:
        return render_template("clerk/new.html", form=form, errors=field_messages(exc)), 422
    except AlreadySubmitted as exc:
        return render_template("public/already.html", message=message_for(exc), reference=exc.params["reference"]), 409
    except IntakeError as exc:
        return render_template("clerk/new.html", form=form, errors={"form": message_for(exc)}), exc.status
    return render_template("clerk/registered.html", reference=receipt.reference, receipt=format_receipt(receipt.receipt),
                           received_at=receipt.received_at, channel=channel, unit=session.get(Unit, unit))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
