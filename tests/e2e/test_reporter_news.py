"""Issue 17, point 7 in the browser: a reporter's message on a closed case is a badge on the handler's queue (whole,
at 1366 and 360 px) and a line in the case's timeline. Screenshots in test-artifacts/."""
import pytest
from sqlalchemy import select

from casework import workflow as casework
from intake.followup import add_reporter_message
from intake.models import Report
from tests.e2e.test_staff_casework import sign_in
from tests.support.staff import make_user, open_case

pytestmark = pytest.mark.browser


def test_the_handler_sees_the_reporters_message_on_a_closed_case(app, live_server, browser, shot, session, ctx):
    handler = make_user(session, "e2e-h", role="handler", unit="health", display_name="承办人")
    case, receipt = open_case(app, session, ctx)
    casework.accept(session, handler, case)
    casework.record_findings(session, handler, case, "unfounded")
    with app.app_context():
        casework.close(session, handler, case, result="经核查，反映的问题不属实。")
    report = session.scalar(select(Report).where(Report.id == receipt.report_id))
    add_reporter_message(session, ctx, report, "结果我不认可，医院还在收红包。")
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, live_server, "e2e-h")
    page.goto(live_server + "/queue?tab=closed")
    badge = page.get_by_test_id("new-message")
    assert badge.count() == 1 and badge.inner_text() == "举报人新留言"
    assert badge.bounding_box()["height"] < 30  # one line
    shot(page, "news-01-queue-badge-1366")
    page.set_viewport_size({"width": 360, "height": 800})
    assert badge.is_visible() and page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "news-02-queue-badge-360")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.get_by_role("link", name=receipt.reference).click()
    line = page.get_by_test_id("timeline-reporter-message")
    assert line.count() == 1
    assert "案件办结之后" in page.get_by_test_id("timeline").inner_text()
    shot(page, "news-03-timeline")
    page.goto(live_server + "/queue?tab=closed")
    assert page.get_by_test_id("new-message").count() == 0  # read
    context.close()
