"""The working-day calendar: official holidays, make-up working days, the missing-year fallback."""
from datetime import date

import pytest

from core.workdays import WorkCalendar


@pytest.fixture
def cal():
    return WorkCalendar()


def test_national_day_2026_and_its_make_up_saturday(cal):
    assert cal.add_workdays(date(2026, 9, 30), 5).due == date(2026, 10, 13)
    assert cal.is_workday(date(2026, 10, 10)) == (True, False)  # a Saturday worked in lieu
    assert cal.is_workday(date(2026, 10, 5)) == (False, False)


def test_spring_festival_2026(cal):
    # 2026-02-15 .. 02-23 off; 02-14 (Sat) and 02-28 (Sat) worked
    result = cal.add_workdays(date(2026, 2, 13), 1)
    assert result.due == date(2026, 2, 14) and not result.uncertain
    assert cal.add_workdays(date(2026, 2, 14), 1).due == date(2026, 2, 24)


def test_civil_code_days_do_not_count_the_start_and_leave_holidays(cal):
    assert cal.add_days(date(2026, 9, 16), 15).due == date(2026, 10, 8)  # 10-01 is a holiday: next working day
    assert cal.add_days(date(2026, 3, 2), 15).due == date(2026, 3, 17)


def test_2027_falls_back_to_weekends_and_says_so(cal):
    result = cal.add_workdays(date(2026, 12, 25), 10)
    assert result.uncertain and result.fallback_years == {2027}
    assert "2027" in result.warning() and "holidays.toml" in result.warning()


def test_2027_override_makes_the_answer_certain(tmp_path):
    path = tmp_path / "holidays.toml"
    path.write_text('[years.2027]\ncomplete = true\nholidays = ["2027-01-01"]\nworkdays = []\n'
                    '[corrections]\nholidays = []\nworkdays = []\n', encoding="utf-8")
    cal = WorkCalendar.from_config(path)
    result = cal.add_workdays(date(2026, 12, 31), 1)
    assert result.due == date(2027, 1, 4) and not result.uncertain  # New Year's Day off, then the weekend


def test_corrections_override_the_library(tmp_path):
    path = tmp_path / "holidays.toml"
    path.write_text('[corrections]\nholidays = ["2026-06-01"]\nworkdays = ["2026-06-06"]\n', encoding="utf-8")
    cal = WorkCalendar.from_config(path)
    assert cal.is_workday(date(2026, 6, 1)) == (False, False)
    assert cal.is_workday(date(2026, 6, 6)) == (True, False)


def test_calendar_due_command(runner):
    out = runner.invoke(args=["calendar", "due", "--start", "2026-09-30", "--workdays", "5"])
    assert out.exit_code == 0 and out.output.splitlines() == ["2026-10-13"]
    out = runner.invoke(args=["calendar", "due", "--start", "2026-12-20", "--workdays", "15"])
    assert out.output.splitlines()[0] == "2027-01-08" and out.output.splitlines()[1].startswith("warning:")
    out = runner.invoke(args=["calendar", "due", "--start", "2026-09-16", "--days", "15"])
    assert out.output.strip() == "2026-10-08"
    assert runner.invoke(args=["calendar", "due", "--start", "2026-09-16"]).exit_code != 0
