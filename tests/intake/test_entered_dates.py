"""Dates people type, checked against the district's today, and staff form errors that say what they are.
Clerk entry: 收到时间 left empty means now (its hint says so); a time after now is refused with its own
message; a malformed time, a source not offered, a CSRF failure each get their own message, and only the
last one says the form expired. The 五定 time limit cannot lie before today; dates of case actions name their
field. The admin's user form says which field is wrong."""
import re
from datetime import datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

from casework.models import Case
from core.db import utcnow
from core.localtime import LOCAL_TZ, local_today
from intake.errors import ValidationFailed
from intake.models import Report
from intake.validate import Limits, ReportInput, validate_report
from tests.support.factories import file_report
from tests.support.staff import login, make_user, otp_code
from tests.support.web import hidden_fields

SECRET = pyotp.random_base32()
TEXT = "来信反映：区中心医院护士长收病人家属五百元才给安排床位，多名病友都遇到过。"
EXPIRED = "表单已过期"


def log_in(client, user):
    resp = login(client, user.username, otp=otp_code(SECRET) if user.needs_totp else None)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]


def clerk_form(client, **values):
    page = client.get("/clerk/new").get_data(as_text=True)
    data = hidden_fields(page)
    source = re.search(r'value="(letter:health:[^"]+)"', page).group(1)
    data.update({"source": source, "identity": "anonymous", "text": TEXT, "received_at": ""})
    data.update(values)
    return data


