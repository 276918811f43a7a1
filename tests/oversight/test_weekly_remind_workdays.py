"""Issue 17, point 10: no 催报 on a day that is not a working day (core.workdays): not on a weekend, not on a
public holiday, yes on a make-up working day (调休); the page says when it can be sent instead."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from casework.deadlines import current_rules
from intake.mail_models import OutboxMessage
from oversight.models import WeeklyReminder
from oversight.weekly_reminders import NotAWorkday, remind_unit
from tests.oversight.test_desk_exports import coordinator, signed_in  # noqa: F401 (coordinator is a fixture)
from tests.support.staff import Team
from tests.support.web import hidden_fields

SATURDAY = date(2026, 11, 28)
NATIONAL_DAY = date(2026, 10, 1)      # a Thursday, a public holiday
MAKE_UP_SATURDAY = date(2026, 10, 10)  # a Saturday worked after the National Day holiday (调休)


def outbox(session) -> int:
    return int(session.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


def remind(app, session, actor, today):
    monday = date.fromordinal(today.toordinal() - today.weekday())
    with app.app_context():
        return remind_unit(session, actor, "health", monday, today, cipher=app.extensions["intake"].cipher,
                           mail_domain="xlt.gov.cn")


def test_no_reminder_on_a_weekend_or_a_holiday(app, session, coordinator):
    Team(session)
    with app.app_context():
        calendar = current_rules()[1]
    assert not calendar.is_workday(SATURDAY)[0] and not calendar.is_workday(NATIONAL_DAY)[0]
    for day, after in ((SATURDAY, date(2026, 11, 30)), (NATIONAL_DAY, date(2026, 10, 8))):
        with pytest.raises(NotAWorkday) as refused:
            remind(app, session, coordinator, day)
        session.rollback()
        assert refused.value.detail["next_workday"] == after
    assert outbox(session) == 0 and session.scalar(select(func.count()).select_from(WeeklyReminder)) == 0
    assert calendar.is_workday(MAKE_UP_SATURDAY)[0]  # chinesecalendar's 调休 for 2026
    remind(app, session, coordinator, MAKE_UP_SATURDAY)
    assert session.scalar(select(WeeklyReminder.sent_on)) == MAKE_UP_SATURDAY


def test_the_page_refuses_on_a_saturday_and_says_when(app, session, coordinator, monkeypatch):
    Team(session)
    monkeypatch.setattr("oversight.supervision_pages.local_today", lambda: SATURDAY)
    client = signed_in(app, coordinator)
    page = client.get("/weekly").get_data(as_text=True)
    assert 'data-testid="no-remind-today"' in page and 'data-testid="remind-health"' not in page
    assert "2026-11-30 可催报" in page
    resp = client.post("/weekly/remind", data={**hidden_fields(page), "unit": "health", "week": "2026-11-23"},
                       follow_redirects=True)
    assert "今天（2026-11-28）不是工作日" in resp.get_data(as_text=True) and "2026-11-30" in resp.get_data(as_text=True)
    assert outbox(session) == 0
