"""反馈 in the browser: a reporter on a 360 px phone with JavaScript off reads the result, rates it and
objects; on a desktop a clerk records a 回访 and a task-force reviewer decides the review."""
import pyotp
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from casework import workflow as casework
from core.localtime import local_today
from intake.feedback_models import ReportObjection, ReportRating
from intake.receipts import format_receipt
from tests.e2e.test_staff_casework import sign_in
from tests.support.staff import make_user, open_case, otp_code

pytestmark = pytest.mark.browser
SECRET = pyotp.random_base32()
RESULT = "经核查，反映的问题部分属实，涉事科室已整改，相关人员已受到批评教育。"


def test_a_phone_without_javascript_reads_rates_and_objects(app, live_server, browser, shot, session, ctx):
    handler = make_user(session, "e2e-h", role="handler", unit="health", display_name="承办人")
    case, receipt = open_case(app, session, ctx)
    casework.accept(session, handler, case)
    casework.record_findings(session, handler, case, "unfounded")
    with app.app_context():
        casework.close(session, handler, case, result=RESULT)
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN", java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server + "/followup")
    page.fill("#receipt", format_receipt(receipt.receipt))
    page.locator("main form button[type=submit]").first.click()
    assert page.get_by_test_id("result-text").inner_text() == RESULT
    shot(page, "feedback-01-result-360-nojs")
    page.get_by_label("不满意").check()
    page.fill("#comment", "红包没有退还")
    page.get_by_role("button", name="提交评价").click()
    assert "谢谢，您的评价已记录" in page.content()
    assert page.get_by_test_id("rating").inner_text().endswith("不满意")
    assert page.locator("details#objection[open]").count() == 1  # the objection is offered in the same place
    shot(page, "feedback-02-rated-unsatisfied-360-nojs")
    page.fill("#text", "医生并未退还红包，科室仍在收，请复查。")
    page.get_by_role("button", name="提交异议").click()
    expect(page.get_by_text("您的异议已收到").first).to_be_visible()  # waits for the page after the POST
    assert page.get_by_test_id("objection").count() == 1
    shot(page, "feedback-03-objected-360-nojs")
    assert session.scalar(select(ReportRating.rating)) == "unsatisfied"
    assert session.scalar(select(ReportObjection.state)) == "open"
    context.close()


def test_a_clerk_records_a_return_call_and_a_reviewer_decides(app, live_server, browser, shot, session, ctx):
    handler = make_user(session, "e2e-h", role="handler", unit="health", display_name="承办人")
    make_user(session, "e2e-clerk", role="clerk", unit="health", display_name="李登记")
    make_user(session, "e2e-coord", role="coordinator", unit="taskforce", totp_secret=SECRET, display_name="周协调")
    case, receipt = open_case(app, session, ctx, channel="phone", received_by="health", anonymous=False,
                              reporter_name="钱七", reporter_phone="13700000000")
    casework.accept(session, handler, case)
    casework.record_findings(session, handler, case, "unfounded")
    with app.app_context():
        casework.close(session, handler, case, result=RESULT)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, live_server, "e2e-clerk")
    page.goto(live_server + "/return-calls")
    card = page.get_by_test_id(f"return-call-{receipt.reference}")
    assert RESULT in card.inner_text() and "钱七" not in page.content()
    card.locator("input[name=called_at]").fill(f"{local_today()}T00:05")
    card.locator("select[name=rating]").select_option("unsatisfied")
    card.locator("textarea[name=words]").fill("希望再查一查")
    shot(page, "feedback-11-return-call-form")
    card.get_by_role("button", name="记录回访").click()
    expect(page.get_by_text("回访已记录").first).to_be_visible()  # waits for the page after the POST
    assert page.get_by_test_id("no-return-calls").count() == 1
    context.close()

    client_context = browser.new_context(locale="zh-CN")
    api = client_context.request
    resp = api.post(live_server + "/api/v1/reports/objection",
                    data={"receipt": format_receipt(receipt.receipt), "text": "回访时已说明不满意，请复查此事。"})
    assert resp.status == 201
    client_context.close()

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, live_server, "e2e-coord", otp_code(SECRET))
    page.goto(live_server + f"/cases/{receipt.reference}")
    form = page.get_by_test_id("review-form")
    form.get_by_label("维持原结果").check()
    form.get_by_test_id("review-reply").fill("经复查，原办理结果认定事实清楚，予以维持。")
    shot(page, "feedback-12-review-form")
    form.get_by_test_id("review-submit").click()
    assert "维持" in page.get_by_test_id("review-decision").inner_text()
    shot(page, "feedback-13-review-decided")
    session.expire_all()
    assert session.scalar(select(ReportObjection.state)) == "upheld"
    context.close()
