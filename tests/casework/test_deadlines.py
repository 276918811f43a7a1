"""Stored due dates (casework.deadlines): each stage opens, moves and ends with the case — acceptance,
acceptance notice, handling with its one extension, the 五定 time limit, result feedback, the police
referral decision — pausing the clock, reopening, merging, correcting the item, and the queue badge."""
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from casework import workflow as casework
from casework.deadline_actions import (
    add_personal_reminder,
    decline_police_referral,
    extend_handling,
    pause_clock,
    propose_police_referral,
    resume_clock,
)
from casework.deadline_models import CaseDeadline
from casework.deadline_rules import DeadlinePolicy
from casework.deadlines import current_rules, local_today, sync_deadlines
from casework.queue import QueueFilters, deadline_badge, queue_page
from casework.rules import InvalidInput, InvalidState, NotAllowed
from core.audit import AuditEvent
from core.workdays import WorkCalendar
from tests.support.staff import Team, open_case

REAL_NAME = {"anonymous": False, "reporter_name": "李四", "reporter_phone": "13800000000",
             "reporter_email": "li4@example.com"}


@pytest.fixture
def team(session):
    return Team(session)


def rows(session, case, state="open") -> dict[str, CaseDeadline]:
    found = session.scalars(select(CaseDeadline).where(CaseDeadline.case_id == case.id, CaseDeadline.state == state))
    return {r.stage: r for r in found}


def expected(stage: str, start: date, **kw) -> date:
    policy, calendar = current_rules()
    return policy.due(calendar, stage, start, **kw).due


def test_a_new_case_gets_its_acceptance_deadline_from_receipt(app, session, ctx):
    case, _ = open_case(app, session, ctx)
    open_rows = rows(session, case)
    assert set(open_rows) == {"acceptance"}  # anonymous: no notice is owed
    row = open_rows["acceptance"]
    assert row.starts_on == local_today() and row.due_on == expected("acceptance", local_today())
    assert (case.next_due_on, case.next_due_stage) == (row.due_on, "acceptance")


def test_a_real_name_report_also_owes_the_acceptance_notice(app, session, ctx, team):
    case, _ = open_case(app, session, ctx, **REAL_NAME)
    assert set(rows(session, case)) == {"acceptance", "acceptance_notice"}
    assert rows(session, case)["acceptance_notice"].due_on == expected("acceptance_notice", local_today())
    casework.accept(session, team.handler, case)
    assert set(rows(session, case)) == {"acceptance_notice", "handling"}
    casework.record_notice(session, team.handler, case, "acceptance", local_today(), "phone")
    assert set(rows(session, case)) == {"handling"}
    assert rows(session, case, "met").keys() == {"acceptance", "acceptance_notice"}


def test_the_whole_path_each_stage_opens_and_ends(app, session, ctx, team):
    case, _ = open_case(app, session, ctx, **REAL_NAME)
    casework.accept(session, team.handler, case)
    handling = rows(session, case)["handling"]
    assert handling.starts_on == local_today() and handling.due_on == expected("handling", local_today())
    plan_day = local_today() + timedelta(days=10)
    casework.record_plan(session, team.handler, case, problem="红包", measures="退还", responsible="院长",
                         goal="杜绝", deadline=plan_day)
    assert rows(session, case)["plan"].due_on == plan_day
    assert case.next_due_on == plan_day and case.next_due_stage == "plan"  # the nearest one
    casework.record_findings(session, team.handler, case, "substantiated")
    casework.record_rectification(session, team.handler, case, local_today())
    casework.close(session, team.handler, case, result="经核查，问题已处理。")
    open_rows = rows(session, case)
    assert set(open_rows) == {"acceptance_notice", "result_feedback"}
    assert open_rows["result_feedback"].due_on == expected("result_feedback", local_today())
    casework.record_notice(session, team.handler, case, "result", local_today(), "phone")
    casework.record_notice(session, team.handler, case, "acceptance", local_today(), "phone")
    assert rows(session, case) == {} and case.next_due_on is None


def test_not_accepting_ends_the_acceptance_clock(app, session, ctx, team):
    case, _ = open_case(app, session, ctx)
    casework.not_accept(session, team.handler, case, "duplicate", result="经核查，问题已处理。")
    assert rows(session, case) == {} and rows(session, case, "met").keys() == {"acceptance"}


def test_extension_once_by_the_unit_head_with_a_reason(app, session, ctx, team):
    case, _ = open_case(app, session, ctx)
    casework.accept(session, team.handler, case)
    before = rows(session, case)["handling"].due_on
    with pytest.raises(NotAllowed):
        extend_handling(session, team.handler, case, 10, "需要调取病历")
    session.rollback()
    with pytest.raises(InvalidInput):
        extend_handling(session, team.head, case, 31, "超过上限")
    session.rollback()
    row = extend_handling(session, team.head, case, 30, "需要调取外地病历")
    assert row.due_on == expected("handling", local_today(), extension_days=30) and row.due_on > before
    assert case.next_due_on == row.due_on
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "case.deadline_extended"))
    assert event.detail["new_due"] == row.due_on.isoformat() and event.detail["old_due"] == before.isoformat()
    with pytest.raises(InvalidState):
        extend_handling(session, team.head, case, 5, "再延一次")


