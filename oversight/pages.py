"""The task force's pages: the dashboard (its landing page), the monthly bulletin (page, printable
layout, .xlsx), the week's reports of every unit as one .xlsx, and the ledgers (Attachments 3 and 4) for
every unit from one page. Every download is recorded in the audit trail."""
from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, timedelta

from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from casework.models import Case, NegativeListItem
from casework.related_views import many_reporters
from core.accounts import User
from core.db import get_session, utcnow
from core.downloads import XLSX, audited_download
from core.localtime import local_midnight_utc, local_today, week_of
from core.roles import CASE_ROLES, roles_required
from core.units import Unit, list_units
from intake.models import Report
from oversight.bulletin import month_figures, month_start, previous_month
from oversight.ledger_export import KINDS, FilledBy, LedgerExportError, export_ledger, write_ledger
from oversight.rates import campaign_rates, month_rates, rates_context, three_rates
from oversight.rates_xlsx import rates_sheet
from oversight.supervision import supervised_cases
from oversight.weekly import chosen_week, weekly_status
from oversight.xlsx import write_bulletin, write_weekly

bp = Blueprint("reporting", __name__)
TASKFORCE_ROLES = ("coordinator", "admin")


def _month(value: str | None) -> date:
    try:
        return month_start(datetime.strptime(value or "", "%Y-%m").date())
    except ValueError:
        return month_start(local_today())


def _names(session):
    units = {u.code: u.name for u in session.scalars(select(Unit))}
    items = {i.code: i.title for i in session.scalars(select(NegativeListItem))}
    areas = {i.area: i.area_title for i in session.scalars(select(NegativeListItem))}
    return units, items, areas


@bp.get("/dashboard")
@roles_required(*TASKFORCE_ROLES)
def dashboard():
    session = get_session()
    today = local_today()
    received = select(func.count()).select_from(Report)
    counts = {"today": session.scalar(received.where(Report.received_at >= local_midnight_utc(today))),
              "week": session.scalar(received.where(Report.received_at >= local_midnight_utc(week_of(today)))),
              "triage": session.scalar(select(func.count()).select_from(Case).where(Case.status == "triage")),
              "supervised": len(supervised := supervised_cases(session, current_user))}
    figures = month_figures(session, today, today)
    units, items, areas = _names(session)
    missing = [unit for unit, report in weekly_status(session, week_of(today)) if report is None]
    policy = current_app.extensions["routing"].related
    return render_template("reporting/dashboard.html", counts=counts, f=figures, units=units, areas=areas,
                           supervision=supervised[:10], missing=missing, today=today, related_policy=policy,
                           many=many_reporters(session, current_user, policy, utcnow()),
                           **rates_context(session, today, today))


@bp.get("/bulletin")
@roles_required(*TASKFORCE_ROLES)
def bulletin():
    session = get_session()
    month = _month(request.args.get("month"))
    units, items, areas = _names(session)
    months = [month_start(local_today())]
    for _i in range(11):
        months.append(previous_month(months[-1]))
    return render_template("reporting/bulletin.html", f=month_figures(session, month, local_today()), units=units,
                           items=items, areas=areas, months=months, print_layout=request.args.get("print") == "1",
                           today=local_today(), **rates_context(session, month, local_today()))


@bp.get("/bulletin.xlsx")
@roles_required(*TASKFORCE_ROLES)
def bulletin_xlsx():
    session = get_session()
    month = _month(request.args.get("month"))
    units, items, areas = _names(session)
    out = io.BytesIO()
    write_bulletin(month_figures(session, month, local_today()), out, unit_name=lambda c: units.get(c, c),
                   item_title=lambda c: f"{c} {items.get(c, '')}".strip(), area_title=lambda a: areas.get(a, "未分类"),
                   extra_sheets=[rates_sheet(month_rates(session, month, local_today()),
                                             campaign_rates(session, local_today()), lambda c: units.get(c, c))])
    return _audited_download(session, out, XLSX, f"月通报-{month:%Y-%m}.xlsx", "bulletin.exported", month=f"{month:%Y-%m}")


@bp.get("/weekly.xlsx")
@roles_required(*TASKFORCE_ROLES)
def weekly_xlsx():
    session = get_session()
    monday = _week(request.args.get("week"))
    out = io.BytesIO()
    write_weekly(weekly_status(session, monday), out, monday, extra_sheets=[_week_rates_sheet(session, monday)])
    return _audited_download(session, out, XLSX, f"周调度-{monday}.xlsx", "weekly.exported", week_of=monday.isoformat())


@bp.get("/weekly.zip")
@roles_required(*TASKFORCE_ROLES)
def weekly_zip():
    """Everything the units send on Thursday, at once: the week's reports and each unit's two ledgers."""
    session = get_session()
    monday = _week(request.args.get("week"))
    status = weekly_status(session, monday)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        summary = io.BytesIO()
        write_weekly(status, summary, monday, extra_sheets=[_week_rates_sheet(session, monday)])
        bundle.writestr(f"周调度-{monday}.xlsx", summary.getvalue())
        for unit, report in status:
            submitter = session.get(User, report.submitted_by) if report else None
            filled = FilledBy(unit.name, (submitter.display_name or submitter.username) if submitter else "", "")
            for kind, label in (("institution", "机构"), ("individual", "个人")):
                part = io.BytesIO()
                write_ledger(session, kind, part, filled, unit=unit.code, viewer=current_user)
                bundle.writestr(f"{unit.name}-工作台账（{label}）.xlsx", part.getvalue())
    return _audited_download(session, out, "application/zip", f"周调度-{monday}.zip", "weekly.exported",
                             week_of=monday.isoformat(), with_ledgers=True)


def _week_rates_sheet(session, monday: date):
    """The week's three rates (and the campaign so far), as the task force's weekly page shows them."""
    today = local_today()
    units = _names(session)[0]
    return rates_sheet(three_rates(session, monday, monday + timedelta(days=6), today), campaign_rates(session, today),
                       lambda c: units.get(c, c), period_title="本周")


def _audited_download(session, out: io.BytesIO, mimetype: str, name: str, event: str, **fields):
    return audited_download(session, current_user, out, mimetype, name, event, **fields)


def _week(value: str | None) -> date:
    return chosen_week(value, local_today())


@bp.get("/ledgers")
@roles_required(*CASE_ROLES)
def ledgers():
    session = get_session()
    units = list_units(session) if current_user.is_taskforce else [session.get(Unit, current_user.unit_code)]
    return render_template("reporting/ledgers.html", units=units, kinds=KINDS)


@bp.post("/ledgers/export")
@roles_required(*CASE_ROLES)
def ledger_export():
    session = get_session()
    kind = request.form.get("kind", "")
    unit = request.form.get("unit") or None
    if unit == "all":
        unit = None
    if kind not in KINDS:
        abort(400)
    person = (request.form.get("person") or current_user.display_name or current_user.username).strip()[:60]
    contact = (request.form.get("contact") or "").strip()[:60]
    out = io.BytesIO()
    try:
        export_ledger(session, current_user, kind, out, unit=unit, person=person, contact=contact)
    except LedgerExportError:
        session.rollback()
        flash(_("You can export your own unit's ledger only."))
        return redirect(url_for("reporting.ledgers"))
    out.seek(0)
    label = "机构" if kind == "institution" else "个人"
    return send_file(out, mimetype=XLSX, as_attachment=True, max_age=0,
                     download_name=f"工作台账（{label}）-{unit or '全部单位'}-{local_today()}.xlsx")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
