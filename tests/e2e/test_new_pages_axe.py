"""axe-core over the pages added on 2026-12-02 that the role crawl of test_accessibility.py does not reach on
demo data: the proof after submitting and its print page (a POST), the public form refused with 429, and a
case page with related reports (a coordinator). WCAG 2.1 A/AA, no serious or critical violation, at 360 and
1366 px."""
import pyotp
import pytest

from tests.e2e.axe import describe, serious_violations
from tests.e2e.test_related_reports import BEDS, ORTHO, sign_in
from tests.support.factories import file_report
from tests.support.staff import make_user

pytestmark = pytest.mark.browser
SECRET = pyotp.random_base32()
TEXTS = ("区某医院药剂科主任在药品采购中收受回扣，每使用一批药品返现两千元，科室人员均知情。",
         "2026年11月，区中心医院药房主任收受药企回扣，每进一批药返现三千元，药房的人都知道这件事。")


@pytest.fixture
def app(app_factory):
    return app_factory(env={"RATELIMIT_ENABLED": "true", "RATELIMIT_SUBMIT": "1 per minute"})


def submit(page, base, text):
    page.goto(base + "/report")
    page.fill("#text", text)
    page.check("#consent")
    with page.expect_response(lambda r: r.url.endswith("/report") and r.request.method == "POST") as answer:
        page.get_by_role("button", name="提交举报").click()
    page.wait_for_load_state()
    return answer.value.status


@pytest.mark.parametrize("width", [360, 1366])
def test_the_proof_its_print_page_and_the_429_form_pass_axe(live_server, browser, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN", bypass_csp=True)
    page = context.new_page()
    found = {}
    assert submit(page, live_server, TEXTS[0]) == 200
    found["proof"] = serious_violations(page)
    with context.expect_page() as opened:
        page.get_by_test_id("print-page").click()
    printed = opened.value
    printed.wait_for_load_state()
    assert printed.url == live_server + "/receipt/print"
    found["print page"] = serious_violations(printed)
    assert submit(page, live_server, TEXTS[1]) == 429
    found["429 form"] = serious_violations(page)
    assert not any(found.values()), describe(found)
    context.close()


@pytest.mark.parametrize("width", [360, 1366])
def test_a_case_page_with_related_reports_passes_axe(app, live_server, browser, session, ctx, width):
    with app.app_context():
        first = file_report(session, ctx, title="骨科耗材回扣", text=ORTHO, accused_name="王小明", anonymous=False,
                            reporter_name="张三", reporter_phone="13812345678")
        file_report(session, ctx, title="骨科回扣", text=ORTHO.replace("两千元", "两千五百元"), accused_name="王 小明")
        file_report(session, ctx, title="挂床住院", text=BEDS, anonymous=False, reporter_name="张三",
                    reporter_phone="138-1234-5678")
    make_user(session, "coord", role="coordinator", unit="taskforce", display_name="专班协调员", totp_secret=SECRET)
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN", bypass_csp=True)
    page = context.new_page()
    sign_in(page, live_server, "coord", pyotp.TOTP(SECRET).now())
    page.goto(f"{live_server}/cases/{first.reference}")
    assert page.get_by_test_id("related").get_by_test_id("related-item").count() == 2
    violations = serious_violations(page)
    assert not violations, describe({"case page with related reports": violations})
    context.close()
