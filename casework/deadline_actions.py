"""Case actions on time limits: extend the handling period once, stop the clock while waiting on the
reporter and start it again, a personal reminder date, and the 3-day decision on a proposed referral to
the police (移送公安: the handler proposes, the lead unit's head refers or declines)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.deadline_models import CaseDeadline, PersonalReminder
from casework.deadlines import current_rules, open_deadlines, resume_paused, sync_deadlines
from casework.models import Case
from casework.rules import (
    OPEN_STATUSES,
    InvalidInput,
    InvalidState,
    MissingInput,
    NotAllowed,
    commit_action,
    local_today,
    lock,
    optional_text,
    require_status,
    require_supervisor,
    require_visible,
    require_worker,
    required_text,
)
from core.accounts import User
from core.audit import record

NOTE_LIMIT = 5000
PERSONAL_LIMIT = 20  # open personal reminders per person and case


def extend_handling(session: Session, actor: User, case: Case, days: int, reason: str) -> CaseDeadline:
    """Extend the handling period once, by up to the configured days, with a reason (the unit head or
    the task force decides)."""
    lock(session, case)
    require_supervisor(session, actor, case)
    require_status(case, "in_progress")
    policy, _calendar = current_rules()
    limit = policy.stages["handling"].max_extension_days if "handling" in policy.stages else 0
    row = session.scalar(select(CaseDeadline).where(CaseDeadline.case_id == case.id, CaseDeadline.stage == "handling",
                                                    CaseDeadline.state == "open"))
    if row is None or limit <= 0:
        raise InvalidState("this case has no handling period that can be extended", status=case.status)
    if row.extension_days:
        raise InvalidState("the handling period was already extended once", status=case.status)
    if isinstance(days, str):
        days = days.strip()
        if not days.isdigit():
            raise (MissingInput if not days else InvalidInput)("give the extension in days", field="days")
        days = int(days)
    if not isinstance(days, int) or not 1 <= days <= limit:
        raise InvalidInput(f"the extension is 1 to {limit} days", field="days")
    reason = required_text(reason, NOTE_LIMIT, field="reason")
    old_due = row.due_on
    row.extension_days, row.extension_reason = days, reason
    sync_deadlines(session, case)
    commit_action(session, "case.deadline_extended", actor, case, stage="handling", days=days, reason=reason,
                  old_due=old_due.isoformat(), new_due=row.due_on.isoformat())
    return row


def pause_clock(session: Session, actor: User, case: Case, reason: str) -> Case:
    """Waiting on the reporter (补充材料): the pausable clocks stop and their reminders with them."""
    lock(session, case)
    require_worker(session, actor, case)
    require_status(case, *OPEN_STATUSES)
    if case.paused_since is not None:
        raise InvalidState("the clock is already stopped", status=case.status)
    reason = required_text(reason, NOTE_LIMIT, field="reason")
    case.paused_since = local_today()
    commit_action(session, "case.clock_paused", actor, case, reason=reason)
    return case


def resume_clock(session: Session, actor: User, case: Case) -> Case:
    lock(session, case)
    require_worker(session, actor, case)
    if case.paused_since is None:
        raise InvalidState("the clock is running", status=case.status)
    policy, calendar = current_rules()
    since = case.paused_since
    resume_paused(case, open_deadlines(session, case), policy, calendar, local_today())
    commit_action(session, "case.clock_resumed", actor, case, paused_since=since.isoformat())
    return case


def add_personal_reminder(session: Session, actor: User, case: Case, remind_on: date, note: str = "") -> PersonalReminder:
    """A date to be reminded of this case, for the actor only; the note stays on the page, not in mail."""
    lock(session, case)
    require_visible(session, actor, case)
    if actor.role not in ("handler", "unit_head", "coordinator"):
        raise NotAllowed("only case workers set reminders")
    if remind_on is None or remind_on == "":
        raise MissingInput("a date is required", field="remind_on")
    if not isinstance(remind_on, date):
        raise InvalidInput("the date is not a date", field="remind_on")
    if remind_on < local_today():
        raise InvalidInput("the date is in the past", field="remind_on")
    if remind_on.year > local_today().year + 2:
        raise InvalidInput("the date is too far ahead", field="remind_on")
    note = optional_text(note, 300, line=True, field="note")
    waiting = session.scalars(select(PersonalReminder.id).where(
        PersonalReminder.case_id == case.id, PersonalReminder.user_id == actor.id,
        PersonalReminder.sent_at.is_(None))).all()
    if len(waiting) >= PERSONAL_LIMIT:
        raise InvalidState("too many open reminders on this case", status=case.status)
    row = PersonalReminder(case_id=case.id, user_id=actor.id, remind_on=remind_on, note=note)
    session.add(row)
    session.flush()
    record(session, "case.personal_reminder_set", actor=actor, case_id=case.id, report_id=case.report_id,
           reminder_id=row.id, remind_on=remind_on.isoformat())
    session.commit()
    return row


def personal_reminders(session: Session, actor: User, case: Case) -> list[PersonalReminder]:
    return list(session.scalars(select(PersonalReminder).where(PersonalReminder.case_id == case.id,
                                                               PersonalReminder.user_id == actor.id)
                                .order_by(PersonalReminder.remind_on)))


def propose_police_referral(session: Session, actor: User, case: Case, reason: str) -> Case:
    """The handler proposes a referral to the police; the unit head decides within the configured days."""
    lock(session, case)
    require_worker(session, actor, case)
    require_status(case, *OPEN_STATUSES)
    if case.police_referral_proposed_on is not None:
        raise InvalidState("a referral to the police is already proposed", status=case.status)
    reason = required_text(reason, NOTE_LIMIT, field="reason")
    case.police_referral_proposed_on = local_today()
    commit_action(session, "case.police_referral_proposed", actor, case, reason=reason)
    return case


def decline_police_referral(session: Session, actor: User, case: Case, reason: str) -> Case:
    """The unit head decides not to refer (with the reason); to refer, record the referral (移送)."""
    lock(session, case)
    require_supervisor(session, actor, case)
    if case.police_referral_proposed_on is None:
        raise InvalidState("no referral to the police is proposed", status=case.status)
    reason = required_text(reason, NOTE_LIMIT, field="reason")
    proposed = case.police_referral_proposed_on
    case.police_referral_proposed_on = None
    commit_action(session, "case.police_referral_declined", actor, case, reason=reason,
                  proposed_on=proposed.isoformat())
    return case
