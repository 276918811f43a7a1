"""Pages about time: the supervision list (督办) and overdue cases by unit for the task force, and the
weekly report (周调度) for unit heads and the task force. Also the labels every page uses for stages."""
from __future__ import annotations

import io
from datetime import timedelta

from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from casework import workflow as casework
from casework.deadlines import current_rules
from casework.page_actions import action_error_message
from core.db import get_session
from core.downloads import XLSX, audited_download
from core.labels import in_chinese, label, register
from core.localtime import local_today, week_of
from core.roles import roles_required
from core.units import Unit, list_units
from intake.forms import ConfirmForm
from oversight.bulletin import overdue_by_unit
from oversight.rates import one_unit, three_rates
from oversight.supervision import supervised_cases, write_supervision
from oversight.weekly import chosen_week, submit_weekly, unit_reports, week_figures, weekly_status
from oversight.weekly_reminders import (AlreadyReminded, AlreadySent, NotAWorkday, next_workday_after, remind_unit,
                                        reminded_today)

bp = Blueprint("deadlines", __name__)


def _stages() -> dict[str, str]:
    return {"acceptance": _("Acceptance decision"), "acceptance_notice": _("Acceptance notice"),
            "handling": _("Handling"), "plan": _("Plan time limit"), "result_feedback": _("Result feedback"),
            "police_referral": _("Police referral decision"), "personal": _("Personal reminder"),
            "weekly_report": _("Weekly report"), "review": _("Review of an objection"),
            "return_call": _("Return call")}


register("stage", _stages, table=True)


def stage_label(stage: str) -> str:
    return label(stage, "stage")


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


def _unit_arg(session) -> str | None:
    code = request.args.get("unit") or None
    return code if code and session.get(Unit, code) is not None else None


@bp.get("/supervision")
@roles_required("coordinator", "admin")
def supervision():
    session = get_session()
    today = local_today()
    unit = _unit_arg(session)
    return render_template("deadlines/supervision.html", cases=supervised_cases(session, current_user, unit),
                           today=today, unit=unit, units=list_units(session),
                           overdue=overdue_by_unit(session, today))


@bp.get("/supervision.xlsx")
@roles_required("coordinator", "admin")
def supervision_xlsx():
    session = get_session()
    today = local_today()
    unit = _unit_arg(session)
    cases = supervised_cases(session, current_user, unit)
    out = io.BytesIO()
    with in_chinese():
        title = label(unit, "unit") if unit else "全部单位"
    write_supervision(cases, out, today, title)
    return audited_download(session, current_user, out, XLSX, f"督办-{today:%Y%m%d}.xlsx", "supervision.exported",
                            unit=unit or "all", cases=len(cases))


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
        week = three_rates(session, monday, monday + timedelta(days=6), today, viewer=current_user)
        return render_template("deadlines/weekly_unit.html", monday=monday, sunday=monday + timedelta(days=6),
                               sent=sent, figures=figures, history=history,
                               rates=one_unit(week, current_user.unit_code),
                               overall_label=label(current_user.unit_code, "unit"), units={})
    chosen = chosen_week(request.args.get("week"), today)
    calendar = current_rules()[1]
    weeks = [monday - timedelta(days=7 * n) for n in range(26)]
    return render_template("deadlines/weekly_taskforce.html", monday=chosen, sunday=chosen + timedelta(days=6),
                           status=weekly_status(session, chosen), weeks=weeks, this_week=monday,
                           reminded=reminded_today(session, today), workday=calendar.is_workday(today)[0],
                           next_workday=next_workday_after(calendar, today),
                           rates=three_rates(session, chosen, chosen + timedelta(days=6), today),
                           units={u.code: u.name for u in list_units(session)})


@bp.post("/weekly/remind")
@roles_required("coordinator", "admin")
def weekly_remind():
    session = get_session()
    today = local_today()
    monday = chosen_week(request.form.get("week"), today)
    unit = request.form.get("unit", "")
    ctx = current_app.extensions["intake"]
    try:
        ConfirmForm().validate_on_submit() or abort(400)
        mails = remind_unit(session, current_user, unit, monday, today, cipher=ctx.cipher,
                            mail_domain=current_app.config["MAIL_FROM"].split("@")[-1] or "localhost",
                            site=current_app.config.get("SITE_URL", ""))
        flash(_("Reminder sent to %(unit)s (%(n)s mail(s)).", unit=label(unit, "unit"), n=mails))
    except AlreadyReminded:
        flash(_("%(unit)s was already reminded today.", unit=label(unit, "unit")))
    except AlreadySent:
        flash(_("%(unit)s has already sent that week's report.", unit=label(unit, "unit")))
    except NotAWorkday as exc:
        flash(_("Today (%(today)s) is not a working day: 催报 is sent on working days only. Send it on %(next)s.",
                today=today.isoformat(), next=exc.detail["next_workday"].isoformat()))
    except casework.CaseActionError as exc:
        session.rollback()
        flash(action_error_message(exc))
    return redirect(url_for("deadlines.weekly", week=monday.isoformat()))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
