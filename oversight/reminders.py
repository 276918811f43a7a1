"""The reminders pass: before, at and after each deadline, the supervision list (督办), personal
reminders, the Thursday weekly-report reminder (周调度) and the monthly-bulletin notice (月通报).

Exactly once: each reminder is a row keyed by (subject, kind, due date, recipient) with a unique
constraint, inserted in the same transaction as its mail in the outbox; a rerun, a restart or a second
scheduler finds the key taken and sends nothing. Work is proportional to what is due: the pass reads
only deadlines whose `next_remind_on` has come (indexed), then moves it to their next phase.

No storms: only the latest phase of a deadline is sent (a late pass skips the ones it missed), every
person gets one mail per pass listing all their reminders, nothing is sent for ended cases, and paused
clocks are skipped."""
from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Callable

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from casework.access import hidden_case_ids, visible_case_ids_clause
from casework.deadline_models import CaseDeadline, PersonalReminder, Reminder, Supervision
from casework.deadline_rules import DeadlinePolicy
from casework.deadlines import AFTER_END_STAGES, DEADLINES_VERSION, sync_deadlines
from casework.models import Case
from casework.review import handled_by
from casework.rules import OPEN_STATUSES, TASKFORCE
from core.accounts import User
from core.db import utcnow
from core.localtime import week_of
from core.units import Unit
from core.workdays import WorkCalendar
from intake.identity import IdentityCipher
from intake.models import Report
from intake.outbox import OutgoingMail, enqueue
from oversight.models import WeeklyReport

log = logging.getLogger(__name__)
BATCH = 5000
MONTHLY_TIME = time(9, 0)
NOT_ESCALATED = ("result_feedback", "return_call")  # reminded, never put on the 督办 list


@dataclass(frozen=True)
class Due:
    """One reminder to one person, before it is sent."""
    subject: str
    kind: str
    due_on: date
    case_id: int | None = None
    reference: str = ""
    stage: str = ""
    phase: str = ""
    unit_code: str = ""


@dataclass
class ReminderContext:
    policy: DeadlinePolicy
    calendar: WorkCalendar
    cipher: IdentityCipher
    render: Callable[[User, list[Due]], OutgoingMail]  # one mail for one person's reminders
    mail_domain: str = "localhost"


@dataclass
class PassResult:
    synced: int = 0
    deadlines: int = 0
    reminders: int = 0
    mails: int = 0
    no_address: int = 0
    escalated: int = 0
    skipped: str = ""
    recipients: dict = field(default_factory=dict)

    def summary(self) -> str:
        if self.skipped:
            return f"no reminders: {self.skipped} (synced {self.synced} case(s))"
        return (f"synced {self.synced} case(s); {self.deadlines} deadline(s) due; {self.reminders} reminder(s) "
                f"in {self.mails} mail(s); {self.no_address} without an address; {self.escalated} escalated (督办)")


class Staff:
    """The active staff a pass may write to, loaded once per pass."""

    def __init__(self, session: Session):
        self.users = {u.id: u for u in session.scalars(
            select(User).where(User.active.is_(True),
                               User.role.in_(("handler", "unit_head", "coordinator", "clerk"))))}
        self.heads: dict[str, list[User]] = defaultdict(list)
        self.clerks: dict[str, list[User]] = defaultdict(list)  # 回访 reminders go to the receiving unit's clerks
        self.coordinators: list[User] = []
        for user in self.users.values():
            if user.role == "clerk":
                self.clerks[user.unit_code].append(user)
            if user.role == "unit_head":
                self.heads[user.unit_code].append(user)
            if user.role == "coordinator":
                self.coordinators.append(user)

        self._hidden: dict[int, set[int] | None] = {}

    def recused(self, session: Session, user: User, case_id: int) -> bool:
        """The case is hidden from the user: named in it, their unit's leadership accused, for
        coordinators only — or they see no case at all, having no real name (looked up once per person
        and pass)."""
        if user.id not in self._hidden:
            self._hidden[user.id] = hidden_case_ids(session, user)
        hidden = self._hidden[user.id]
        return hidden is None or case_id in hidden

    def unit_heads(self, unit: str) -> list[User]:
        return self.coordinators if unit == TASKFORCE else self.heads.get(unit, [])


