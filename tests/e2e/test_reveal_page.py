"""The coordinator's identity-request page in Chromium, at phone (360 px) and desktop widths: whom each
report accuses, and a plain warning (no approve button) when the requester is named in the case's
reports. Screenshots in test-artifacts/."""
import re

import pyotp
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from casework import workflow as casework
from casework.models import Case
from casework.reveal import request_reveal
from tests.support.factories import file_report
from tests.support.staff import PASSWORD, make_user, otp_code

pytestmark = pytest.mark.browser
SECRET = pyotp.random_base32()
HONGBAO = "区人民医院外科医生收受患者红包五千元，手术前暗示家属不给红包就往后排，别的病人家属也都给了。"


PHONES = iter(range(13800001111, 13800009999))


def _case(app, session, ctx, **fields):
    """A real-name report; each from a reporter of its own (the same words from one phone are a 重复件)."""
    with app.app_context():
        receipt = file_report(session, ctx, anonymous=False, reporter_name="举报人", reporter_phone=str(next(PHONES)),
                              **fields)
    session.expire_all()
    return session.scalar(select(Case).where(Case.report_id == receipt.report_id))


def test_reveals_shows_whom_the_report_accuses_and_a_named_requester(app, live_server, browser, shot, session, ctx):
    coordinator = make_user(session, "coord", role="coordinator", unit="taskforce", totp_secret=SECRET,
                            display_name="专班协调员")
    handler = make_user(session, "hh", role="handler", unit="health", display_name="周建华")
    other = make_user(session, "hh2", role="handler", unit="health", display_name="吴晓梅")
    clean = _case(app, session, ctx, text=HONGBAO, accused_name="钱某某", accused_institution="区人民医院",
                  accused_position="外科医生")
    named = _case(app, session, ctx, text=HONGBAO, accused_name="孙某", accused_institution="区人民医院",
                  accused_position="护士长")
    for case, user in ((clean, other), (named, handler)):
        casework.accept(session, user, case)
        casework.assign(session, coordinator, case, user)
        request_reveal(session, user, case, "举报人不回复留言，需电话核实")
    # a later report, merged into the second case, names its handler: his pending request must be refused
    later = _case(app, session, ctx, text=HONGBAO.replace("外科医生", "外科医生，承办人周 建华是他表弟，"))
    casework.merge(session, coordinator, later, named)

    context = browser.new_context(viewport={"width": 360, "height": 780}, locale="zh-CN")
    page = context.new_page()
    page.goto(live_server + "/login")
    page.fill("#username", "coord")
    page.fill("#password", PASSWORD)
    page.fill("#otp", otp_code(SECRET))
    page.get_by_role("button", name="登录").click()
    page.goto(live_server + "/reveals")
    rows = page.get_by_test_id("reveal-requests")
    assert "钱某某 · 区人民医院 · 外科医生" in rows.inner_text() and "孙某 · 区人民医院 · 护士长" in rows.inner_text()
    warning = page.get_by_test_id("requester-named")
    assert warning.count() == 1 and "必须拒绝" in warning.inner_text()
    warning.scroll_into_view_if_needed()
    assert warning.is_visible()
    named_row = page.locator("[data-request]", has=warning)
    assert named_row.get_by_role("button", name="批准").count() == 0   # only 拒绝 there
    assert named_row.get_by_role("button", name="拒绝").count() == 1
    clean_row = page.locator("[data-request]", has_text="钱某某")
    assert clean_row.get_by_role("button", name="批准").count() == 1
    body_width = page.evaluate("document.body.scrollWidth")
    assert body_width <= 360 + 1, f"the page scrolls sideways at 360 px ({body_width} px)"  # the table scrolls itself
    shot(page, "reveals-360-named-requester")

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server + "/reveals")
    assert page.get_by_test_id("requester-named").is_visible()
    shot(page, "reveals-1280-named-requester")

    # refusing is the one way out; approving is not offered, and a forged approval is refused
    named_row = page.locator("[data-request]", has=page.get_by_test_id("requester-named"))
    named_row.locator("input[name=reason]").fill("申请人在举报中被点名")
    named_row.get_by_role("button", name="拒绝").click()
    expect(page.get_by_test_id("reveal-requests")).to_contain_text("申请人在举报中被点名")  # the page after the POST
    assert page.get_by_test_id("requester-named").count() == 0

    # the case page tells the coordinator who stays out of it, and lets them lift a recusal with a reason
    page.goto(live_server + f"/cases/{named.report.reference}")
    panel = page.get_by_test_id("walls-panel")
    assert "周建华" in panel.inner_text() and "正文中被点名" in panel.inner_text()
    panel.locator("details#lift_recusal > summary").click()
    shot(page, "case-1280-recusal-panel")
    context.close()


@pytest.mark.parametrize("width", [360, 1280])
def test_an_approved_handler_sees_the_identity_without_giving_the_reason_again(app, live_server, browser, shot,
                                                                               session, ctx, width):
    from casework.models import RevealRequest
    from casework.reveal import decide_reveal
    coordinator = make_user(session, "coord", role="coordinator", unit="taskforce", totp_secret=SECRET,
                            display_name="专班协调员")
    handler = make_user(session, "hh", role="handler", unit="health", display_name="周建华")
    case = _case(app, session, ctx, text=HONGBAO, accused_name="钱某某", accused_institution="区人民医院")
    casework.accept(session, handler, case)
    casework.assign(session, coordinator, case, handler)
    request_reveal(session, handler, case, "举报人不回复留言，需电话核实")
    decide_reveal(session, coordinator, session.scalar(select(RevealRequest).where(RevealRequest.case_id == case.id)),
                  True, "同意电话核实")
    page = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN").new_page()
    page.goto(live_server + "/login")
    page.fill("#username", "hh")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto(live_server + f"/cases/{case.report.reference}")
    form = page.get_by_test_id("show-approved-identity")
    assert "举报人不回复留言，需电话核实" in form.inner_text() and form.locator("input[name=reason]").count() == 0
    form.get_by_role("button", name="查看身份").click()
    shown = page.get_by_test_id("identity")
    assert "举报人电话" in shown.inner_text() and re.search(r"1380000\d{4}", shown.inner_text())
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, f"reveal-approved-handler-{width}")
    page.context.close()
