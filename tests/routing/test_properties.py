"""Property tests (Hypothesis): the working-day calendar, the deadline arithmetic and the classifier's
normalisation hold their laws for any date, count and text, not only for the examples we thought of."""
from datetime import date, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from casework.deadline_rules import DeadlinePolicy
from core.workdays import WorkCalendar
from routing.normalise import fold, normalise, prepare, readable

CONFIG = Path(__file__).resolve().parents[2] / "config"
CAL = WorkCalendar.from_config(CONFIG / "holidays.toml")
POLICY = DeadlinePolicy.from_config(CONFIG / "deadlines.toml")
days = st.dates(min_value=date(2004, 1, 1), max_value=date(2028, 12, 31))
counts = st.integers(min_value=0, max_value=120)
SETTINGS = settings(max_examples=300, deadline=None)


@SETTINGS
@given(days, counts)
def test_adding_n_working_days_lands_on_a_working_day_with_n_between(start, n):
    due = CAL.add_workdays(start, n).due
    assert due >= start
    if n:
        assert CAL.is_workday(due)[0]
    assert CAL.workdays_between(start, due) == n


@SETTINGS
@given(days, counts)
def test_subtracting_undoes_adding(start, n):
    due = CAL.add_workdays(start, n).due
    if n and CAL.is_workday(start)[0]:
        assert CAL.sub_workdays(due, n).due == start


@SETTINGS
@given(days, counts, counts)
def test_working_days_add_up(start, a, b):
    assert CAL.add_workdays(CAL.add_workdays(start, a).due, b).due == CAL.add_workdays(start, a + b).due


@SETTINGS
@given(days, st.integers(min_value=1, max_value=120))
def test_civil_code_days_never_fall_short_and_end_on_a_working_day(start, n):
    due = CAL.add_days(start, n).due
    assert due >= start + timedelta(days=n)
    assert CAL.is_workday(due)[0]
    # it moved only across days off
    assert all(not CAL.is_workday(start + timedelta(days=k))[0] for k in range(n, (due - start).days))


@SETTINGS
@given(days, st.integers(min_value=0, max_value=30), st.integers(min_value=0, max_value=30))
def test_a_longer_clock_never_ends_earlier(start, extension, paused):
    for stage in ("acceptance", "acceptance_notice", "handling", "result_feedback", "police_referral"):
        base = POLICY.due(CAL, stage, start).due
        assert POLICY.due(CAL, stage, start, extension_days=extension, paused=paused).due >= base


@SETTINGS
@given(days, st.dates(min_value=date(2004, 1, 1), max_value=date(2028, 12, 31)))
def test_the_reminder_plan_is_ordered_and_never_sends_early(due, today):
    plan = POLICY.reminder_plan(CAL, due, today)
    assert plan.next_on > today
    if plan.current is not None:
        assert plan.current.on <= today
        assert plan.current.kind != "before" or today < plan.next_on <= CAL.next_workday(due)
    else:
        assert today < CAL.sub_workdays(due, POLICY.reminders.before_workdays).due


@SETTINGS
@given(days)
def test_the_unknown_year_is_flagged_exactly_when_it_is_used(start):
    result = CAL.add_workdays(start, 30)
    walked = range((start + timedelta(days=1)).year, result.due.year + 1)
    assert result.uncertain == any(not CAL.known(year) for year in walked)
    assert result.fallback_years == frozenset(y for y in walked if not CAL.known(y))


text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)


@settings(max_examples=400, deadline=None)
@given(text)
def test_normalisation_is_idempotent_and_maps_back_into_the_text(value):
    prepared = prepare(value)
    assert len(prepared.index) == len(prepared.text)
    assert all(0 <= i < len(value) for i in prepared.index)
    assert list(prepared.index) == sorted(prepared.index)
    assert normalise(prepared.text) == prepared.text
    assert fold(value) == prepared.text


@settings(max_examples=400, deadline=None)
@given(text)
def test_readable_keeps_the_length_for_evidence_offsets(value):
    assert len(readable(value)) == len(value)
