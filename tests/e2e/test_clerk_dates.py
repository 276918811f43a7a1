"""A clerk registers a letter in Chromium at a phone's width (360 px) and a desktop's (1366 px): 收到时间
left empty, as its hint says, means now; a time in the future is refused with its own message next to the
field, and the transcription is kept. Screenshots in test-artifacts/ (clerk-dates-*)."""
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from core.db import utcnow
from core.localtime import LOCAL_TZ
from intake.models import Report
from tests.support.staff import PASSWORD, make_user

pytestmark = pytest.mark.browser
LETTER = "来信反映：区中心医院护士长收病人家属五百元才给安排床位，多名病友都遇到过，信末留有病房号。"


def sign_in(page, base, username):
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()


def fill_letter(page, text):
    option = page.locator("#source option[value^=\"letter:\"]").first.get_attribute("value")
    page.select_option("#source", option)
    page.fill("#text", text)


@pytest.mark.parametrize("width", [360, 1366])
def test_clerk_registers_a_letter_with_received_at_left_empty(live_server, browser, shot, session, width):
    make_user(session, "clerk1", role="clerk", unit="health", display_name="登记员甲")
    page = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN").new_page()
    sign_in(page, live_server, "clerk1")
    page.goto(live_server + "/clerk/new")
    assert page.locator("#received_at").input_value() == ""
    fill_letter(page, LETTER)
    shot(page, f"clerk-dates-{width}-1-empty-time")
    before = utcnow()
    page.get_by_role("button", name="登记").click()
    reference = page.get_by_test_id("reference").inner_text()
    assert re.fullmatch(r"\d{4}-\d{4}-\d{4}-\d{4}", page.get_by_test_id("receipt").inner_text())
    assert "表单已过期" not in page.content()
    shot(page, f"clerk-dates-{width}-2-registered")
    report = session.scalar(select(Report).where(Report.reference == reference))
    assert report.channel == "letter" and before - timedelta(seconds=2) <= report.received_at <= utcnow()

    page.goto(live_server + "/clerk/new")
    fill_letter(page, LETTER + "（另一封）")
    tomorrow = datetime.now(LOCAL_TZ) + timedelta(days=1)
    page.fill("#received_at", tomorrow.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="登记").click()
    error = page.locator("#received_at-error")
    assert "收到时间不能晚于现在" in error.inner_text()
    assert "表单已过期" not in page.content() and "不是有效的日期与时间值" not in page.content()
    assert page.locator("#text").input_value() == LETTER + "（另一封）"
    error.scroll_into_view_if_needed()
    shot(page, f"clerk-dates-{width}-3-future-refused")
    assert session.scalar(select(Report.id).where(Report.id != report.id)) is None
