"""催报: the task force reminds a unit that has not sent a week's report (周调度) — one click, at most once a
district day per unit, as mail to the unit's heads through the outbox, on the audit trail."""
from __future__ import annotations

import secrets
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from casework.deadlines import current_rules
from casework.rules import InvalidState, NotAllowed
from casework.states import SUPERVISOR_ROLES, TASKFORCE
from core.accounts import User
from core.audit import record
from core.localtime import week_of
from core.units import Unit
from intake.outbox import OutgoingMail, enqueue
from oversight.models import WeeklyReminder, WeeklyReport


class AlreadyReminded(InvalidState):
    code = "already_reminded"


class AlreadySent(InvalidState):
    code = "already_sent"


class NotAWorkday(InvalidState):
    """No 催报 on a weekend or a public holiday (core.workdays): it waits for the next working day."""
    code = "not_a_workday"


def next_workday_after(calendar, today: date) -> date:
    return calendar.next_workday(today + timedelta(days=1))


def reminded_today(session: Session, today: date) -> set[str]:
    return set(session.scalars(select(WeeklyReminder.unit_code).where(WeeklyReminder.sent_on == today)))


def remind_unit(session: Session, actor: User, unit_code: str, monday: date, today: date, *, cipher,
                mail_domain: str, site: str = "", calendar=None) -> int:
    """Queue the reminder to the unit's active heads; returns how many mails. Commits. Only on a working
    day of `calendar` (the app's, casework.deadlines.current_rules, by default)."""
    if actor.role not in SUPERVISOR_ROLES:
        raise NotAllowed("only the task force sends 催报")
    calendar = calendar or current_rules()[1]
    if not calendar.is_workday(today)[0]:
        raise NotAWorkday("催报 is sent on working days only", next_workday=next_workday_after(calendar, today))
    unit = session.get(Unit, unit_code)
    if unit is None or unit.code == TASKFORCE or not unit.is_member or monday > week_of(today) \
            or monday != week_of(monday):
        raise InvalidState("no such unit or week")
    if session.scalar(select(WeeklyReport.id).where(WeeklyReport.unit_code == unit_code,
                                                    WeeklyReport.week_of == monday)) is not None:
        raise AlreadySent("the unit has sent that week's report")
    try:
        session.add(WeeklyReminder(unit_code=unit_code, week_of=monday, sent_on=today, sent_by=actor.id))
        session.flush()
    except IntegrityError:
        session.rollback()
        raise AlreadyReminded("the unit was already reminded today") from None
    heads = list(session.scalars(select(User).where(User.unit_code == unit_code, User.role == "unit_head",
                                                    User.active.is_(True), User.email != "")))
    sunday = monday + timedelta(days=6)
    for head in heads:
        text = (f"{head.display_name or head.username}，您好：\n\n{unit.name}{monday:%Y-%m-%d}至{sunday:%Y-%m-%d}的周调度"
                f"（台账及本周工作进展）尚未报送，请尽快登录系统报送：{site}/weekly\n\n工作专班\n"
                "本邮件由系统自动发送，请勿回复。")
        enqueue(session, cipher, OutgoingMail(to=head.email, subject=f"【催报】{unit.name}周调度尚未报送（{monday:%m-%d}起）",
                                              text=text),
                kind="weekly_report", message_id=f"<weekly-{unit_code}-{today:%Y%m%d}-{secrets.token_hex(6)}@{mail_domain}>")
    record(session, "weekly.reminded", actor=actor, unit=unit_code, week_of=monday.isoformat(), mails=len(heads))
    session.commit()
    return len(heads)
