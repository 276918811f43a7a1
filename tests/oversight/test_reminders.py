"""The reminders pass (oversight.reminders): before, at and after a deadline, escalation to the
supervision list (督办), personal reminders, the Thursday weekly reminder (周调度) — each reminder once,
however often the pass runs, one mail per person, nothing for ended cases, nothing on holidays."""
import threading
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from casework import workflow as casework
from casework.deadline_actions import add_personal_reminder
from casework.deadline_models import CaseDeadline, PersonalReminder, Reminder, Supervision
from casework.deadlines import current_rules
from intake.mail_models import OutboxMessage
from jobs.tasks import reminder_context
from oversight.reminders import run_pass
from oversight.weekly import submit_weekly
from tests.support.concurrency import run_in_threads
from tests.support.staff import Team, make_user, open_case

DUE = date(2026, 12, 16)  # a Wednesday
REAL_NAME = {"anonymous": False, "reporter_name": "王秘密", "reporter_phone": "13911112222",
             "reporter_email": "wang.secret@example.com"}


@pytest.fixture
def team(session):
    return Team(session)


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute)


def workdays(day: date, n: int) -> date:
    _policy, calendar = current_rules()
    return (calendar.add_workdays(day, n) if n >= 0 else calendar.sub_workdays(day, -n)).due


def handling_due_on(session, case, due: date) -> CaseDeadline:
    """Put the case's handling deadline on `due` (its first reminder 3 working days before)."""
    row = session.scalar(select(CaseDeadline).where(CaseDeadline.case_id == case.id, CaseDeadline.stage == "handling",
                                                    CaseDeadline.state == "open"))
    row.due_on, row.next_remind_on = due, workdays(due, -3)
    case.next_due_on = due
    session.commit()
    return row


def working_case(app, session, ctx, team, due: date = DUE, **report):
    case, _ = open_case(app, session, ctx, **report)
    casework.accept(session, team.handler, case)
    handling_due_on(session, case, due)
    return case


def run(app, session, now: datetime):
    with app.app_context():
        return run_pass(session, reminder_context(app), now)


def sent(session) -> list[tuple[str, str, str]]:
    """(kind, recipient username, due) of every reminder row, sorted."""
    from core.accounts import User
    rows = session.execute(select(Reminder.kind, User.username, Reminder.due_on)
                           .join(User, User.id == Reminder.recipient_id))
    return sorted((k, u, d.isoformat()) for k, u, d in rows)


