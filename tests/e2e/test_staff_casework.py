"""Staff in Chromium: a clerk transcribes a phone report; a handler takes a case from acceptance to
销号; the coordinator triages and reassigns. Screenshots in test-artifacts/."""
import re
from datetime import timedelta

import pyotp
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from casework.models import Case
from core.localtime import local_today
from intake.models import Report
from tests.support.factories import file_report
from tests.support.staff import PASSWORD, make_user

pytestmark = pytest.mark.browser
SECRET = pyotp.random_base32()


def sign_in(page, base, username, otp=None):
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    if otp:
        page.fill("#otp", otp)
    page.get_by_role("button", name="登录").click()


def open_action(page, action_id):
    page.locator(f"details#{action_id} > summary").click()
    return page.locator(f"details#{action_id}")


def test_clerk_transcribes_a_phone_report(live_server, browser, shot, session):
    make_user(session, "clerk1", role="clerk", unit="medinsure", display_name="登记员甲")
    page = browser.new_context(viewport={"width": 1024, "height": 900}, locale="zh-CN").new_page()
    sign_in(page, live_server, "clerk1")
    page.goto(live_server + "/clerk/new")
    option = page.locator("#source option", has_text="0427-2969119").get_attribute("value")
    page.select_option("#source", option)
    page.fill("#received_at", "2026-11-20T10:15")
    page.fill("#text", "来电人反映：区某民营医院组织老年人免费体检后办理住院，人不在病房，医院照样向医保结算住院费用。")
    page.fill("#accused_institution", "区某民营医院")
    shot(page, "staff-10-clerk-form")
    page.get_by_role("button", name="登记").click()
    receipt = page.get_by_test_id("receipt").inner_text()
    reference = page.get_by_test_id("reference").inner_text()
    assert re.fullmatch(r"\d{4}-\d{4}-\d{4}-\d{4}", receipt)
    shot(page, "staff-11-clerk-registered")
    report = session.scalar(select(Report).where(Report.reference == reference))
    assert report.channel == "phone" and report.received_by == "medinsure" and report.receipt_must_reset


def test_handler_takes_a_case_from_acceptance_to_closure(app, live_server, browser, shot, session, ctx):
    with app.app_context():
        filed = file_report(session, ctx, title="挂床住院", text="兴隆台区某医院长期挂床住院，病人白天回家，医院照样向医保报销住院费用，还串换药品。")
    make_user(session, "mh", role="handler", unit="medinsure", display_name="医保承办人")
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    sign_in(page, live_server, "mh")
    assert "/queue" in page.url
    page.get_by_role("link", name=filed.reference).click()
    shot(page, "staff-20-case-to-accept")
    page.get_by_test_id("accept").click()
    expect(page.get_by_test_id("case-status")).to_have_text("办理中")  # waits for the page after the POST
    assert "核查结论" in page.get_by_test_id("close-missing").inner_text()  # what 销号 still needs
    form = open_action(page, "plan")
    form.locator("textarea[name=problem]").fill("挂床住院、串换药品")
    form.locator("textarea[name=measures]").fill("调取住院记录，现场核查，追回违规基金")
    form.locator("input[name=responsible]").fill("稽核股 张股长")
    form.locator("textarea[name=goal]").fill("违规基金全部追回，医院完成整改")
    form.locator("input[name=deadline]").fill((local_today() + timedelta(days=30)).isoformat())
    form.get_by_role("button", name="记录").click()
    form = open_action(page, "findings")
    form.locator("select[name=findings]").select_option("substantiated")
    form.get_by_role("button", name="记录").click()
    form = open_action(page, "rectified")
    form.locator("input[name=done_on]").fill("2026-11-20")
    form.get_by_role("button", name="记录").click()
    page.get_by_test_id("result-close").fill("经核查，反映的问题属实，医院已追回违规基金并完成整改。")
    page.get_by_test_id("close").click()  # not confirmed yet: refused by the server, the result text is kept
    assert "销号需要您确认" in page.get_by_test_id("result-error").inner_text()
    assert page.get_by_test_id("result-close").input_value().startswith("经核查")
    assert page.get_by_test_id("case-status").inner_text() == "办理中"
    shot(page, "staff-21a-close-needs-confirmation")
    page.get_by_test_id("close-confirm").check()
    page.get_by_test_id("close").click()
    expect(page.get_by_test_id("case-status")).to_have_text("已办结")  # waits for the page after the POST
    assert "销号" in page.get_by_test_id("timeline").inner_text()
    shot(page, "staff-21-case-closed")
    session.expire_all()
    assert session.get(Report, filed.report_id).status == "closed"


def test_coordinator_triages_and_reassigns(app, live_server, browser, shot, session, ctx):
    with app.app_context():
        filed = file_report(session, ctx, title="看病的事", text="医院门口停车收费太贵了，保安态度也不好，希望有人管一管。另外我妈住院时排手术等了很久。")
    make_user(session, "coord", role="coordinator", unit="taskforce", display_name="专班协调员", totp_secret=SECRET)
    handler = make_user(session, "hh", role="handler", unit="health", display_name="卫健承办人")
    case = session.scalar(select(Case).where(Case.report_id == filed.report_id))
    assert case.status == "triage" and case.lead_unit == "taskforce"
    page = browser.new_context(viewport={"width": 1024, "height": 1366}, locale="zh-CN").new_page()  # a tablet
    sign_in(page, live_server, "coord", pyotp.TOTP(SECRET).now())
    page.goto(live_server + "/queue?tab=triage")
    assert page.get_by_test_id("tab-triage").inner_text().endswith("1")
    shot(page, "staff-30-coordinator-queue")
    page.get_by_role("link", name=filed.reference).click()
    form = open_action(page, "correct")
    form.locator("select[name=item]").select_option("6.4")
    form.locator("input[name=reason]").fill("电话回访：家属给护士长红包才安排手术")
    form.get_by_role("button", name="更正").click()
    expect(page.get_by_test_id("case-item")).to_have_text(re.compile(r"^\s*6\.4"))  # waits for the page after the POST
    assert page.get_by_test_id("case-lead").inner_text().startswith("兴隆台区卫生健康局")  # the word, not the code
    form = open_action(page, "assign")
    form.locator("select[name=handler]").select_option(str(handler.id))
    form.get_by_role("button", name="指派").click()
    expect(page.get_by_test_id("case-handler")).to_contain_text("卫健承办人")  # waits for the page after the POST
    shot(page, "staff-31-case-reassigned")
    session.expire_all()
    case = session.get(Case, case.id)
    assert case.item_code == "6.4" and case.lead_unit == "health" and case.handler_id == handler.id