def test_pausing_stops_reminders_and_resuming_moves_the_due_date(app, session, ctx, team):
    case, _ = open_case(app, session, ctx)
    casework.accept(session, team.handler, case)
    row = rows(session, case)["handling"]
    due = row.due_on
    pause_clock(session, team.handler, case, "等待举报人补充材料")
    assert row.next_remind_on is None and case.paused_since == local_today()
    case.paused_since = local_today() - timedelta(days=7)  # as if stopped a week ago
    session.commit()
    resume_clock(session, team.handler, case)
    session.refresh(row)
    assert row.paused == 7 and row.due_on == expected("handling", local_today(), paused=7) and row.due_on > due
    assert row.next_remind_on is not None and case.paused_since is None


def test_reopening_starts_a_new_handling_period_not_a_burst(app, session, ctx, team):
    case, _ = open_case(app, session, ctx)
    casework.accept(session, team.handler, case)
    casework.record_findings(session, team.handler, case, "unfounded")
    casework.close(session, team.handler, case, result="经核查，问题已处理。")
    case.accepted_at = datetime(2025, 1, 1)
    session.commit()
    casework.reopen(session, team.head, case, "举报人提供新证据")
    row = rows(session, case)["handling"]
    assert row.starts_on == local_today() and row.due_on > local_today()
    assert rows(session, case, "met").keys() == {"acceptance", "handling"}


def test_police_referral_is_decided_within_three_days(app, session, ctx, team):
    case, _ = open_case(app, session, ctx)
    casework.accept(session, team.handler, case)
    propose_police_referral(session, team.handler, case, "涉嫌诈骗医保基金")
    assert rows(session, case)["police_referral"].due_on == expected("police_referral", local_today())
    with pytest.raises(NotAllowed):
        decline_police_referral(session, team.handler, case, "不够立案标准")
    session.rollback()
    decline_police_referral(session, team.head, case, "金额不足，行政处理")
    assert "police_referral" not in rows(session, case)
    propose_police_referral(session, team.handler, case, "新发现")
    casework.refer(session, team.head, case, "police", local_today(), "兴公移〔2026〕1号")
    assert "police_referral" not in rows(session, case) and case.police_referral_proposed_on is None


def test_merging_ends_the_merged_cases_clocks(app, session, ctx, team):
    first, _ = open_case(app, session, ctx)
    second, _ = open_case(app, session, ctx, text="又一次举报区人民医院外科医生张某收受患者红包，家属被迫送了三千元。")
    casework.merge(session, team.head, second, first)
    assert rows(session, second) == {} and rows(session, second, "cancelled").keys() == {"acceptance"}


def test_an_item_override_moves_the_due_date_when_the_item_is_corrected(app, session, ctx, team):
    policy = DeadlinePolicy.from_dict({"stages": {"acceptance": {"count": "days", "length": 15}},
                                       "override": [{"stage": "acceptance", "item": "5.1", "length": 5}]})
    rules = (policy, WorkCalendar())
    case, _ = open_case(app, session, ctx)
    sync_deadlines(session, case, rules=rules)
    first = rows(session, case)["acceptance"].due_on
    case.item_code = "5.1"
    sync_deadlines(session, case, rules=rules)
    session.commit()
    row = rows(session, case)["acceptance"]
    assert row.due_on == policy.due(WorkCalendar(), "acceptance", row.starts_on, item="5.1").due and row.due_on < first


def test_a_personal_reminder_is_for_the_future_only(app, session, ctx, team):
    case, _ = open_case(app, session, ctx)
    with pytest.raises(InvalidInput):
        add_personal_reminder(session, team.handler, case, local_today() - timedelta(days=1))
    session.rollback()
    row = add_personal_reminder(session, team.handler, case, local_today() + timedelta(days=3), "给医院回电话")
    assert row.user_id == team.handler.id and row.sent_at is None
    with pytest.raises(NotAllowed):  # a unit that cannot see the case cannot set one
        add_personal_reminder(session, team.market_handler, case, local_today() + timedelta(days=3))


def test_the_queue_badge_and_tabs_use_the_stored_due_date(app, session, ctx, team):
    case, _ = open_case(app, session, ctx)
    badge = deadline_badge(case)
    assert badge.due == case.next_due_on and badge.stage == "acceptance" and badge.css == "on-time"
    row = rows(session, case)["acceptance"]
    row.due_on = case.next_due_on = local_today() - timedelta(days=2)
    session.commit()
    assert deadline_badge(case).css == "overdue" and deadline_badge(case).days == -2
    page = queue_page(session, team.head, QueueFilters(tab="overdue"))
    assert [r.case.id for r in page.rows] == [case.id] and page.counts["overdue"] == 1


def test_cases_in_2027_are_marked_uncertain_until_the_schedule_is_added(app, session, ctx, team):
    case, _ = open_case(app, session, ctx)
    casework.accept(session, team.handler, case)
    row = rows(session, case)["handling"]
    crosses = row.due_on.year == 2027 or row.starts_on.year == 2027
    assert row.uncertain == crosses and case.next_due_uncertain == crosses


def test_the_approx_mark_shows_only_on_a_date_in_a_year_without_a_schedule(app, session, ctx, team):
    """A count that walked through an unknown year but ends in a known one shows a plain date; a date in
    the unknown year shows ≈ (issue 17, point 6)."""
    from casework.queue import deadline_badge
    case, _ = open_case(app, session, ctx)
    with app.app_context():
        calendar = app.extensions["workcalendar"]
        known = next(y for y in range(2020, 2040) if calendar.known(y))
        unknown = next(y for y in range(2020, 2060) if not calendar.known(y))
        case.next_due_uncertain = True
        case.next_due_on = date(known, 6, 1)
        assert not deadline_badge(case).uncertain
        case.next_due_on = date(unknown, 6, 1)
        assert deadline_badge(case).uncertain
        case.next_due_uncertain = False
        assert not deadline_badge(case).uncertain
