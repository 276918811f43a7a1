"""Issue 17, points 5 and 10: /supervision counts cases (one row per case with its overdue stages), filters
by unit and exports an audited .xlsx under the same access and recusal; the queue's filter as an audited
.xlsx; /weekly shows any past week, and 催报 reminds a unit once a district day, through the outbox."""
from __future__ import annotations

import io
from datetime import timedelta

import openpyxl
import pyotp
import pytest
from sqlalchemy import func, select

from casework.deadline_models import Supervision
from core.audit import AuditEvent
from core.localtime import local_today, week_of
from intake.mail_models import OutboxMessage
from oversight.models import WeeklyReminder
from oversight.weekly import submit_weekly
from tests.support.staff import INSURANCE_TEXT, Team, login, make_user, open_case, otp_code
from tests.support.web import hidden_fields

SECRET = pyotp.random_base32()


@pytest.fixture
def coordinator(session):
    return make_user(session, "desk-coord", role="coordinator", unit="taskforce", totp_secret=SECRET,
                     display_name="欧阳明轩")


def signed_in(app, user):
    client = app.test_client()
    assert login(client, user.username, otp=otp_code(SECRET)).status_code == 302
    return client


def rows(data: bytes) -> list[tuple]:
    return list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))


def test_supervision_lists_cases_once_with_their_stages_filters_and_exports(app, session, ctx, coordinator):
    health, _ = open_case(app, session, ctx)
    market, _ = open_case(app, session, ctx, text=INSURANCE_TEXT)
    named, _ = open_case(app, session, ctx, text="区人民医院医生欧阳明轩收受患者红包五千元，不给红包就拖延手术。",
                         accused_name="欧阳明轩")
    today = local_today()
    for case, stage, days in ((health, "acceptance", 20), (health, "acceptance_notice", 15), (market, "acceptance", 5),
                              (named, "acceptance", 9)):
        session.add(Supervision(case_id=case.id, stage=stage, due_on=today - timedelta(days=days)))
    session.commit()
    client = signed_in(app, coordinator)
    page = client.get("/supervision").get_data(as_text=True)
    assert page.count(f'data-reference="{health.report.reference}"') == 1
    assert "督办案件 2 件" in page  # health and medinsure's case; the one naming the coordinator is recused
    assert named.report.reference not in page
    assert "受理决定" in page and "受理告知" in page
    only = client.get(f"/supervision?unit={market.lead_unit}").get_data(as_text=True)
    assert market.report.reference in only and health.report.reference not in only
    assert "督办案件 2 件" in client.get("/supervision?unit=nonsense' OR 1=1").get_data(as_text=True)  # ignored
    data = client.get("/supervision.xlsx")
    assert data.status_code == 200
    table = rows(data.data)
    assert "共 2 件" in table[0][0] and len(table) == 4
    health_row = next(r for r in table if r[0] == health.report.reference)
    assert health_row[1] == "兴隆台区卫生健康局" and health_row[4] == 20 and "、" in health_row[2]
    assert named.report.reference not in str(table)
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "supervision.exported"))
    assert event.detail == {"unit": "all", "cases": 2}
    team = Team(session)
    assert signed_in_plain(app, team.head).get("/supervision.xlsx").status_code == 403


def signed_in_plain(app, user):
    client = app.test_client()
    assert login(client, user.username).status_code == 302
    return client


def test_the_queue_exports_its_filter_with_its_access(app, session, ctx):
    team = Team(session)
    health, _ = open_case(app, session, ctx)
    market, _ = open_case(app, session, ctx, text=INSURANCE_TEXT)
    client = signed_in_plain(app, team.handler)
    data = client.get("/queue.xlsx?tab=to_accept&q=红包")
    assert data.status_code == 200
    text = str(rows(data.data))
    assert health.report.reference in text and market.report.reference not in text  # another unit's case
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "queue.exported"))
    assert event.detail["filters"] == {"tab": "to_accept", "q": "红包"} and event.detail["rows"] == 1
    assert signed_in_plain(app, team.clerk).get("/queue.xlsx").status_code == 403


class EveryDayWorks:
    """A calendar on which today is a working day, whatever day the suite runs (催报 waits for working days:
    tests/oversight/test_weekly_remind_workdays.py)."""
    def is_workday(self, day):
        return True, False

    def next_workday(self, day):
        return day


def test_any_past_week_and_one_reminder_a_day(app, session, coordinator, monkeypatch):
    for module in ("oversight.weekly_reminders", "oversight.supervision_pages"):
        monkeypatch.setattr(f"{module}.current_rules", lambda: (None, EveryDayWorks()))
    team = Team(session)
    head = team.head  # health's head: the one to be reminded
    today = local_today()
    past = week_of(today) - timedelta(days=21)
    submit_weekly(session, team.market_head, "本周进展", today)
    client = signed_in(app, coordinator)
    page = client.get(f"/weekly?week={past + timedelta(days=2)}").get_data(as_text=True)
    assert f"{past}" in page and 'data-testid="remind-health"' in page
    assert client.get("/weekly?week=2999-01-04").status_code == 200  # the future falls back to this week
    assert client.get("/weekly?week=<script>").status_code == 200
    form = hidden_fields(page)
    first = client.post("/weekly/remind", data={**form, "unit": "health", "week": str(past)})
    assert first.status_code == 302
    mails = list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "weekly_report")))
    assert len(mails) == 1 and mails[0].status == "pending"
    again = client.post("/weekly/remind", data={**form, "unit": "health", "week": str(past)}, follow_redirects=True)
    assert "今天已催报过" in again.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
    assert session.scalar(select(func.count()).select_from(WeeklyReminder)) == 1
    sent = client.post("/weekly/remind", data={**form, "unit": "market", "week": str(week_of(today))},
                       follow_redirects=True)
    assert "已报送该周的周调度" in sent.get_data(as_text=True)
    assert client.post("/weekly/remind", data={"unit": "audit", "week": str(past)}).status_code == 400  # CSRF
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "weekly.reminded"))
    assert event.detail == {"unit": "health", "week_of": past.isoformat(), "mails": 1}
    assert head.email and signed_in_plain(app, head).post(
        "/weekly/remind", data={"unit": "health", "week": str(past)}).status_code in (400, 403)