def mails(app, session) -> list[dict]:
    cipher = app.extensions["intake"].cipher
    return [cipher.decrypt_json(m.envelope) for m in
            session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reminder").order_by(OutboxMessage.id))]


def test_before_at_and_after_the_deadline_then_escalation(app, session, ctx, team):
    team.head, team.coordinator  # noqa: B018 - the unit head and the task force exist
    case = working_case(app, session, ctx, team)
    assert run(app, session, at(workdays(DUE, -4))).reminders == 0  # too early

    run(app, session, at(workdays(DUE, -3)))
    assert sent(session) == [("handling:before", "t-handler", "2026-12-16")]  # the handler alone, before
    run(app, session, at(workdays(DUE, -3), 16))  # the pass every 10 minutes: nothing again
    run(app, session, at(workdays(DUE, -2)))
    assert len(sent(session)) == 1

    run(app, session, at(DUE))
    assert ("handling:due", "t-handler", "2026-12-16") in sent(session)
    assert ("handling:due", "t-head", "2026-12-16") in sent(session)

    first_overdue = workdays(DUE, 5)
    result = run(app, session, at(first_overdue))
    assert {("handling:overdue.1", "t-handler"), ("handling:overdue.1", "t-head"),
            ("handling:escalate", "t-coordinator")} <= {(k, u) for k, u, _ in sent(session)}
    assert result.escalated == 1
    assert session.scalar(select(Supervision).where(Supervision.case_id == case.id)).ended_at is None

    run(app, session, at(first_overdue, 15))
    run(app, session, at(workdays(DUE, 10)))
    kinds = [k for k, u, _ in sent(session) if u == "t-handler"]
    assert kinds == sorted(["handling:before", "handling:due", "handling:overdue.1", "handling:overdue.2"])
    assert [k for k, u, _ in sent(session) if u == "t-coordinator"] == ["handling:escalate"]  # escalated once

    casework.record_findings(session, team.handler, case, "unfounded")
    casework.close(session, team.handler, case, result="经核查，问题已处理。")
    assert session.scalar(select(Supervision).where(Supervision.case_id == case.id)).ended_at is not None
    count = len(sent(session))
    run(app, session, at(workdays(DUE, 20)))
    assert len(sent(session)) == count  # nothing for a closed case (anonymous: no result feedback owed)


def test_mail_names_the_case_and_deadline_and_nothing_of_the_report(app, session, ctx, team):
    case = working_case(app, session, ctx, team, **REAL_NAME)
    casework.record_notice(session, team.handler, case, "acceptance", date.today(), "phone")  # only handling left
    handling_due_on(session, case, DUE)
    run(app, session, at(workdays(DUE, -3)))
    [mail] = mails(app, session)
    body = mail["subject"] + mail["text"] + mail["html"]
    assert mail["to"] == team.handler.email
    assert case.report.reference in mail["subject"] and "办理期限" in mail["subject"]
    assert f"/cases/{case.report.reference}" in mail["text"] and "2026-12-16" in mail["text"]
    for secret in ("王秘密", "13911112222", "wang.secret", "红包", "张某"):
        assert secret not in body


def test_one_mail_per_person_and_a_late_pass_sends_only_the_latest_phase(app, session, ctx, team):
    team.head  # noqa: B018
    working_case(app, session, ctx, team)
    working_case(app, session, ctx, team, text="区人民医院另一名医生收受患者家属红包两千元，不给就拖延手术安排。")
    # the scheduler was down for weeks: the first pass comes 11 working days after the deadline
    result = run(app, session, at(workdays(DUE, 11)))
    handler_kinds = [k for k, u, _ in sent(session) if u == "t-handler"]
    assert handler_kinds == ["handling:overdue.2", "handling:overdue.2"]  # not before, due, overdue.1 as well
    to = [m["to"] for m in mails(app, session)]
    assert sorted(to) == sorted(set(to))  # one summary mail per person
    handler_mail = next(m for m in mails(app, session) if m["to"] == team.handler.email)
    assert "2 项待办" in handler_mail["subject"]
    assert result.mails == len(to)


def test_nothing_on_a_holiday_a_weekend_or_before_office_hours(app, session, ctx, team):
    working_case(app, session, ctx, team, due=date(2026, 10, 13))
    assert run(app, session, at(date(2026, 10, 5))).skipped  # National Day
    assert run(app, session, at(date(2026, 10, 11))).skipped  # a Sunday
    assert run(app, session, at(date(2026, 10, 12), 7, 59)).skipped
    assert sent(session) == []
    run(app, session, at(date(2026, 10, 10), 9))  # the make-up Saturday is a working day
    assert [k for k, *_ in sent(session)] == ["handling:before"]


def test_a_moved_deadline_is_reminded_again(app, session, ctx, team):
    team.head  # noqa: B018
    case = working_case(app, session, ctx, team)
    run(app, session, at(workdays(DUE, -3)))
    handling_due_on(session, case, date(2027, 1, 20))  # e.g. after an extension
    run(app, session, at(workdays(date(2027, 1, 20), -3)))
    assert [(k, d) for k, u, d in sent(session) if u == "t-handler"] == \
        [("handling:before", "2026-12-16"), ("handling:before", "2027-01-20")]


def test_a_personal_reminder_goes_once_to_its_owner(app, session, ctx, team):
    case, _ = open_case(app, session, ctx)
    day = date.today() + timedelta(days=30)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    add_personal_reminder(session, team.handler, case, day, "给医院回电话")
    run(app, session, at(day - timedelta(days=1)))
    assert sent(session) == []
    run(app, session, at(day))
    run(app, session, at(day, 11))
    assert sent(session) == [("personal", "t-handler", day.isoformat())]
    assert "给医院回电话" not in mails(app, session)[0]["text"]  # the note stays on the page
    assert session.scalar(select(PersonalReminder.sent_at)) is not None


def test_the_thursday_reminder_goes_to_units_that_have_not_reported(app, session, ctx, team):
    heads = {unit: make_user(session, f"head-{unit}", role="unit_head", unit=unit)
             for unit in ("health", "market", "medinsure", "police", "audit")}
    thursday = date(2026, 11, 26)
    submit_weekly(session, heads["health"], "本周受理 2 件，办结 1 件。", thursday - timedelta(days=1))
    assert run(app, session, at(thursday, 13, 59)).reminders == 0
    run(app, session, at(thursday, 14, 5))
    run(app, session, at(thursday, 14, 15))
    weekly = [(u, d) for k, u, d in sent(session) if k == "weekly_report"]
    assert weekly == [("head-audit", "2026-11-26"), ("head-market", "2026-11-26"),
                      ("head-medinsure", "2026-11-26"), ("head-police", "2026-11-26")]
    run(app, session, at(thursday + timedelta(days=1), 14, 5))  # Friday: not again
    assert len([k for k, *_ in sent(session) if k == "weekly_report"]) == 4


def test_the_weekly_reminder_moves_to_wednesday_in_national_day_week(app, session, ctx, team):
    make_user(session, "head-market", role="unit_head", unit="market")
    run(app, session, at(date(2026, 9, 30), 14, 30))
    assert [(k, d) for k, u, d in sent(session)] == [("weekly_report", "2026-09-30")]


def test_a_recused_unit_head_is_not_reminded_of_the_case_that_names_them(app, session, ctx, team):
    head = make_user(session, "head-zhang", role="unit_head", unit="health", display_name="张明")
    working_case(app, session, ctx, team, accused_name="张明", accused_institution="")
    run(app, session, at(DUE))
    assert ("handling:due", "t-handler", "2026-12-16") in sent(session)
    assert not [r for r in sent(session) if r[1] == head.username]


def test_staff_without_an_address_are_recorded_not_lost(app, session, ctx, team):
    team.handler.email = ""
    session.commit()
    working_case(app, session, ctx, team)
    result = run(app, session, at(workdays(DUE, -3)))
    assert result.no_address == 1 and mails(app, session) == []
    assert session.scalar(select(Reminder.status)) == "no_address"


def test_two_passes_at_once_send_each_reminder_once(app, session, ctx, team):
    team.head, team.coordinator  # noqa: B018
    for n in range(6):
        working_case(app, session, ctx, team, text=f"区人民医院第{n}名医生收受患者红包，金额{n + 1}千元，不给就拖延手术。")
    maker = app.extensions["db_sessionmaker"]
    barrier = threading.Barrier(2)

    def one_pass():
        with app.app_context(), maker() as own:
            barrier.wait()
            run_pass(own, reminder_context(app), at(workdays(DUE, 6)))

    assert run_in_threads(one_pass, 2) == []
    keys = session.execute(select(Reminder.subject, Reminder.kind, Reminder.recipient_id, Reminder.due_on)).all()
    assert len(keys) == len(set(keys)) == 6 * 2 + 6  # overdue.1 to handler and head per case, escalate each
    assert session.scalar(select(func.count()).select_from(Supervision)) == 6
    assert session.scalar(select(func.count()).select_from(Reminder).where(Reminder.outbox_id.is_(None))) == 0
    to = [m["to"] for m in mails(app, session)]
    # each pass writes one mail per person for the reminders it took; two passes at once may split them
    assert set(to) == {team.handler.email, team.head.email, team.coordinator.email}
    assert all(to.count(address) <= 2 for address in set(to))


def test_the_coordinators_hear_on_the_first_working_day_that_the_bulletin_is_ready(app, session, ctx, team):
    team.coordinator  # noqa: B018
    run(app, session, at(date(2026, 10, 1), 10))  # National Day: not a working day
    run(app, session, at(date(2026, 10, 8), 8, 45))  # the month's first working day, before 09:00
    assert sent(session) == []
    run(app, session, at(date(2026, 10, 8), 9, 30))
    run(app, session, at(date(2026, 10, 8), 15))
    run(app, session, at(date(2026, 10, 9), 10))
    assert sent(session) == [("monthly_bulletin", "t-coordinator", "2026-10-08")]
    [mail] = mails(app, session)
    assert "2026-09 月通报" in mail["subject"] and "/bulletin?month=2026-09" in mail["text"]