def recipients(staff: Staff, case: Case, stage: str, phase: str, unit: str = "") -> list[User]:
    if stage == "return_call":  # the clerks of the unit that received the report
        return staff.clerks.get(unit, [])
    if stage == "review":  # the task force (those who handled the case are left out by _for)
        return staff.coordinators
    handler = staff.users.get(case.handler_id) if case.handler_id else None
    heads = staff.unit_heads(case.lead_unit)
    if phase == "escalate":
        return staff.coordinators
    if phase == "before" and stage != "police_referral":
        return [handler] if handler else heads
    return ([handler] if handler else []) + [h for h in heads if h is not handler]


def run_pass(session: Session, ctx: ReminderContext, now: datetime) -> PassResult:
    """One pass as if it were `now` (local time, naive or Asia/Shanghai). Commits as it goes: a pass
    killed half-way leaves every batch it finished done and the rest to the next pass."""
    result = PassResult()
    today = now.date()
    result.synced = backfill(session, ctx, today)
    working, _ = ctx.calendar.is_workday(today)
    if not working:
        result.skipped = f"{today} is not a working day"
        return result
    if now.time() < ctx.policy.reminders.send_from:
        result.skipped = f"before {ctx.policy.reminders.send_from:%H:%M}"
        return result
    staff = Staff(session)
    first = True
    while True:
        pending, count = _due_deadlines(session, ctx, staff, today, result)
        if first:
            pending += _personal(session, staff, today) + _weekly(session, ctx, staff, now) + _monthly(ctx, staff, now)
            first = False
        if pending:
            _deliver(session, ctx, staff, pending, result)
        session.commit()
        result.deadlines += count
        if count < BATCH:
            break
    return result


def backfill(session: Session, ctx: ReminderContext, today: date, limit: int = 2000) -> int:
    """Cases opened before deadlines existed (an upgrade) or by an older version of the rules get theirs
    computed; their first reminders then come from the pass, one mail per person."""
    cases = list(session.scalars(select(Case).where(Case.deadlines_version < DEADLINES_VERSION).limit(limit)))
    for case in cases:
        sync_deadlines(session, case, today=today, rules=(ctx.policy, ctx.calendar))
    session.commit()
    return len(cases)


def _due_deadlines(session: Session, ctx: ReminderContext, staff: Staff, today: date,
                   result: PassResult) -> tuple[list[tuple[User, Due]], int]:
    rows = session.execute(
        select(CaseDeadline, Case, Report.reference).join(Case, Case.id == CaseDeadline.case_id)
        .join(Report, Report.id == Case.report_id)
        .where(CaseDeadline.next_remind_on <= today, CaseDeadline.state == "open")
        .order_by(CaseDeadline.next_remind_on, CaseDeadline.id).limit(BATCH).with_for_update(of=CaseDeadline,
                                                                                             skip_locked=True)).all()
    pending: list[tuple[User, Due]] = []
    ids = [deadline.case_id for deadline, _case, _ref in rows]
    supervised = set(session.execute(select(Supervision.case_id, Supervision.stage, Supervision.due_on)
                                     .where(Supervision.case_id.in_(ids))).all()) if ids else set()
    for deadline, case, reference in rows:
        if case.status not in OPEN_STATUSES and deadline.stage not in AFTER_END_STAGES:  # ended cases: only these
            deadline.next_remind_on = None
            continue
        plan = ctx.policy.reminder_plan(ctx.calendar, deadline.due_on, today)
        escalated = (deadline.case_id, deadline.stage, deadline.due_on) in supervised
        if not escalated and plan.escalate_on <= today and deadline.stage not in NOT_ESCALATED:
            if _escalate(session, deadline):
                result.escalated += 1
                pending += _for(staff, session, case, deadline, reference, "escalate")
            escalated = True  # by this pass or, just now, by another
        if plan.current is not None:
            pending += _for(staff, session, case, deadline, reference, plan.current.kind)
        deadline.next_remind_on = plan.wake_on(escalated or deadline.stage in NOT_ESCALATED)
    return pending, len(rows)


