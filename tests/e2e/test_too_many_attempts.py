"""Issue 17, point 7 in the browser: on a 360 px phone without JavaScript, the report form refused for too many
attempts comes back with the citizen's text, says when to try again and lists the phone lines. Screenshot in
test-artifacts/."""
import pytest

pytestmark = pytest.mark.browser
MINE = "2026年11月，区中心医院药房主任收受药企回扣，每进一批药返现三千元，药房的人都知道这件事。"


@pytest.fixture
def app(app_factory):
    return app_factory(env={"RATELIMIT_ENABLED": "true", "RATELIMIT_SUBMIT": "1 per minute"})


def test_the_form_keeps_the_text_and_lists_the_phones_at_360_without_javascript(live_server, browser, shot):
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN", java_script_enabled=False)
    page = context.new_page()
    for text in ("区某医院药剂科主任在药品采购中收受回扣，每使用一批药品返现两千元，科室人员均知情。", MINE):
        page.goto(live_server + "/report")
        page.fill("#text", text)
        page.check("#consent")
        with page.expect_response(lambda r: r.url.endswith("/report") and r.request.method == "POST") as answer:
            page.get_by_role("button", name="提交举报").click()
    assert answer.value.status == 429
    assert page.locator("#text").input_value() == MINE
    assert "之后再次提交" in page.get_by_test_id("form-error").inner_text()
    phones = page.get_by_test_id("phone-lines")
    assert "0427-2811536" in phones.inner_text() and phones.locator("a[href^='tel:']").count() >= 3
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "citizen-429-form-360-nojs")
    context.close()
