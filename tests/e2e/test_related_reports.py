"""The case page's related reports in Chromium, on a desktop and at 360 px: reasons in words, one-click
link and merge into this case. Screenshots in test-artifacts/."""
import pyotp
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from casework.models import Case
from intake.models import Report
from tests.support.factories import file_report
from tests.support.staff import PASSWORD, make_user

pytestmark = pytest.mark.browser
SECRET = pyotp.random_base32()
ORTHO = "区人民医院骨科主任每用一套进口耗材就从医药代表那里拿两千元回扣，科室里的护士和医生都知道这件事，病人多花了很多钱。"
BEDS = "兴隆台区某医院长期挂床住院，病人白天回家，晚上也不在病房，医院照样记住院天数向医保报销。"


def sign_in(page, base, username, otp=None):
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    if otp:
        page.fill("#otp", otp)
    page.get_by_role("button", name="登录").click()


@pytest.mark.parametrize("width", [1280, 360])
def test_the_case_page_lists_related_reports_and_merges_one(app, live_server, browser, shot, session, ctx, width):
    with app.app_context():
        first = file_report(session, ctx, title="骨科耗材回扣", text=ORTHO, accused_name="王小明", anonymous=False,
                            reporter_name="张三", reporter_phone="13812345678")
        copy = file_report(session, ctx, title="骨科回扣", text=ORTHO.replace("两千元", "两千五百元"),
                           accused_name="王 小明")
        same_reporter = file_report(session, ctx, title="挂床住院", text=BEDS, anonymous=False, reporter_name="张三",
                                    reporter_phone="138-1234-5678")
    make_user(session, "coord", role="coordinator", unit="taskforce", display_name="专班协调员", totp_secret=SECRET)
    page = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN").new_page()
    sign_in(page, live_server, "coord", pyotp.TOTP(SECRET).now())
    page.goto(f"{live_server}/cases/{first.reference}")
    related = page.get_by_test_id("related")
    items = related.get_by_test_id("related-item")
    assert items.count() == 2
    text = related.inner_text()
    assert copy.reference in text and "同一被反映人" in text and "文字几乎相同" in text
    assert f"与 {same_reporter.reference} 为同一举报人" in text
    assert "same_" not in text and "near_duplicate" not in text
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1  # nothing wider than the screen
    shot(page, f"staff-40-related-{width}")

    items.filter(has_text=copy.reference).get_by_test_id("related-merge").click()
    assert "已并入本案" in page.content()
    assert page.get_by_test_id("related").get_by_test_id("related-item").count() == 1
    assert copy.reference in page.content()  # the merged report is on this case now
    items = page.get_by_test_id("related").get_by_test_id("related-item")
    items.first.get_by_test_id("related-link").click()
    assert "已关联" in page.get_by_test_id("related").inner_text()
    shot(page, f"staff-41-related-merged-{width}")
    session.expire_all()
    merged = session.scalar(select(Case).join(Report, Report.id == Case.report_id).where(Report.reference == copy.reference))
    assert merged.status == "merged"


@pytest.mark.parametrize("width", [1366, 768, 360])
def test_a_repeat_is_new_for_the_handler_until_they_open_the_case(app, live_server, browser, shot, session, ctx, width):
    """The unit handler who works the case sees a repeat (重复件) arrive: a badge in the queue and a marked
    line on the case page, gone once they have opened the case."""
    with app.app_context():
        first = file_report(session, ctx, title="骨科耗材回扣", text=ORTHO, anonymous=False, reporter_name="张三",
                            reporter_phone="13812345678")
    case = session.scalar(select(Case).join(Report, Report.id == Case.report_id).where(Report.reference == first.reference))
    handler = make_user(session, "hh", role="handler", unit=case.lead_unit, display_name="承办人甲")
    case.handler_id, case.status = handler.id, "in_progress"
    session.commit()
    page = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN").new_page()
    sign_in(page, live_server, "hh")
    page.goto(f"{live_server}/cases/{first.reference}")  # seen before the repeat arrives
    with app.app_context():
        repeat = file_report(session, ctx, title="再次反映", text=ORTHO + "请尽快处理！", anonymous=False,
                             reporter_name="张三", reporter_phone="13812345678")
    page.goto(f"{live_server}/queue?tab=in_progress")
    row = page.locator("tr", has=page.get_by_role("link", name=first.reference))
    expect(row.get_by_test_id("queue-repeats-new")).to_have_text("您上次查看后新到 1 件")
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    shot(page, f"staff-42-repeat-new-queue-{width}")
    row.get_by_role("link", name=first.reference).click()
    item = page.get_by_test_id("repeat-item")
    expect(item).to_contain_text(repeat.reference)
    expect(item.get_by_test_id("repeat-new")).to_be_visible()
    shot(page, f"staff-43-repeat-new-case-{width}")
    page.goto(f"{live_server}/queue?tab=in_progress")
    row = page.locator("tr", has=page.get_by_role("link", name=first.reference))
    expect(row.get_by_test_id("queue-repeats")).to_be_visible()
    expect(row.get_by_test_id("queue-repeats-new")).to_have_count(0)
