"""Keep a case's stored time limits in line with its state. `sync_deadlines(session, case)` is called
at the end of every case action (casework.rules.commit_action) and when a case is opened: it works
out which stages are running and from which day, then opens, moves or ends the case_deadlines rows.
Idempotent; the caller commits."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from flask import current_app, has_app_context
from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from casework.deadline_models import CaseDeadline, Supervision
from casework.deadline_rules import DeadlinePolicy
from casework.models import Case, CaseNotice, CaseReport
from casework.return_call_models import RETURN_CALL_CHANNELS, ReturnCall
from casework.states import OPEN_STATUSES, TASKFORCE
from core.db import utcnow
from core.localtime import local_date, local_today
from core.workdays import WorkCalendar
from intake.feedback_models import ReportObjection, ReportRating, ReportResult
from intake.models import Report

DEADLINES_VERSION = 2  # bump when the rules of this module change: the reminders pass re-syncs open cases
ENDED_CASE = ("merged", "transferred")
ENDED_STATUSES = ("closed", "not_accepted", "transferred")
AFTER_END_STAGES = ("result_feedback", "review", "return_call")  # stages that run after a case ended
_CONFIG = Path(__file__).resolve().parent.parent / "config"


@dataclass(frozen=True)
class Expected:
    start: date
    fixed_due: date | None = None
    unit: str | None = None  # whose stage it is, when not the lead unit's (the review is the task force's)


@dataclass(frozen=True)
class Opened:
    """What is known, without asking the database, of a case opened in this transaction from one report
    (casework.opening's batch): whether that report gives the reporter's name, and when its open
    objection was filed, if it has one. A case just opened has no notices and no deadline rows yet."""
    real_name: bool
    objection_filed_at: datetime | None = None


@lru_cache(maxsize=1)
def _default_policy() -> tuple[DeadlinePolicy, WorkCalendar]:
    return (DeadlinePolicy.from_config(_CONFIG / "deadlines.toml"),
            WorkCalendar.from_config(_CONFIG / "holidays.toml"))


def current_rules() -> tuple[DeadlinePolicy, WorkCalendar]:
    """The app's policy and calendar (its CONFIG_DIR), or the repository's defaults outside an app."""
    if has_app_context() and "deadline_policy" in current_app.extensions:
        return current_app.extensions["deadline_policy"], current_app.extensions["workcalendar"]
    return _default_policy()


def is_real_name(session: Session, case: Case) -> bool:
    return bool(session.scalar(select(exists().where(CaseReport.case_id == case.id, CaseReport.report_id == Report.id,
                                                     Report.anonymous.is_(False)))))


def _notice_given(session: Session, case: Case, kind: str, since: datetime | None = None) -> bool:
    clause = [CaseNotice.case_id == case.id, CaseNotice.kind == kind]
    if since is not None:
        clause.append(CaseNotice.given_on >= local_date(since))
    return bool(session.scalar(select(exists().where(*clause))))


def expected_stages(session: Session, case: Case, policy: DeadlinePolicy,
                    opened: Opened | None = None) -> dict[str, Expected]:
    """The stages running now for this case, each with the day its clock starts (`opened`: the case was
    opened in this transaction, see Opened)."""
    stages: dict[str, Expected] = {}
    received = local_date(case.report.received_at) if case.report is not None else local_date(case.created_at)
    real_name = None

    def real() -> bool:
        nonlocal real_name
        if real_name is None:
            real_name = opened.real_name if opened is not None else is_real_name(session, case)
        return real_name

    if case.status in ("triage", "to_accept"):
        stages["acceptance"] = Expected(received)
    if case.status not in ENDED_CASE and "acceptance_notice" in policy.stages and \
            (not policy.stages["acceptance_notice"].real_name_only or real()) and \
            (opened is not None or not _notice_given(session, case, "acceptance")):
        stages["acceptance_notice"] = Expected(received)
    if case.status == "in_progress":
        stages["handling"] = Expected(case.handling_from or local_date(case.accepted_at or case.created_at))
        if case.plan_deadline is not None:
            stages["plan"] = Expected(case.plan_deadline, fixed_due=case.plan_deadline)
    if case.status == "closed" and case.closed_at is not None and "result_feedback" in policy.stages and \
            (not policy.stages["result_feedback"].real_name_only or real()) and \
            not _notice_given(session, case, "result", since=case.accepted_at):
        stages["result_feedback"] = Expected(local_date(case.closed_at))
    if case.status in OPEN_STATUSES and case.police_referral_proposed_on is not None:
        stages["police_referral"] = Expected(case.police_referral_proposed_on)
    stages.update(feedback_stages(session, case, policy, opened))
    return {name: e for name, e in stages.items() if name in policy.stages}


def feedback_stages(session: Session, case: Case, policy: DeadlinePolicy,
                    opened: Opened | None = None) -> dict[str, Expected]:
    """After the result: the review of an open objection (the task force's, from the day it was filed) and
    the 回访 owed to a real-name reporter who came by phone, letter or visit (the receiving unit's clerk,
    from the result, until a call or a rating is recorded)."""
    stages: dict[str, Expected] = {}
    if opened is not None:
        filed_at = opened.objection_filed_at
    else:
        objection = session.scalar(select(ReportObjection).join(CaseReport, CaseReport.report_id == ReportObjection.report_id)
                                   .where(CaseReport.case_id == case.id, ReportObjection.state == "open")
                                   .order_by(ReportObjection.id).limit(1))
        filed_at = objection.filed_at if objection is not None else None
    if filed_at is not None:
        stages["review"] = Expected(local_date(filed_at), unit=TASKFORCE)
    if case.status in ENDED_STATUSES and "return_call" in policy.stages:
        rows = session.execute(
            select(Report.received_by, ReportResult.decided_on)
            .join(CaseReport, CaseReport.report_id == Report.id).join(ReportResult, ReportResult.report_id == Report.id)
            .where(CaseReport.case_id == case.id, Report.anonymous.is_(False), Report.channel.in_(RETURN_CALL_CHANNELS),
                   ~exists().where(ReportRating.result_id == ReportResult.id),
                   ~exists().where(ReturnCall.result_id == ReportResult.id),
                   ReportResult.id == select(func.max(ReportResult.id)).where(ReportResult.report_id == Report.id)
                   .correlate(Report).scalar_subquery())
            .order_by(ReportResult.id).limit(1)).first()
        if rows is not None:
            stages["return_call"] = Expected(rows[1], unit=rows[0] or case.lead_unit)
    return stages


def sync_deadlines(session: Session, case: Case, *, today: date | None = None,
                   rules: tuple[DeadlinePolicy, WorkCalendar] | None = None,
                   opened: Opened | None = None) -> list[CaseDeadline]:
    """Open, move or end the case's deadline rows; return the open ones. The caller commits. With
    `opened` (a case just opened and flushed, see Opened) nothing is read from the database and
    nothing flushed: the new rows go out with the caller's next flush."""
    policy, calendar = rules or current_rules()
    today = today or local_today()
    if case.received_at is None and case.report is not None:
        case.received_at = case.report.received_at
    if opened is None:
        session.flush()
    expected = expected_stages(session, case, policy, opened)
    rows = [] if opened is not None else list(session.scalars(
        select(CaseDeadline).where(CaseDeadline.case_id == case.id, CaseDeadline.state == "open")))
    now = utcnow()
    current: list[CaseDeadline] = []
    for row in rows:
        want = expected.get(row.stage)
        if want is not None and want.start == row.starts_on:
            _recompute(row, case, policy, calendar, want, today)
            expected.pop(row.stage)
            current.append(row)
            continue
        ended = case.status in ENDED_CASE and row.stage not in AFTER_END_STAGES
        row.state = "superseded" if want is not None else ("cancelled" if ended else "met")
        row.ended_at, row.next_remind_on = now, None
        _end_supervision(session, case.id, row.stage, now)
    for stage, want in expected.items():
        row = CaseDeadline(case_id=case.id, stage=stage, unit_code=want.unit or case.lead_unit, starts_on=want.start,
                           due_on=want.start, state="open", extension_days=0, extension_reason="", paused=0,
                           uncertain=False)
        _recompute(row, case, policy, calendar, want, today, new=True)
        session.add(row)
        current.append(row)
    nearest = min(current, key=lambda r: r.due_on, default=None)
    case.next_due_on = nearest.due_on if nearest else None
    case.next_due_stage = nearest.stage if nearest else None
    case.next_due_uncertain = bool(nearest and nearest.uncertain)  # the ≈ of the date the badge shows
    case.deadlines_version = DEADLINES_VERSION
    return current


def _recompute(row: CaseDeadline, case: Case, policy: DeadlinePolicy, calendar: WorkCalendar, want: Expected,
               today: date, *, new: bool = False) -> None:
    stage = policy.stages[row.stage]
    if want.fixed_due is not None:
        due, uncertain = want.fixed_due, False
    else:
        result = policy.due(calendar, row.stage, row.starts_on, item=case.item_code, unit=case.lead_unit,
                            extension_days=row.extension_days, paused=row.paused)
        due, uncertain = result.due, result.uncertain
    paused_now = stage.pausable and case.paused_since is not None
    unit = want.unit or case.lead_unit
    moved = new or due != row.due_on or row.unit_code != unit
    row.due_on, row.uncertain, row.unit_code = due, uncertain, unit
    if paused_now:
        row.next_remind_on = None
    elif moved or row.next_remind_on is None:
        # the first reminder of a (new or moved) deadline; a later pass works out the phase
        before = calendar.sub_workdays(due, policy.reminders.before_workdays).due
        row.next_remind_on = before


def _end_supervision(session: Session, case_id: int, stage: str, now: datetime) -> None:
    session.execute(update(Supervision).where(Supervision.case_id == case_id, Supervision.stage == stage,
                                              Supervision.ended_at.is_(None)).values(ended_at=now))


def resume_paused(case: Case, rows: list[CaseDeadline], policy: DeadlinePolicy, calendar: WorkCalendar,
                  today: date) -> None:
    """The clock runs again: each pausable running stage gets the time it stood still added."""
    if case.paused_since is None:
        return
    for row in rows:
        stage = policy.stages.get(row.stage)
        if stage is None or not stage.pausable:
            continue
        if stage.count == "workdays":
            row.paused += calendar.workdays_between(case.paused_since, today)
        else:
            row.paused += max((today - case.paused_since).days, 0)
    case.paused_since = None


def open_deadlines(session: Session, case: Case) -> list[CaseDeadline]:
    return list(session.scalars(select(CaseDeadline).where(CaseDeadline.case_id == case.id,
                                                           CaseDeadline.state == "open")
                                .order_by(CaseDeadline.due_on)))
