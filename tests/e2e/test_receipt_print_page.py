"""Issue 17, point 7 in the browser: on a 360 px phone with JavaScript off, the proof after submitting shows the
follow-up address and what the code is for, and its print page opens (a POST, the code in no address) with only
the proof; with JavaScript on, the print button appears. Screenshots in test-artifacts/."""
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
TEXT = "区某医院药剂科主任在药品采购中收受回扣，每使用一批药品返现两千元，科室人员均知情。"


def file_one(page, base):
    page.goto(base + "/report")
    page.fill("#text", TEXT)
    page.check("#consent")
    page.get_by_role("button", name="提交举报").click()
    return page.get_by_test_id("receipt").inner_text()


def test_the_proof_prints_without_javascript_on_a_phone(app, live_server, browser, shot):
    followup = app.config["SITE_URL"] + "/followup"
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN", java_script_enabled=False)
    page = context.new_page()
    urls = []
    context.on("request", lambda r: urls.append(r.url))
    receipt = file_one(page, live_server)
    assert page.get_by_test_id("followup-address").inner_text() == followup
    assert "查询码的用法" in page.get_by_test_id("code-use").inner_text()
    assert not page.locator("#print-proof").is_visible()  # the script-driven button stays hidden without JS
    shot(page, "receipt-01-proof-360-nojs")
    with context.expect_page() as opened:
        page.get_by_test_id("print-page").click()
    printed = opened.value
    printed.wait_for_load_state()
    assert printed.url == live_server + "/receipt/print"
    assert printed.get_by_test_id("receipt").inner_text() == receipt
    assert printed.get_by_test_id("followup-address").inner_text() == followup
    assert "Ctrl+P" in printed.get_by_test_id("print-hint").inner_text()
    shot(printed, "receipt-02-print-page-360-nojs")
    printed.emulate_media(media="print")
    assert not printed.get_by_test_id("print-hint").is_visible() and printed.get_by_test_id("proof").is_visible()
    shot(printed, "receipt-03-print-media")
    digits = receipt.replace("-", "")
    assert not any(digits in url or receipt in url for url in urls), urls
    context.close()


def test_the_print_button_appears_with_javascript(live_server, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    file_one(page, live_server)
    expect(page.locator("#print-proof")).to_be_visible()  # waits for static/js/print.js to unhide it
    assert page.get_by_test_id("print-page").is_visible()
    context.close()
