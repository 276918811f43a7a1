"""The task force in Chromium on demo data: the dashboard (landing page), the monthly bulletin with its
charts and printable layout, and a ledger download; a unit head downloads the unit's ledger.
Screenshots in test-artifacts/."""
import io

import openpyxl
import pyotp
import pytest

from demo.seed import seed
from tests.e2e.test_staff_casework import sign_in
from tests.support.staff import make_user

pytestmark = pytest.mark.browser
SECRET = pyotp.random_base32()


@pytest.fixture
def demo(app, session):
    with app.app_context():
        return seed(session, app.extensions["intake"], 150, random_seed=7)


def assert_charts_whole(page) -> None:
    """Issue 17, point 8: every bar's label in full (no ellipsis) and inside the drawing, every bar with its number;
    the trend chart has both axes, a scale and each column's value."""
    for chart in page.locator("figure.chart svg").all():
        box = chart.bounding_box()
        labels = chart.locator("text[data-label]")
        for i in range(labels.count()):
            text, lbox = labels.nth(i).text_content(), labels.nth(i).bounding_box()
            assert "…" not in text and lbox["x"] >= box["x"] - 1 and lbox["x"] + lbox["width"] <= box["x"] + box["width"] + 1
        if labels.count():
            assert chart.locator("text[data-value]").count() == labels.count()
    trend = page.get_by_test_id("chart-trend")
    assert trend.locator("line[data-axis=x]").count() == 1 and trend.locator("line[data-axis=y]").count() == 1
    assert trend.locator("text[data-tick]").count() >= 2 and trend.locator("text[data-value]").count() == 18


def test_coordinator_dashboard_bulletin_and_ledgers(app, live_server, browser, shot, session, demo):
    make_user(session, "coord", role="coordinator", unit="taskforce", totp_secret=SECRET, display_name="专班协调员")
    page = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN",
                               accept_downloads=True).new_page()
    sign_in(page, live_server, "coord", pyotp.TOTP(SECRET).now())
    assert page.url.endswith("/dashboard")  # the task force's landing page
    assert page.get_by_test_id("chart-area").locator("rect").count() >= 3
    assert int(page.get_by_test_id("dashboard-counts").locator("[data-figure=supervised]").inner_text()) >= 0
    assert "兴隆台区卫生健康局" in page.get_by_test_id("weekly-missing").inner_text()
    shot(page, "reporting-10-dashboard")

    page.get_by_role("link", name="月通报").first.click()
    figures = page.get_by_test_id("bulletin-figures")
    received = int(figures.locator("[data-figure=received]").inner_text())
    assert received > 0 and page.get_by_test_id("chart-trend").locator("rect").count() == 18
    assert_charts_whole(page)
    shot(page, "reporting-11-bulletin")
    with page.expect_download() as info:
        page.get_by_role("link", name="下载（.xlsx）").click()
    book = openpyxl.load_workbook(io.BytesIO(info.value.path().read_bytes())).active
    summary = {row[0]: row[1] for row in book.iter_rows(values_only=True) if row and row[0]}
    assert summary["收到举报（件）"] == received
    page.get_by_role("link", name="打印版式").click()
    page.emulate_media(media="print")
    shot(page, "reporting-12-bulletin-print")
    page.emulate_media(media="screen")

    page.get_by_role("link", name="工作台账").first.click()
    page.select_option("select[name=kind]", "individual")
    page.select_option("select[name=unit]", "all")
    page.fill("input[name=contact]", "0427-2800000")
    shot(page, "reporting-13-ledgers")
    with page.expect_download() as info:
        page.get_by_role("button", name="下载（.xlsx）").click()
    rows = list(openpyxl.load_workbook(io.BytesIO(info.value.path().read_bytes())).active.iter_rows(values_only=True))
    assert rows[0][0] == "兴隆台区医药领域腐败问题集中整治工作台账（个人）" and rows[2][1] == "存在问题人员姓名"
    assert len(rows) - 3 == demo.ledger_rows // 2  # one person row per case with findings


def test_unit_head_downloads_the_units_ledger_on_a_phone(app, live_server, browser, shot, session, demo):
    make_user(session, "mhead", role="unit_head", unit="market", display_name="市场监管局负责人")
    page = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN",
                               accept_downloads=True).new_page()
    sign_in(page, live_server, "mhead")
    page.goto(live_server + "/ledgers")
    assert page.locator("select[name=unit] option").all_inner_texts() == ["兴隆台区市场监督管理局"]
    shot(page, "reporting-20-ledgers-phone")
    with page.expect_download() as info:
        page.get_by_role("button", name="下载（.xlsx）").click()
    rows = list(openpyxl.load_workbook(io.BytesIO(info.value.path().read_bytes())).active.iter_rows(values_only=True))
    assert rows[1][0] == "填报单位：兴隆台区市场监督管理局" and rows[1][5] == "填报人：市场监管局负责人"
    assert page.goto(live_server + "/bulletin").status == 403
