"""A clerk in Chromium, on a phone (360 px) and at a desk: from the entry page to the unmatched replies,
attaches one to its case with a note and makes another a new report; reads a quarantined mail as plain text
and dismisses it with a reason. Screenshots in test-artifacts/."""
from datetime import datetime, timezone

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from intake.mail_cli import mail_settings
from intake.mail_ingest import ingest_message
from intake.mail_models import MailMessage
from intake.models import Message, Report
from tests.e2e.test_staff_casework import sign_in
from tests.support import mail_samples as S
from tests.support.staff import make_user

pytestmark = pytest.mark.browser
HOSTILE = "<script>alert('x')</script>"


def take_in(app, session, uid: int, raw: bytes) -> str:
    ctx = app.extensions["intake"]
    with app.test_request_context():
        return ingest_message(session, ctx, mail_settings(app), "health", 1, uid, raw, acknowledge=False).status


def waiting_mail(app, session):
    """A mailed report, two forged replies quoting its reference, and an unreadable mail."""
    now = datetime.now(timezone.utc)
    assert take_in(app, session, 1, S.gbk_plain(date=now)) == "report"
    report = session.scalar(select(Report))
    for uid, (sender, body) in enumerate([("stranger@example.net", "我知道更多情况：采购部经理还让供应商报销旅游费用。"),
                                          ("new.person@example.org", f"另一家医院也有同样问题，药剂科主任收回扣。{HOSTILE}")],
                                         start=2):
        raw = S.reply("<not-ours@elsewhere.example>", subject=f"关于 {report.reference} 的补充", from_addr=sender,
                      from_name="知情人", date=now, body=body + "\n\n")
        assert take_in(app, session, uid, raw) == "unmatched"
    poison = b"this is not a header \xff\xfe " + HOSTILE.encode() + b"\r\n" + "正文：请核查。".encode() + b"\r\n"
    assert take_in(app, session, 9, poison) == "quarantined"
    return report


def no_sideways_scroll(page, width):
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width,label", [(360, "360"), (1280, "desktop")])
def test_a_clerk_deals_with_unmatched_replies_and_quarantined_mail(app, live_server, browser, shot, session,
                                                                   width, label):
    report = waiting_mail(app, session)
    make_user(session, "clerk1", role="clerk", unit="health", display_name="登记员甲")
    page = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN").new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(page, live_server, "clerk1")
    page.goto(live_server + "/clerk/new")
    page.get_by_test_id("mail-links").get_by_role("link", name="未能匹配的回复").click()
    expect(page.get_by_role("heading", name="未能匹配的回复")).to_be_visible()
    items = page.get_by_test_id("unmatched-list").locator("li.panel")
    assert items.count() == 2
    assert "stranger@example.net" in page.content() and "new.person@example.org" in page.content()
    no_sideways_scroll(page, width)
    shot(page, f"clerk-mail-10-unmatched-{label}")

    stranger = items.filter(has_text="stranger@example.net")
    stranger.locator("summary", has_text="附上说明后附到案件").click()
    stranger.locator("input[name=reference]").fill(report.reference)
    stranger.locator("textarea[name=note]").fill("来信人自称知情者，补充了采购部经理的其他问题，请承办人核实。")
    shot(page, f"clerk-mail-11-attach-form-{label}")
    stranger.get_by_role("button", name="附到案件").click()
    assert f"已作为工作备注附到 {report.reference}" in page.get_by_role("status").first.inner_text()
    assert page.get_by_test_id("unmatched-list").locator("li.panel").count() == 1
    shot(page, f"clerk-mail-12-attached-{label}")

    page.get_by_test_id("unmatched-list").locator("li.panel").get_by_test_id("make-report").click()
    assert "已登记为举报" in page.get_by_role("status").first.inner_text()
    assert "没有待处理的未匹配回复" in page.get_by_test_id("unmatched-list").inner_text()
    shot(page, f"clerk-mail-13-made-report-{label}")

    page.get_by_test_id("link-quarantine").click()
    page.get_by_test_id("quarantine-list").get_by_role("link").first.click()
    raw = page.get_by_test_id("raw-text").inner_text()
    assert HOSTILE in raw and "正文：请核查。" in raw  # shown as text, never run
    no_sideways_scroll(page, width)
    shot(page, f"clerk-mail-20-quarantined-{label}")
    page.locator("summary", has_text="填写理由后搁置").click()
    page.locator("textarea[name=reason]").fill("无法读取的垃圾邮件，没有举报内容。")
    page.get_by_role("button", name="搁置").click()
    assert "仍予保存" in page.get_by_role("status").first.inner_text()
    shot(page, f"clerk-mail-21-dismissed-{label}")
    assert dialogs == []  # no script in any mail ran

    session.expire_all()
    statuses = sorted(session.scalars(select(MailMessage.status)).all())
    assert statuses == ["attached", "dismissed", "report", "report"]
    note = session.scalar(select(Message).where(Message.report_id == report.id))
    assert note.author == "staff" and not note.visible_to_reporter