def _for(staff: Staff, session: Session, case: Case, deadline: CaseDeadline, reference: str,
         phase: str) -> list[tuple[User, Due]]:
    due = Due(subject=f"case:{case.id}", kind=f"{deadline.stage}:{phase}", due_on=deadline.due_on, case_id=case.id,
              reference=reference, stage=deadline.stage, phase=phase, unit_code=deadline.unit_code or case.lead_unit)
    users = recipients(staff, case, deadline.stage, phase, deadline.unit_code)
    if deadline.stage == "review":  # nobody who handled the case reviews it, nor is reminded to
        handled = handled_by(session, case)
        users = [u for u in users if u.id not in handled]
    return [(user, due) for user in users if not staff.recused(session, user, case.id)]


def _escalate(session: Session, deadline: CaseDeadline) -> bool:
    """Put the case on the supervision list; False if another pass just did."""
    try:
        with session.begin_nested():
            session.add(Supervision(case_id=deadline.case_id, stage=deadline.stage, due_on=deadline.due_on))
    except IntegrityError:
        return False
    return True


def _personal(session: Session, staff: Staff, today: date) -> list[tuple[User, Due]]:
    rows = session.execute(
        select(PersonalReminder, Case, Report.reference).join(Case, Case.id == PersonalReminder.case_id)
        .join(Report, Report.id == Case.report_id)
        .where(PersonalReminder.sent_at.is_(None), PersonalReminder.remind_on <= today)
        .with_for_update(of=PersonalReminder, skip_locked=True)).all()
    pending = []
    for reminder, case, reference in rows:
        reminder.sent_at = utcnow()
        user = staff.users.get(reminder.user_id) or session.get(User, reminder.user_id)
        if user is None or not user.active or staff.recused(session, user, case.id):
            continue
        pending.append((user, Due(subject=f"case:{case.id}", kind="personal", due_on=reminder.remind_on,
                                  case_id=case.id, reference=reference, stage="personal", phase="personal",
                                  unit_code=case.lead_unit)))
    return pending


def _weekly(session: Session, ctx: ReminderContext, staff: Staff, now: datetime) -> list[tuple[User, Due]]:
    """On the week's reminder day after the configured time: every unit that has not sent this week's
    report, its heads."""
    today = now.date()
    if ctx.policy.weekly_reminder_day(ctx.calendar, today) != today or now.time() < ctx.policy.reminders.weekly_time:
        return []
    monday = week_of(today)
    done = set(session.scalars(select(WeeklyReport.unit_code).where(WeeklyReport.week_of == monday)))
    pending = []
    for code, name in session.execute(select(Unit.code, Unit.name).where(Unit.code != TASKFORCE, Unit.is_member.is_(True))
                                     .order_by(Unit.sort_order)):
        if code in done:
            continue
        due = Due(subject=f"unit:{code}", kind="weekly_report", due_on=today, unit_code=code, reference=name,
                  stage="weekly_report", phase="weekly_report")
        pending += [(head, due) for head in staff.heads.get(code, [])]
    return pending


def first_workday_of_month(calendar: WorkCalendar, day: date) -> date:
    return calendar.next_workday(day.replace(day=1))


