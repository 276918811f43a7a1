"""Mail pulled in from a real dovecot IMAP server becomes reports exactly once, whatever it looks like."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from intake.mail_cli import fetch_all, send_all
from intake.mail_models import MailMessage, OutboxMessage
from intake.models import Attachment, Message, Report
from tests.support import mail_samples as S


def now() -> datetime:
    """Mail dated now: mail dated more than five minutes before the mailbox was connected is backlog and
    gets no acknowledgement, so a date taken once at import goes stale in a long run."""
    return datetime.now(timezone.utc)


def deliver(dovecot, app, raw, box="health"):
    dovecot.append(app.mail_users[box], raw)


def fetch(app):
    with app.app_context():
        return {s.mailbox: (s.counts, s.error) for s in fetch_all(app)}


def reports(session):
    session.expire_all()
    return session.scalars(select(Report).order_by(Report.id)).all()


def count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.mark.parametrize("build,subject,needle", [
    (lambda: S.gbk_plain(date=now()), S.GBK_SUBJECT, "三十万元"),
    (lambda: S.gbk_quoted_printable(date=now()), S.GBK_SUBJECT, "三十万元"),
    (lambda: S.gb18030_plain(date=now()), S.GB18030_SUBJECT, "𠮷"),
    (lambda: S.gb2312_mislabelled(date=now()), S.GB2312_MISLABEL_SUBJECT, "王喆、李堃"),
    (lambda: S.big5_plain(date=now()), S.BIG5_SUBJECT, "許經理於去年挪用公款"),
    (lambda: S.utf8_plain(date=now()), S.UTF8_SUBJECT, "过期食材"),
])
def test_chinese_mail_becomes_a_report_with_identity_encrypted_and_an_acknowledgement(
        mail_app, dovecot, session, ctx, build, subject, needle):
    deliver(dovecot, mail_app, build())
    assert fetch(mail_app)["health"][0] == {"report": 1}
    (report,) = reports(session)
    assert report.channel == "email" and report.received_by == "health"
    assert report.title == subject and needle in report.text
    identity = ctx.cipher.decrypt(report.identity.ciphertext)
    assert "@" in identity.email and identity.email.encode() not in report.identity.ciphertext
    assert [a.extension for a in report.attachments] == ["eml"]  # the original kept as evidence
    assert ctx.store.path(report.attachments[0].stored_name).read_bytes().startswith(b"Return-Path")
    ack = session.scalar(select(OutboxMessage))
    assert ack.kind == "acknowledgement" and ack.report_id == report.id
    uid = dovecot.uids(mail_app.mail_users["health"])[0]
    assert "\\Seen" in dovecot.flags(mail_app.mail_users["health"], uid)
    assert fetch(mail_app)["health"][0] == {}  # safe to run again: nothing new
    assert len(reports(session)) == 1


def test_attachments_with_gbk_names_are_kept_and_the_html_only_body_is_cleaned(mail_app, dovecot, session):
    deliver(dovecot, mail_app, S.with_attachments("rfc2231", date=now()))
    deliver(dovecot, mail_app, S.with_attachments("rfc2047", date=now()))
    deliver(dovecot, mail_app, S.html_only(date=now()))
    assert fetch(mail_app)["health"][0] == {"report": 3}
    first, second, html = reports(session)
    for report in (first, second):
        names = sorted((a.display_name, a.extension) for a in report.attachments)
        assert names == sorted([(S.ATTACHMENT_PDF_NAME, "pdf"), (S.ATTACHMENT_PNG_NAME, "png"), ("original.eml", "eml")])
    assert html.title == S.HTML_SUBJECT
    for bad in ("<script", "alert(", "onload", "javascript:", "<img", "color:"):
        assert bad not in html.text
    assert len(html.text) > 20


@pytest.mark.parametrize("build,reason", [
    (S.auto_submitted_reply, "Auto-Submitted"),
    (S.x_autoreply, "X-Autoreply"),
    (S.precedence_bulk, "Precedence: bulk"),
    (S.out_of_office_cn, "automatic reply"),
    (S.bounce_dsn, "bounce"),
    (lambda: S.gbk_plain(from_addr="desk@xlt.example"), "loop"),
])
def test_automatic_mail_and_our_own_are_skipped_with_the_reason(mail_app, dovecot, session, build, reason):
    deliver(dovecot, mail_app, build())
    assert fetch(mail_app)["health"][0] == {"skipped": 1}
    assert reports(session) == [] and count(session, OutboxMessage) == 0
    assert reason in session.scalar(select(MailMessage)).reason


def test_the_same_message_in_two_mailboxes_is_one_report_with_both_receipts(mail_app, dovecot, session):
    raw = S.gbk_plain(date=now(), message_id="<same-one@example.cn>")
    deliver(dovecot, mail_app, raw, "health")
    deliver(dovecot, mail_app, raw, "market")
    counts = fetch(mail_app)
    assert counts["health"][0] == {"report": 1} and counts["market"][0] == {"duplicate": 1}
    (report,) = reports(session)
    rows = session.scalars(select(MailMessage).order_by(MailMessage.id)).all()
    assert [(r.mailbox, r.status, r.report_id) for r in rows] == [("health", "report", report.id),
                                                                 ("market", "duplicate", report.id)]
    assert count(session, OutboxMessage) == 1


def test_a_message_without_message_id_is_known_by_its_bytes(mail_app, dovecot, session):
    raw = S.no_message_id(date=now())
    deliver(dovecot, mail_app, raw, "health")
    deliver(dovecot, mail_app, raw, "market")
    fetch(mail_app)
    assert len(reports(session)) == 1
    assert session.scalar(select(MailMessage)).message_key.startswith("sha256:")


def test_a_reply_to_the_acknowledgement_is_a_message_on_the_report(mail_app, dovecot, session, smtp_sink):
    deliver(dovecot, mail_app, S.gbk_plain(date=now()))
    fetch(mail_app)
    with mail_app.app_context():
        assert send_all(mail_app).sent == 1
    ack = smtp_sink.wait_for(1)[0].message
    (report,) = reports(session)
    assert report.reference in ack["Subject"] and ack["Auto-Submitted"] == "auto-generated"
    receipt = [line for line in ack.get_body(("plain",)).get_content().splitlines() if "查询码：" in line][0]
    deliver(dovecot, mail_app, S.reply(ack["Message-ID"], subject=ack["Subject"], date=now(),
                                       quote=receipt, body="补充：还有一张发票。\n\n"))
    assert fetch(mail_app)["health"][0] == {"reply": 1}
    assert len(reports(session)) == 1
    message = session.scalar(select(Message))
    assert message.report_id == report.id and message.author == "reporter"
    assert "还有一张发票" in message.body and "查询码" not in message.body  # the quoted ack is cut off


def test_an_oversize_attachment_is_noted_on_the_report_not_dropped(mail_app, dovecot, session):
    deliver(dovecot, mail_app, S.large_attachment(30 * 1024 * 1024, date=now()))
    assert fetch(mail_app)["health"][0] == {"report": 1}
    (report,) = reports(session)
    assert "监控录像.mp4" in report.text and "未保存" in report.text
    assert [a.extension for a in report.attachments] == ["eml"]
    assert report.attachments[0].size > 30 * 1024 * 1024  # the whole original is kept


def test_a_crash_between_commit_and_flag_creates_no_second_report(mail_app, dovecot, session, monkeypatch):
    deliver(dovecot, mail_app, S.gbk_plain(date=now()))

    def crash(mailbox, uid):
        raise KeyboardInterrupt("killed after the commit, before the flag")

    monkeypatch.setattr("intake.mail_fetch._flag", crash)
    with pytest.raises(KeyboardInterrupt):
        fetch(mail_app)
    assert len(reports(session)) == 1
    monkeypatch.undo()
    fetch(mail_app)
    session.expire_all()
    assert len(reports(session)) == 1 and count(session, OutboxMessage) == 1


def test_unreadable_mail_is_quarantined_and_the_run_goes_on(mail_app, dovecot, session):
    deliver(dovecot, mail_app, S.garbage(nul=False))
    deliver(dovecot, mail_app, S.unknown_charset(date=now()))
    deliver(dovecot, mail_app, S.invalid_bytes(date=now()))
    deliver(dovecot, mail_app, S.truncated(date=now()))
    counts = fetch(mail_app)["health"][0]
    assert counts.get("quarantined") == 1 and counts.get("report") == 3
    row = session.scalar(select(MailMessage).where(MailMessage.status == "quarantined"))
    assert row.raw_name and row.reason
    texts = [r.text for r in reports(session)]
    assert any("三十万元" in t for t in texts)  # the x-unknown label was read as GBK


def test_backlog_is_imported_without_acknowledgements(mail_app, dovecot, session):
    deliver(dovecot, mail_app, S.gbk_plain())  # dated 2024: before this mailbox was connected
    fetch(mail_app)
    assert len(reports(session)) == 1 and count(session, OutboxMessage) == 0


def test_a_mailbox_that_is_down_is_reported_and_the_others_go_on(mail_app, dovecot, session, mail_user):
    deliver(dovecot, mail_app, S.gbk_plain(date=now()), "market")
    mail_app.config["MAILBOX_HEALTH"] = mail_user.url.replace(f":{dovecot.port}", ":1")
    counts = fetch(mail_app)
    assert counts["health"][1] and counts["market"][0] == {"report": 1}


def test_mail_fetch_command_output(mail_app, dovecot):
    deliver(dovecot, mail_app, S.gbk_plain(date=now()))
    result = mail_app.test_cli_runner().invoke(args=["mail", "fetch"])
    assert result.exit_code == 0, result.output
    assert "health: report 1" in result.output and "market: nothing new" in result.output
    status = mail_app.test_cli_runner().invoke(args=["mail", "status"])
    assert "outbox pending: 1" in status.output


def test_unconfigured_mailboxes_say_so(runner):
    result = runner.invoke(args=["mail", "fetch"])
    assert result.exit_code == 0 and "no mailbox configured" in result.output


def test_attachments_of_unaccepted_type_are_noted(mail_app, dovecot, session):
    raw = S.with_attachments("rfc2231", attachments=[("病历.exe", "application/octet-stream", b"MZ" + b"\0" * 300)],
                             date=now())
    deliver(dovecot, mail_app, raw)
    fetch(mail_app)
    (report,) = reports(session)
    assert "病历.exe" in report.text and count(session, Attachment, Attachment.extension == "exe") == 0
