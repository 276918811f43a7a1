"""Staff pages: the case page with its actions, attachment downloads and identity reveals (the unit queue:
casework.queue_page, registered here). Every read goes through casework.access; every action through casework.workflow."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import and_, or_, select

from casework import lifting, reveal
from casework import workflow as casework
from casework.access import case_for, visible_clause
from casework.assignment import assignable_among
from casework.feedback_pages import feedback_context
from casework.labels import action_label, not_accepted_label, routing_note
from casework.models import (
    Case,
    CaseNotice,
    CaseReport,
    Classification,
    LedgerInstitution,
    LedgerPerson,
    NegativeListItem,
    Referral,
    RevealRequest,
)
from casework.opening import accused_of
from casework.page_actions import ACTIONS, action_error_message
from casework.queue import deadline_badge
from casework.queue_page import assignable_handlers, bulk_assign, date_arg, queue, queue_xlsx
from casework.recusal import named_in
from casework.related_views import related_cases, repeats_on
from casework.rules import case_reports
from casework.self_inspection import record_self_inspection
from casework.walls import COORDINATORS_ONLY, wall_of
from core.accounts import User, users_by_id
from core.audit import AuditEvent, record
from core.db import get_session, utcnow
from core.labels import label
from core.localtime import local_today
from core.roles import CASE_ROLES, roles_required
from core.units import list_units
from intake.labels import channel_label
from intake.models import Attachment, Report
from routing.matrix import units_for_item

bp = Blueprint("staff", __name__)
bp.add_url_rule("/queue", view_func=queue, methods=["GET"])
bp.add_url_rule("/queue.xlsx", view_func=queue_xlsx, methods=["GET"])
bp.add_url_rule("/queue/assign", view_func=bulk_assign, methods=["POST"])


REPORT_EVENTS_ON_TIMELINE = ("receipt.replaced",)  # recorded by intake on the report: it knows no case


@dataclass(frozen=True)
class ReporterEntry:
    """A reporter's message as a line of the case's timeline (intake keeps messages, not audit events)."""
    at: datetime
    after_closing: bool
    action: str = "reporter.message"
    actor: str = "reporter"
    actor_id: int | None = None  # the reporter is no staff account
    detail: dict = field(default_factory=dict)


def reporter_entries(case: Case, reports) -> list[ReporterEntry]:
    closed_at = case.closed_at
    return [ReporterEntry(m.created_at, bool(closed_at and m.created_at > closed_at))
            for r in reports for m in r.messages if m.author == "reporter"]


def case_context(session, case: Case, repeat_list: list | None = None) -> dict:
    reports = session.scalars(select(Report).join(CaseReport, CaseReport.report_id == Report.id)
                              .where(CaseReport.case_id == case.id).order_by(Report.id)).all()
    classification = session.scalar(select(Classification).where(Classification.report_id == case.report_id)
                                     .order_by(Classification.id.desc()))
    report_ids = [r.id for r in reports]
    timeline = session.scalars(select(AuditEvent).where(
        or_(and_(AuditEvent.case_id == case.id, AuditEvent.action != "case.viewed"),
            and_(AuditEvent.report_id.in_(report_ids), AuditEvent.action.in_(REPORT_EVENTS_ON_TIMELINE))))
        .order_by(AuditEvent.seq)).all()
    timeline = sorted([*timeline, *reporter_entries(case, reports)], key=lambda ev: ev.at)
    handler = session.get(User, case.handler_id) if case.handler_id else None
    return {
        "case": case, "report": case.report, "reports": reports, "classification": classification,
        "timeline": timeline, "handler": handler, "wall": wall_of(session, case),
        "people": users_by_id(session, [ev.actor_id for ev in timeline]),
        "panel": lifting.panel(session, case) if current_user.role in ("coordinator", "admin") else None,
        "coordinators_only": COORDINATORS_ONLY,
        "items": session.scalars(select(NegativeListItem).order_by(NegativeListItem.code)).all(),
        "units": list_units(session), "handlers": assignable_among(session, case,
                                                                   assignable_handlers(session, current_user)),
        "referrals": session.scalars(select(Referral).where(Referral.case_id == case.id)).all(),
        "notices": session.scalars(select(CaseNotice).where(CaseNotice.case_id == case.id)).all(),
        "institutions": session.scalars(select(LedgerInstitution).where(LedgerInstitution.case_id == case.id)).all(),
        "persons": session.scalars(select(LedgerPerson).where(LedgerPerson.case_id == case.id)).all(),
        "my_approval": reveal.approved_request(session, current_user, case), "now": utcnow(),
        "reveal_requests": session.scalars(select(RevealRequest).where(RevealRequest.case_id == case.id)
                                           .order_by(RevealRequest.id.desc())).all(),
        "not_accepted_reasons": casework.NOT_ACCEPTED_REASONS, "badge": deadline_badge(case),
        "messages": [m for r in reports for m in r.messages],
        "second_reading": second_reading(case, classification),
        "related": related_cases(session, case, current_user),  # access and recusal applied
        "repeat_list": repeat_list if repeat_list is not None else repeats_on(session, current_user, case),
        **deadline_context(session, case), **feedback_context(session, case, current_user),
    }


def second_reading(case: Case, classification: Classification | None) -> dict | None:
    """The close second item the classifier kept (Two readings), with the unit that would lead it, when
    that unit does not already work on the case. A person may add it as assisting unit; the matrix never
    does it by itself."""
    cands = (classification.candidates or []) if classification is not None else []
    second = next((c for c in cands if isinstance(c, dict) and c.get("second_reading")), None)
    tax = current_app.extensions["routing"].taxonomy
    if second is None or second.get("item") not in tax.items or second["item"] == case.item_code:
        return None
    report = case.report
    lead, _assist = units_for_item(tax, second["item"], title=report.title, text=report.text,
                                   accused=accused_of(report))
    if lead in (case.lead_unit, tax.matrix.triage_unit) or lead in case.assist_units:
        return None
    return {"item": second["item"], "unit": lead, "probability": float(second.get("score") or 0.0)}


def deadline_context(session, case: Case) -> dict:
    from casework.deadline_actions import personal_reminders
    from casework.deadline_models import CaseDeadline, Reminder, Supervision
    from casework.deadlines import current_rules
    policy, calendar = current_rules()
    deadlines = session.scalars(select(CaseDeadline).where(CaseDeadline.case_id == case.id)
                                .order_by(CaseDeadline.state != "open", CaseDeadline.due_on)).all()
    return {
        "deadlines": deadlines,
        # ≈ only on a date in a year without the official holiday schedule (the stored flag may predate it)
        "unknown_years": calendar.missing_years(*{d.due_on.year for d in deadlines if d.uncertain}),
        "supervised": session.scalar(select(Supervision.id).where(Supervision.case_id == case.id,
                                                                  Supervision.ended_at.is_(None))) is not None,
        "my_reminders": personal_reminders(session, current_user, case),
        "reminders_sent": session.execute(select(Reminder, User).join(User, User.id == Reminder.recipient_id)
                                          .where(Reminder.case_id == case.id).order_by(Reminder.id.desc())
                                          .limit(50)).all(),
        "max_extension": policy.stages["handling"].max_extension_days if "handling" in policy.stages else 0,
        "today": local_today(),
    }


@bp.get("/cases/<reference>")
@roles_required(*CASE_ROLES)
def case_page(reference: str):
    session = get_session()
    case = case_for(session, current_user, reference)
    repeat_list = repeats_on(session, current_user, case)  # new since this user's last view: before it is logged
    record(session, "case.viewed", actor=current_user, case_id=case.id)
    session.commit()
    return render_template("staff/case.html", **case_context(session, case, repeat_list))


RESULT_ACTIONS = ("close", "not_accept", "refer")  # actions that carry the result written for the reporter


@bp.post("/cases/<reference>/<action>")
@roles_required(*CASE_ROLES)
def case_action(reference: str, action: str):
    session = get_session()
    case = case_for(session, current_user, reference)
    handler = ACTIONS.get(action)
    if handler is None:
        abort(404)
    try:
        message = handler(session, current_user, case, request.form)
    except casework.CaseActionError as exc:
        session.rollback()
        if action in RESULT_ACTIONS:  # the handler's result text is kept in the form, with the reason it was refused
            return render_template("staff/case.html", **case_context(session, case), draft_result=request.form.get(
                "result", ""), draft_action=action, result_error=action_error_message(exc)), 422
        flash(action_error_message(exc))
    else:
        flash(message)
    return redirect(url_for("staff.case_page", reference=reference) + f"#{action}")


@bp.get("/cases/<reference>/attachments/<int:attachment_id>")
@roles_required(*CASE_ROLES)
def attachment(reference: str, attachment_id: int):
    session = get_session()
    case = case_for(session, current_user, reference)
    att = session.get(Attachment, attachment_id)
    held = session.scalar(select(CaseReport.id).where(CaseReport.case_id == case.id,
                                                      CaseReport.report_id == (att.report_id if att else -1)))
    if att is None or held is None or att.extension == "eml":
        abort(404)  # an original mail carries its sender's address: identity, not evidence for handlers
    record(session, "attachment.downloaded", actor=current_user, case_id=case.id, report_id=att.report_id,
           attachment_id=att.id)
    session.commit()
    store = current_app.extensions["intake"].store
    return send_file(store.path(att.stored_name), mimetype=att.content_type, as_attachment=True,
                     download_name=f"{reference}-{att.id}.{att.extension}", max_age=0)


@bp.post("/cases/<reference>/identity")
@roles_required(*CASE_ROLES)
def identity(reference: str):
    session = get_session()
    case = case_for(session, current_user, reference)
    try:
        shown = reveal.reveal_identity(session, current_user, case, request.form.get("reason", "").strip() or None,
                                       current_app.extensions["intake"].cipher)
    except casework.CaseActionError as exc:
        session.rollback()
        flash(action_error_message(exc))
        return redirect(url_for("staff.case_page", reference=reference) + "#identity")
    return render_template("staff/identity.html", case=case, identity=shown)


@bp.get("/reveals")
@roles_required("coordinator", "admin")
def reveals():
    session = get_session()
    pending = session.execute(select(RevealRequest, Report.reference, User, Case)
                              .join(Case, Case.id == RevealRequest.case_id).join(Report, Report.id == Case.report_id)
                              .join(User, User.id == RevealRequest.requester_id)
                              .where(visible_clause(session, current_user))
                              .order_by(RevealRequest.status != "pending", RevealRequest.id.desc()).limit(200)).all()
    rows = [{"request": rq, "reference": reference, "requester": requester,
             "accused": [(r.accused_name, r.accused_institution, r.accused_position) for r in case_reports(session, case)
                         if r.accused_name or r.accused_institution or r.accused_position],
             "requester_named": rq.status == "pending" and named_in(session, requester, case),
             "me_named": rq.status == "pending" and named_in(session, current_user, case)}
            for rq, reference, requester, case in pending]
    visible_ids = select(Case.id).where(visible_clause(session, current_user))
    log = session.scalars(select(AuditEvent).where(AuditEvent.action.like("identity.%"),
                                                   AuditEvent.case_id.in_(visible_ids))
                          .order_by(AuditEvent.seq.desc()).limit(200)).all()
    return render_template("staff/reveals.html", requests=rows, log=log,
                           people=users_by_id(session, [ev.actor_id for ev in log]))


@bp.post("/reveals/<int:request_id>")
@roles_required("coordinator", "admin")
def decide(request_id: int):
    session = get_session()
    req = session.get(RevealRequest, request_id) or abort(404)
    case_for(session, current_user, session.get(Case, req.case_id).report.reference)
    try:
        reveal.decide_reveal(session, current_user, req, request.form.get("decision") == "approve",
                             request.form.get("reason", ""))
        flash(_("Decision recorded."))
    except casework.CaseActionError as exc:
        session.rollback()
        flash(action_error_message(exc))
    return redirect(url_for("staff.reveals"))


@bp.route("/self-inspection", methods=["GET", "POST"])
@roles_required("unit_head")
def self_inspection():
    """A unit head records an institution's self-inspection findings as a case with its ledger row."""
    session = get_session()
    items = session.scalars(select(NegativeListItem).order_by(NegativeListItem.code)).all()
    values = request.form.to_dict() if request.method == "POST" else {}
    if request.method == "POST":
        try:
            case = record_self_inspection(
                session, current_app.extensions["intake"], current_user, institution=values.get("name", "").strip(),
                item_code=values.get("item_code", ""), manifestation=values.get("manifestation", "").strip(),
                measures=values.get("measures", "").strip(), found_on=date_arg(values.get("found_on")),
                supervising_dept=values.get("supervising_dept", "").strip(),
                handling_opinion=values.get("handling_opinion", "").strip(),
                policy_basis=values.get("policy_basis", "").strip(),
                responsible_person=values.get("responsible_person", "").strip(),
                phone=values.get("phone", "").strip(), rectified=values.get("rectified") == "y",
                rectified_on=date_arg(values.get("rectified_on")))
        except casework.CaseActionError as exc:
            session.rollback()
            return render_template("staff/self_inspection.html", items=items, values=values,
                                   error=action_error_message(exc)), 422
        flash(_("Self-inspection findings recorded as a case."))
        return redirect(url_for("staff.case_page", reference=case.report.reference))
    return render_template("staff/self_inspection.html", items=items, values=values, error=None)


def unit_name(code: str | None) -> str:
    return label(code, "unit")


@bp.app_context_processor
def staff_helpers():
    return {"channel_label": channel_label, "not_accepted_label": not_accepted_label, "action_label": action_label,
            "unit_name": unit_name,
            "routing_note": routing_note}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