def _monthly(ctx: ReminderContext, staff: Staff, now: datetime) -> list[tuple[User, Due]]:
    """On the month's first working day after 09:00: the coordinators are told last month's bulletin
    (月通报) is ready to issue."""
    today = now.date()
    if today != first_workday_of_month(ctx.calendar, today) or now.time() < MONTHLY_TIME:
        return []
    last = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    due = Due(subject=f"bulletin:{last:%Y-%m}", kind="monthly_bulletin", due_on=today, reference=f"{last:%Y-%m}",
              stage="monthly_bulletin", phase="monthly_bulletin")
    return [(user, due) for user in staff.coordinators]


def _insert_new(session: Session, rows: list[dict]) -> dict[tuple, int]:
    """Insert the reminder keys that are not taken yet, in one statement; {key: row id} of those this
    call inserted. A key another pass holds (a rerun, a restart, the other scheduler) is skipped."""
    if not rows:
        return {}
    dialect = session.get_bind().dialect.name
    insert_ = {"postgresql": pg_insert, "sqlite": sqlite_insert}[dialect]
    stmt = (insert_(Reminder).on_conflict_do_nothing(index_elements=["subject", "kind", "due_on", "recipient_id"])
            .returning(Reminder.id, Reminder.subject, Reminder.kind, Reminder.due_on, Reminder.recipient_id))
    return {tuple(r[1:]): r[0] for r in session.execute(stmt, rows)}


def _deliver(session: Session, ctx: ReminderContext, staff: Staff, pending: list[tuple[User, Due]],
             result: PassResult) -> None:
    """Insert each reminder's key (skipping those already sent), then one mail per person for the new ones."""
    by_user: dict[int, list[Due]] = defaultdict(list)
    users: dict[int, User] = {}
    for user, due in pending:
        users[user.id] = user
        if due not in by_user[user.id]:
            by_user[user.id].append(due)
    now = utcnow()
    keys = [{"subject": d.subject, "case_id": d.case_id, "kind": d.kind, "due_on": d.due_on, "recipient_id": uid,
             "status": "queued" if users[uid].email else "no_address", "created_at": now}
            for uid, dues in by_user.items() for d in dues]
    inserted = _insert_new(session, keys)
    for user_id, dues in by_user.items():
        user = users[user_id]
        fresh = [d for d in dues if (d.subject, d.kind, d.due_on, user_id) in inserted]
        if not fresh:
            continue
        result.reminders += len(fresh)
        result.recipients[user.username] = len(fresh)
        if not user.email:
            result.no_address += len(fresh)
            log.warning("%d reminder(s) for %s, who has no email address (shown in the queue only)",
                        len(fresh), user.username)
            continue
        mail = ctx.render(user, fresh)
        outbox = enqueue(session, ctx.cipher, OutgoingMail(to=user.email, subject=mail.subject, text=mail.text,
                                                           html=mail.html),
                         kind="reminder", message_id=f"<xlt.reminder.{secrets.token_hex(12)}@{ctx.mail_domain}>")
        session.flush()
        ids = [inserted[(d.subject, d.kind, d.due_on, user_id)] for d in fresh]
        session.execute(update(Reminder).where(Reminder.id.in_(ids)).values(outbox_id=outbox.id))
        result.mails += 1


def supervision_list(session: Session, viewer: User, limit: int = 500) -> list[tuple[Supervision, Case, str]]:
    """The 督办 list as `viewer` may see it (casework.access: no case they are named in, that accuses
    their unit's leadership, or that is for coordinators only): supervisions still running, oldest
    deadline first."""
    return list(session.execute(
        select(Supervision, Case, Report.reference).join(Case, Case.id == Supervision.case_id)
        .join(Report, Report.id == Case.report_id)
        .where(and_(Supervision.ended_at.is_(None), or_(Case.status.in_(OPEN_STATUSES), Supervision.stage == "review")),
               visible_case_ids_clause(session, viewer, Supervision.case_id))
        .order_by(Supervision.due_on).limit(limit)).all())
