"""Issue 17, points 2, 4, 5, 10 in Chromium at 360, 768 and 1366 px: the coordinator reads words, not codes
(queue, case page), the supervision list by case with its unit filter and export, a past week on /weekly
with 催报, and the bulletin's definitions and printable heading. Screenshots in test-artifacts/."""
from datetime import timedelta

import pyotp
import pytest

from casework.deadline_models import Supervision
from casework.deadlines import local_today
from core.localtime import week_of
from tests.e2e.test_staff_casework import sign_in
from tests.support.staff import INSURANCE_TEXT, make_user, open_case, otp_code

pytestmark = pytest.mark.browser
SECRET = pyotp.random_base32()
WIDTHS = (360, 768, 1366)


def _last_day(calendar, today, working: bool):
    """The latest day up to `today` that is (or is not) a working day in the service's calendar."""
    day = today
    while calendar.is_workday(day)[0] != working:
        day -= timedelta(days=1)
    return day


def test_the_coordinator_reads_words_and_exports_what_they_see(app, live_server, browser, shot, session, ctx,
                                                                 monkeypatch):
    make_user(session, "coord17", role="coordinator", unit="taskforce", totp_secret=SECRET, display_name="专班协调员")
    make_user(session, "head17", role="unit_head", unit="health", display_name="卫健局负责人")
    health, _ = open_case(app, session, ctx)
    market, _ = open_case(app, session, ctx, text=INSURANCE_TEXT)
    today = local_today()
    for case, stage, days in ((health, "acceptance", 12), (health, "acceptance_notice", 8), (market, "acceptance", 4)):
        session.add(Supervision(case_id=case.id, stage=stage, due_on=today - timedelta(days=days)))
    session.commit()
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    sign_in(page, live_server, "coord17", otp=otp_code(SECRET))
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server}/queue?tab=all")
        text = page.locator("main").inner_text()
        assert "兴隆台区卫生健康局" in text and " health" not in text and "to_accept" not in text
        shot(page, f"words-{width}-queue")
        page.goto(f"{live_server}/cases/{health.report.reference}")
        text = page.locator("main").inner_text()
        assert "按责任矩阵由区卫生健康局牵头" in text and "matrix" not in text  # the routing explanation, in words
        shot(page, f"words-{width}-case")
        page.goto(f"{live_server}/supervision")
        assert "督办案件 2 件" in page.get_by_test_id("supervision-count").inner_text()
        row = page.locator(f"tr[data-reference='{health.report.reference}']")
        assert "受理决定" in row.inner_text() and "受理告知" in row.inner_text()
        shot(page, f"words-{width}-supervision")
        page.goto(f"{live_server}/bulletin?print=1")
        assert "印发单位" in page.get_by_test_id("print-heading").inner_text()
        assert "受理率 = 已受理 ÷" in page.get_by_test_id("bulletin-definitions").inner_text()
        shot(page, f"words-{width}-bulletin-print")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server}/supervision")
    page.select_option("#sup-unit", market.lead_unit)
    page.get_by_role("button", name="查看").click()
    assert "督办案件 1 件" in page.get_by_test_id("supervision-count").inner_text()
    with page.expect_download() as download:
        page.get_by_test_id("supervision-xlsx").click()
    assert download.value.suggested_filename.startswith("督办-")
    with page.expect_download() as download:
        page.goto(f"{live_server}/queue?tab=all")
        page.get_by_test_id("queue-xlsx").click()
    assert download.value.suggested_filename.startswith("案件列表-")
    # 催报 goes out on working days only: the page is seen as on a rest day, then as on a working day
    # (the server's clock set to each; the live server runs in this process), whatever day the test runs
    import oversight.supervision_pages as pages
    calendar = app.extensions["workcalendar"]
    rest = _last_day(calendar, today, working=False)
    monkeypatch.setattr(pages, "local_today", lambda: rest)
    page.goto(f"{live_server}/weekly")
    assert page.locator("tr[data-unit=health]").get_by_test_id("no-remind-today").is_visible()
    assert page.get_by_test_id("remind-health").count() == 0
    today = _last_day(calendar, today, working=True)
    monkeypatch.setattr(pages, "local_today", lambda: today)
    past = week_of(today) - timedelta(days=14)
    page.goto(f"{live_server}/weekly")
    page.select_option("#week", str(past))
    page.get_by_role("button", name="查看").click()
    assert str(past) in page.locator("h2").first.inner_text()
    page.get_by_test_id("remind-health").click()
    assert "已向兴隆台区卫生健康局催报" in page.locator("main").inner_text()
    assert page.locator("tr[data-unit=health]").get_by_test_id("reminded").is_visible()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        shot(page, f"words-{width}-weekly-reminded")
