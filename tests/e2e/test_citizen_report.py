"""A citizen on a phone files a report with evidence, then follows it up with the receipt."""
import re

import pytest
from sqlalchemy import select

from intake.models import Message, Report
from tests.support.files import PDF

pytestmark = pytest.mark.browser


def test_file_a_report_on_a_phone_then_follow_up_and_reply(live_server, browser, shot, session, tmp_path):
    evidence = tmp_path / "发票.pdf"
    evidence.write_bytes(PDF)
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    page = context.new_page()
    outside = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(live_server) else None)

    page.goto(live_server + "/")
    assert page.locator("h1").inner_text() == "举报医药领域腐败问题"
    shot(page, "01-home-360")
    page.get_by_role("link", name="在线举报").first.click()
    page.fill("#text", "2026年10月，区第二人民医院骨科主任每用一套进口耗材收医药代表返现两千元，护士站都知道。")
    page.fill("#accused_institution", "区第二人民医院")
    page.set_input_files("#files", str(evidence))
    shot(page, "02-form-filled-360")
    page.click("#consent")  # unticked consent must be caught first
    page.click("#consent")
    page.get_by_role("button", name="提交举报").click()
    assert "请确认您已阅读上述说明" in page.content()
    assert "骨科主任" in page.locator("#text").input_value()  # the text survived the error
    page.set_input_files("#files", str(evidence))
    page.check("#consent")
    page.get_by_role("button", name="提交举报").click()

    receipt = page.get_by_test_id("receipt").inner_text()
    reference = page.get_by_test_id("reference").inner_text()
    assert re.fullmatch(r"\d{4}-\d{4}-\d{4}-\d{4}", receipt) and reference.startswith("XLT-")
    shot(page, "03-submitted-360")
    page.emulate_media(media="print")
    assert not page.locator("text=骨科主任").count()
    shot(page, "04-proof-print")
    page.emulate_media(media="screen")

    report = session.scalar(select(Report).where(Report.reference == reference))
    assert report.attachments[0].display_name == "发票.pdf"
    session.add(Message(report_id=report.id, author="staff", body="请问耗材的品牌是什么？"))
    session.commit()

    page.get_by_role("link", name="以后查询进度").click()
    page.fill("#receipt", receipt)
    page.get_by_role("button", name="查询").click()
    assert page.get_by_test_id("status").inner_text() == "已收到"
    assert "请问耗材的品牌是什么？" in page.content()
    page.fill("#text", "是某进口品牌的骨科钢板。")
    page.get_by_role("button", name="发送").click()
    assert "您的回复已收到" in page.content()
    shot(page, "05-followup-replied-360")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling
    assert outside == []  # the reporter's browser talked to nobody else
    session.expire_all()
    assert session.scalar(select(Message).where(Message.author == "reporter")).body == "是某进口品牌的骨科钢板。"
    context.close()


def test_form_works_with_javascript_off(live_server, browser, shot):
    context = browser.new_context(viewport={"width": 360, "height": 740}, java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server + "/report?lang=en")
    page.fill("#text", "In October a department head at a district hospital took cash from a drug rep.")
    page.check("#consent")
    page.get_by_role("button", name="Submit report").click()
    assert re.fullmatch(r"\d{4}-\d{4}-\d{4}-\d{4}", page.get_by_test_id("receipt").inner_text())
    shot(page, "06-submitted-nojs-en")
    context.close()


def test_real_name_fields_appear_only_when_chosen(live_server, browser, shot, session):
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto(live_server + "/report")
    assert not page.locator("#reporter_name").is_visible()
    page.get_by_label("实名").check()
    assert page.locator("#reporter_name").is_visible()
    page.fill("#text", "区中医院药剂科主任收受药企回扣，每月按进药量提成，我是该院职工，可以当面说明情况。")
    page.fill("#reporter_name", "周建国")
    page.fill("#reporter_phone", "13904270000")
    page.check("#consent")
    shot(page, "07-realname-360")
    page.get_by_role("button", name="提交举报").click()
    reference = page.get_by_test_id("reference").inner_text()
    report = session.scalar(select(Report).where(Report.reference == reference))
    assert report.anonymous is False and report.identity is not None
    assert "周建国".encode() not in report.identity.ciphertext
    context.close()
