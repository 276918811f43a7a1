"""Deadline arithmetic (casework.deadline_rules): each stage's counting on China's calendar, extension,
overrides per item and unit, the reminder phases and the weekly reminder day. No database, no Flask."""
from datetime import date
from pathlib import Path

import pytest

from casework.deadline_rules import DeadlineConfigError, DeadlinePolicy
from core.workdays import WorkCalendar

CONFIG = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture(scope="module")
def cal():
    return WorkCalendar.from_config(CONFIG / "holidays.toml")


@pytest.fixture(scope="module")
def policy():
    return DeadlinePolicy.from_config(CONFIG / "deadlines.toml")


def test_the_configured_stages_follow_the_national_rules(policy):
    s = policy.stages
    assert (s["acceptance"].count, s["acceptance"].length) == ("days", 15)
    assert (s["acceptance_notice"].count, s["acceptance_notice"].length, s["acceptance_notice"].real_name_only) == \
        ("workdays", 15, True)
    assert (s["handling"].count, s["handling"].length, s["handling"].max_extension_days) == ("days", 60, 30)
    assert (s["result_feedback"].count, s["result_feedback"].length) == ("workdays", 15)
    assert (s["police_referral"].count, s["police_referral"].length) == ("days", 3)
    assert (s["review"].count, s["review"].length) == ("days", 30)  # 复查: answered within 30 days
    assert (s["return_call"].count, s["return_call"].length, s["return_call"].real_name_only) == ("workdays", 5, True)
    assert s["handling"].pausable and not s["acceptance"].pausable


def test_acceptance_counts_calendar_days_and_leaves_national_day(policy, cal):
    # 2026-09-20 + 15 days = 2026-10-05, inside the National Day holiday (10-01..10-07): moves to 10-08
    assert policy.due(cal, "acceptance", date(2026, 9, 20)).due == date(2026, 10, 8)
    # a due day that is a make-up Saturday (2026-10-10) is a working day and stays
    assert policy.due(cal, "acceptance", date(2026, 9, 25)).due == date(2026, 10, 10)


def test_acceptance_notice_counts_working_days_across_national_day(policy, cal):
    # working days after 09-30: 10-08, 10-09, 10-10 (make-up Saturday), 10-12 … 10-26 (14th), 10-27 (15th)
    assert policy.due(cal, "acceptance_notice", date(2026, 9, 30)).due == date(2026, 10, 27)


def test_result_feedback_across_spring_festival_2026(policy, cal):
    # closed 2026-02-10; the Spring Festival holiday runs 02-15..02-23, 02-14 and 02-28 are make-up Saturdays
    due = policy.due(cal, "result_feedback", date(2026, 2, 10))
    # 02-11 12 13 14(Sat) | 02-24 25 26 27 28(Sat) | 03-02 03 04 05 06 09 → the 15th working day
    assert due.due == date(2026, 3, 9) and not due.uncertain


def test_handling_into_2027_uses_the_fallback_and_says_so(policy, cal):
    due = policy.due(cal, "handling", date(2026, 12, 15))  # +60 days = 2027-02-13, a Saturday
    assert due.due == date(2027, 2, 15) and due.uncertain and 2027 in due.fallback_years
    assert "2027" in due.warning()


def test_the_2027_schedule_in_holidays_toml_makes_it_certain(policy, tmp_path):
    (tmp_path / "holidays.toml").write_text(
        '[years.2027]\ncomplete = true\nholidays = ["2027-02-15", "2027-02-16"]\nworkdays = []\n', encoding="utf-8")
    cal = WorkCalendar.from_config(tmp_path / "holidays.toml")
    due = policy.due(cal, "handling", date(2026, 12, 15))
    assert due.due == date(2027, 2, 17) and not due.uncertain


def test_extension_adds_days_once_counted_from_the_start(policy, cal):
    plain = policy.due(cal, "handling", date(2026, 3, 2)).due         # +60 = 2026-05-01 (Labour Day) → 05-06
    extended = policy.due(cal, "handling", date(2026, 3, 2), extension_days=30).due  # +90 = 2026-05-31 (Sun) → 06-01
    assert (plain, extended) == (date(2026, 5, 6), date(2026, 6, 1))


def test_pausing_adds_the_time_the_clock_stood_still(policy, cal):
    assert policy.due(cal, "handling", date(2026, 3, 2), paused=10).due == \
        policy.due(cal, "handling", date(2026, 3, 2), extension_days=10).due


def test_overrides_the_most_specific_wins(cal):
    policy = DeadlinePolicy.from_dict({
        "stages": {"handling": {"count": "days", "length": 60}},
        "override": [{"stage": "handling", "unit": "police", "length": 30},
                     {"stage": "handling", "item": "4.3", "length": 45},
                     {"stage": "handling", "item": "4.3", "unit": "medinsure", "length": 40}]})
    assert policy.length("handling") == 60
    assert policy.length("handling", unit="police") == 30
    assert policy.length("handling", item="4.3", unit="police") == 45
    assert policy.length("handling", item="4.3", unit="medinsure") == 40
    assert policy.length("handling", item="4.1", unit="medinsure") == 60


@pytest.mark.parametrize("bad", [
    {"stages": {"x": {"count": "weeks", "length": 2}}},
    {"stages": {"x": {"count": "days", "length": 0}}},
    {"stages": {"x": {"count": "days", "length": 3}}, "override": [{"stage": "y", "length": 2}]},
    {"stages": {}, "reminders": {"weekly_day": "someday"}},
])
def test_a_broken_config_is_refused_with_its_reason(bad):
    with pytest.raises(DeadlineConfigError):
        DeadlinePolicy.from_dict(bad)


def test_reminder_plan_before_at_after_and_escalation(policy, cal):
    due = date(2026, 10, 13)  # Tuesday after National Day
    before = cal.sub_workdays(due, 3).due
    assert before == date(2026, 10, 9)  # 10-12, 10-10 (make-up Saturday), 10-09
    assert policy.reminder_plan(cal, due, date(2026, 10, 8)).current is None
    plan = policy.reminder_plan(cal, due, before)
    assert (plan.current.kind, plan.next_on) == ("before", due)
    assert policy.reminder_plan(cal, due, due).current.kind == "due"
    first = cal.add_workdays(due, 5).due
    plan = policy.reminder_plan(cal, due, first)
    assert plan.current.kind == "overdue.1" and plan.escalate_on == first
    later = policy.reminder_plan(cal, due, date(2026, 11, 20))
    assert later.current.kind.startswith("overdue.") and int(later.current.kind.split(".")[1]) >= 5
    assert later.next_on > date(2026, 11, 20)


def test_a_late_pass_gets_only_the_latest_phase(policy, cal):
    due = date(2026, 10, 13)
    plan = policy.reminder_plan(cal, due, cal.add_workdays(due, 11).due)
    assert plan.current.kind == "overdue.2"  # not before, due and overdue.1 as well


def test_the_weekly_reminder_day_moves_off_holidays(policy, cal):
    assert policy.weekly_reminder_day(cal, date(2026, 11, 23)) == date(2026, 11, 26)  # an ordinary Thursday
    assert policy.weekly_reminder_day(cal, date(2026, 10, 1)) == date(2026, 9, 30)    # National Day: Wednesday
    assert policy.weekly_reminder_day(cal, date(2026, 2, 18)) is None                 # Spring Festival week


def test_the_shipped_config_parses(policy):
    assert policy.reminders.before_workdays == 3 and policy.reminders.weekly_time.hour == 14
    assert policy.label("handling", "zh") == "办理期限" and policy.label("handling", "en") == "Handling"
