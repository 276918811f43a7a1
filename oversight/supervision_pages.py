"""Pages about time: the supervision list (督办) and overdue cases by unit for the task force, and the
weekly report (周调度) for unit heads and the task force. Also the labels every page uses for stages."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from casework import workflow as casework
from casework.page_actions import action_error_message
from core.db import get_session
from core.localtime import local_today, week_of
from core.roles import roles_required
from oversight.bulletin import overdue_by_unit
from oversight.reminders import supervision_list
from oversight.weekly import submit_weekly, unit_reports, week_figures, weekly_status

bp = Blueprint("deadlines", __name__)


def stage_label(stage: str) -> str:
    return {"acceptance": _("Acceptance decision"), "acceptance_notice": _("Acceptance notice"),
            "handling": _("Handling"), "plan": _("Plan time limit"), "result_feedback": _("Result feedback"),
            "police_referral": _("Police referral decision"), "personal": _("Personal reminder"),
            "weekly_report": _("Weekly report")}.get(stage, stage)


def calendar_warning() -> str:
    """Set when this year or the next has no official holiday schedule (deadlines there are estimates)."""
    calendar = current_app.extensions["workcalendar"]
    today = local_today()
    missing = calendar.missing_years(today.year, today.year + 1)
    if not missing:
        return ""
    return _("No official holiday schedule for %(years)s: deadlines there are counted with weekends only "
             "(marked ≈). Add the year to config/holidays.toml when the State Council publishes it.",
             years=", ".join(str(y) for y in missing))


@bp.app_context_processor
def helpers():
    return {"stage_label": stage_label, "calendar_warning": calendar_warning}


@bp.get("/supervision")
@roles_required("coordinator", "admin")
def supervision():
    session = get_session()
    today = local_today()
    return render_template("deadlines/supervision.html", rows=supervision_list(session, current_user), today=today,
                           overdue=overdue_by_unit(session, today))


@bp.route("/weekly", methods=["GET", "POST"])
@roles_required("unit_head", "coordinator", "admin")
def weekly():
    session = get_session()
    today = local_today()
    monday = week_of(today)
    if request.method == "POST":
        try:
            submit_weekly(session, current_user, request.form.get("progress", ""), today)
            flash(_("This week's report was sent to the task force."))
        except casework.CaseActionError as exc:
            session.rollback()
            flash(action_error_message(exc))
        return redirect(url_for("deadlines.weekly"))
    if current_user.role == "unit_head" and current_user.unit_code != "taskforce":
        history = unit_reports(session, current_user.unit_code)
        sent = next((r for r in history if r.week_of == monday), None)
        # what the head sees is counted without the cases hidden from them (named in, or their unit's
        # leadership accused): a figure one higher than their queue would tell them a report exists
        figures = week_figures(session, current_user.unit_code, monday, today, viewer=current_user)
        return render_template("deadlines/weekly_unit.html", monday=monday, sunday=monday + timedelta(days=6),
                               sent=sent, figures=figures, history=history)
    return render_template("deadlines/weekly_taskforce.html", monday=monday, sunday=monday + timedelta(days=6),
                           status=weekly_status(session, monday),
                           previous=weekly_status(session, monday - timedelta(days=7)))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