def local_input(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def clerk(session):
    return make_user(session, "clerk1", role="clerk", unit="health", display_name="登记员甲")


def registered(session, resp) -> Report:
    assert resp.status_code == 200, resp.get_data(as_text=True)[:800]
    reference = re.search(r'data-testid="reference">([^<]+)<', resp.get_data(as_text=True)).group(1)
    return session.scalar(select(Report).where(Report.reference == reference))


def test_clerk_leaves_received_at_empty_and_it_means_now(client, session, clerk):
    log_in(client, clerk)
    before = utcnow()
    report = registered(session, client.post("/clerk/new", data=clerk_form(client)))
    assert before - timedelta(seconds=1) <= report.received_at <= utcnow() + timedelta(seconds=1)
    assert report.channel == "letter" and report.received_by == "health"


def test_clerk_types_a_past_time_or_one_a_minute_ahead(client, session, clerk):
    log_in(client, clerk)
    yesterday = datetime.now(LOCAL_TZ) - timedelta(days=1)
    report = registered(session, client.post("/clerk/new", data=clerk_form(client, received_at=local_input(yesterday))))
    assert report.received_at == yesterday.astimezone(LOCAL_TZ).replace(second=0, microsecond=0, tzinfo=None) - \
        yesterday.utcoffset()
    ahead = datetime.now(LOCAL_TZ) + timedelta(minutes=1)  # the clerk's watch runs a little fast: still taken
    registered(session, client.post("/clerk/new", data=clerk_form(client, received_at=local_input(ahead),
                                                                  text=TEXT + "（第二封）")))


def test_a_received_time_in_the_future_is_refused_with_its_own_message(client, session, clerk):
    log_in(client, clerk)
    for later in (timedelta(hours=2), timedelta(days=1), timedelta(days=400)):
        resp = client.post("/clerk/new", data=clerk_form(client, received_at=local_input(datetime.now(LOCAL_TZ) + later)))
        page = resp.get_data(as_text=True)
        assert resp.status_code == 422
        assert "收到时间不能晚于现在" in page and EXPIRED not in page
        assert TEXT in page  # the clerk's transcription is kept
    assert session.scalar(select(Report.id)) is None


def test_each_clerk_form_error_says_what_it_is(client, session, clerk):
    log_in(client, clerk)
    for value in ("明天上午", "2026-13-45T10:00", "2026-11-20"):
        resp = client.post("/clerk/new", data=clerk_form(client, received_at=value))
        page = resp.get_data(as_text=True)
        assert resp.status_code == 422, value
        assert "请填写收到的日期和时间" in page and EXPIRED not in page and "不是有效的日期与时间值" not in page
    resp = client.post("/clerk/new", data=clerk_form(client, source="phone:health:0000"))
    assert resp.status_code in (422, 400) and EXPIRED not in resp.get_data(as_text=True)
    resp = client.post("/clerk/new", data=clerk_form(client, text="太短"))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and EXPIRED not in page and "至少" in page
    stale = clerk_form(client, csrf_token="not-a-token")
    resp = client.post("/clerk/new", data=stale)
    assert resp.status_code == 400 and EXPIRED in resp.get_data(as_text=True)
    assert session.scalar(select(Report.id)) is None


def test_validate_report_refuses_a_future_received_at():
    now = datetime(2026, 12, 1, 2, 0)
    data = ReportInput(text=TEXT, channel="letter", received_at=now + timedelta(hours=1))
    with pytest.raises(ValidationFailed) as refused:
        validate_report(data, 0, Limits(), now)
    assert list(refused.value.errors) == ["received_at"]
    assert refused.value.errors["received_at"].params["now"] == "2026-12-01 10:00"  # the district's clock
    assert validate_report(ReportInput(text=TEXT, received_at=now), 0, Limits(), now).received_at == now


# --- the case page: 五定 time limit and dates of actions -------------------------------------------

def case_page_act(client, reference, action, **data):
    token = hidden_fields(client.get(f"/cases/{reference}").get_data(as_text=True)).get("csrf_token", "")
    return client.post(f"/cases/{reference}/{action}", data={"csrf_token": token, **data}, follow_redirects=True)


def test_a_five_fixes_time_limit_before_today_is_refused(app, client, session, ctx):
    handler = make_user(session, "hh", role="handler", unit="health", display_name="王医政")
    with app.app_context():
        filed = file_report(session, ctx, text="区人民医院外科医生收受患者红包五千元，手术前暗示家属不给红包就往后排。")
    log_in(client, handler)
    case_page_act(client, filed.reference, "accept")
    plan = {"problem": "收受红包", "measures": "退还红包", "responsible": "院长", "goal": "杜绝红包"}
    yesterday = (local_today() - timedelta(days=1)).isoformat()
    page = case_page_act(client, filed.reference, "plan", **plan, deadline=yesterday).get_data(as_text=True)
    assert f"定工作时限不能早于今天（{local_today().isoformat()}）" in page and EXPIRED not in page
    session.expire_all()
    case = session.scalar(select(Case).where(Case.report_id == filed.report_id))
    assert case.plan_deadline is None
    page = case_page_act(client, filed.reference, "plan", **plan, deadline="下个月").get_data(as_text=True)
    assert "“定工作时限”不是有效的日期" in page
    page = case_page_act(client, filed.reference, "plan", **plan, deadline="").get_data(as_text=True)
    assert "请填写“定工作时限”" in page
    page = case_page_act(client, filed.reference, "plan", **{**plan, "goal": ""},
                         deadline=local_today().isoformat()).get_data(as_text=True)
    assert "请填写“定预期目标”" in page
    case_page_act(client, filed.reference, "plan", **plan, deadline=local_today().isoformat())  # today is fine
    session.expire_all()
    assert session.get(Case, case.id).plan_deadline == local_today()
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    page = case_page_act(client, filed.reference, "rectified", done_on=tomorrow, note="已整改").get_data(as_text=True)
    assert "“整改完成日期”不能晚于今天" in page


def test_the_admin_user_form_names_the_wrong_field(client, session):
    admin = make_user(session, "admin1", role="admin", unit="taskforce", totp_secret=SECRET)
    log_in(client, admin)
    data = hidden_fields(client.get("/admin/users/new").get_data(as_text=True))
    data.update({"username": "new1", "display_name": "名" * 101, "unit": "health", "role": "handler",
                 "email": "not-an-email", "password": "x" * 16})
    page = client.post("/admin/users/new", data=data).get_data(as_text=True)
    assert "最多100个字符" in page and EXPIRED not in page


def test_an_empty_weekly_report_names_its_field(client, session):
    head = make_user(session, "hhead", role="unit_head", unit="health", display_name="卫健局长")
    log_in(client, head)
    token = hidden_fields(client.get("/weekly").get_data(as_text=True)).get("csrf_token", "")
    page = client.post("/weekly", data={"csrf_token": token, "progress": "  "}, follow_redirects=True)
    assert "请填写“本周工作进展”" in page.get_data(as_text=True)
    stale = client.post("/weekly", data={"csrf_token": "x", "progress": "本周新收 2 件"})
    assert stale.status_code == 400 and EXPIRED in stale.get_data(as_text=True)  # only CSRF is "expired"
