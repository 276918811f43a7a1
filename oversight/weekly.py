"""The weekly report (周调度): each unit head sends the week's progress with the figures the service
counts; the task force sees who has sent it. A week runs Monday to Sunday, district time."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from casework.access import visible_case_ids_clause
from casework.deadline_models import CaseDeadline
from casework.models import Case, Referral
from casework.rules import TASKFORCE, InvalidState, NotAllowed, required_text
from core.accounts import User
from core.audit import AuditEvent, record
from core.localtime import local_midnight_utc, week_of
from core.units import Unit
from intake.models import Report
from oversight.models import WeeklyReport

FIGURES = ("new", "accepted", "not_accepted", "referred", "closed", "overdue")


def week_figures(session: Session, unit_code: str, monday: date, today: date,
                 viewer: User | None = None) -> dict[str, int]:
    """The unit's figures for the week starting `monday` (cases it leads); overdue as of `today`. With a
    `viewer`, the cases hidden from them (casework.access) are not counted: what their page shows."""
    start, end = local_midnight_utc(monday), local_midnight_utc(monday + timedelta(days=7))
    lead = Case.lead_unit == unit_code
    if viewer is not None:
        lead = and_(lead, visible_case_ids_clause(session, viewer, Case.id))

    def count(stmt) -> int:
        return int(session.scalar(stmt) or 0)

    return {
        "new": count(select(func.count()).select_from(Case).join(Report, Report.id == Case.report_id)
                     .where(lead, Report.received_at >= start, Report.received_at < end)),
        "accepted": count(select(func.count()).select_from(Case).where(lead, Case.accepted_at >= start,
                                                                       Case.accepted_at < end)),
        "not_accepted": count(select(func.count(func.distinct(AuditEvent.case_id))).select_from(AuditEvent)
                              .join(Case, Case.id == AuditEvent.case_id)
                              .where(lead, AuditEvent.action == "case.not_accepted", AuditEvent.at >= start,
                                     AuditEvent.at < end)),
        "referred": count(select(func.count()).select_from(Referral).join(Case, Case.id == Referral.case_id)
                          .where(lead, Referral.referred_on >= monday, Referral.referred_on < monday + timedelta(days=7))),
        "closed": count(select(func.count()).select_from(Case).where(lead, Case.closed_at >= start, Case.closed_at < end,
                                                                     Case.status == "closed")),
        "overdue": count(select(func.count(func.distinct(CaseDeadline.case_id))).select_from(CaseDeadline)
                         .join(Case, Case.id == CaseDeadline.case_id)
                         .where(lead, CaseDeadline.state == "open", CaseDeadline.due_on < today)),
    }


def submit_weekly(session: Session, actor: User, progress: str, today: date) -> WeeklyReport:
    """The unit head sends this week's report (once; a second submission is refused)."""
    if actor.role != "unit_head" or actor.unit_code == TASKFORCE:
        raise NotAllowed("only a unit head sends the unit's weekly report")
    progress = required_text(progress, 10000, field="progress")
    monday = week_of(today)
    report = WeeklyReport(unit_code=actor.unit_code, week_of=monday, progress=progress, submitted_by=actor.id,
                          figures=week_figures(session, actor.unit_code, monday, today))
    try:
        with session.begin_nested():
            session.add(report)
    except IntegrityError:
        raise InvalidState("this week's report was already sent", status="submitted") from None
    record(session, "weekly.submitted", actor=actor, unit=actor.unit_code, week_of=monday.isoformat(),
           figures=report.figures)
    session.commit()
    return report


def weekly_status(session: Session, monday: date) -> list[tuple[Unit, WeeklyReport | None]]:
    """Each member unit (not the task force) with its report for the week, or None."""
    reports = {r.unit_code: r for r in session.scalars(select(WeeklyReport).where(WeeklyReport.week_of == monday))}
    units = session.scalars(select(Unit).where(and_(Unit.code != TASKFORCE, Unit.is_member.is_(True)))
                            .order_by(Unit.sort_order))
    return [(u, reports.get(u.code)) for u in units]


def unit_reports(session: Session, unit_code: str, limit: int = 12) -> list[WeeklyReport]:
    return list(session.scalars(select(WeeklyReport).where(WeeklyReport.unit_code == unit_code)
                                .order_by(WeeklyReport.week_of.desc()).limit(limit)))


def chosen_week(value: str | None, today) -> date:
    """?week=YYYY-MM-DD (any day of it) or "last"; this week when absent, wrong or in the future."""
    monday = week_of(today)
    if value == "last":
        return monday - timedelta(days=7)
    try:
        chosen = week_of(date.fromisoformat(value or ""))
    except ValueError:
        return monday
    return chosen if chosen <= monday else monday
