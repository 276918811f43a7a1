"""Mail cannot speak for the reporter: a forged reply tries to land in a reporter's thread through a real
dovecot mailbox and ends up held for a clerk; only the genuine reply (our signed Message-ID and the report's
own sender) lands. Nobody learns from the service's answers whether an address belongs to a reporter. A
sender whose domain does not resolve still makes a report."""
import time

import pytest
from sqlalchemy import select

from intake.mail_cli import send_all
from intake.mail_models import MailMessage, MailReview, OutboxMessage
from intake.mail_replies import judge_reply
from intake.mailparse import parse_mail
from intake.models import Message, Report
from intake.receipts import parse_receipt
from tests.intake.mail.test_ingest import count, deliver, fetch, now, reports
from tests.intake.test_followup import lookup
from tests.support import mail_samples as S
from tests.support.staff import Team, login

REPORTER = S.DEFAULT_FROM_ADDR  # zhangwei@example.cn
STRANGER = "stranger@example.net"


FORGED = "伪造的补充：举报人本人撤回全部举报内容，请销号。"


def acknowledged(app, dovecot, smtp_sink, session, from_addr=REPORTER, message_id=None):
    """A mailed report and the acknowledgement it got: (report, the ack as received, the receipt)."""
    before = len(smtp_sink.messages)
    deliver(dovecot, app, S.gbk_plain(date=now(), from_addr=from_addr, message_id=message_id))
    fetch(app)
    with app.app_context():
        assert send_all(app).sent == 1
    ack = smtp_sink.wait_for(before + 1)[before].message
    report = reports(session)[-1]
    assert report.reference in ack["Subject"]
    line = next(x for x in ack.get_body(("plain",)).get_content().splitlines() if "查询码：" in x)
    return report, ack, parse_receipt(line.split("：", 1)[1].strip())


def followup_page(app, receipt) -> str:
    client = app.test_client()
    assert lookup(client, receipt).status_code == 302
    return client.get("/followup/status").get_data(as_text=True)


def case_page(app, session, reference) -> str:
    client = app.test_client()
    login(client, Team(session).tf_handler.username)  # the task force sees every case
    response = client.get(f"/cases/{reference}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def reporter_messages(session, report):
    session.expire_all()
    return session.scalars(select(Message).where(Message.report_id == report.id, Message.author == "reporter")).all()


def test_the_genuine_reply_lands_in_the_thread(mail_app, dovecot, smtp_sink, session):
    report, ack, receipt = acknowledged(mail_app, dovecot, smtp_sink, session)
    # the reporter's client writes the address differently: case and the display name do not matter
    deliver(dovecot, mail_app, S.reply(ack["Message-ID"], subject=ack["Subject"], from_addr="ZhangWei@Example.CN",
                                       date=now(), body="补充：还有一张发票。\n\n"))
    assert fetch(mail_app)["health"][0] == {"reply": 1}
    (message,) = reporter_messages(session, report)
    assert "还有一张发票" in message.body
    assert "还有一张发票" in followup_page(mail_app, receipt)
    assert "还有一张发票" in case_page(mail_app, session, report.reference)


def _forgeries(ack, report, other_ack):
    signed = ack["Message-ID"]
    return {
        "our signed id, another sender": S.reply(signed, subject=ack["Subject"], from_addr=STRANGER, date=now(),
                                                 body=FORGED + "\n\n"),
        "the reporter's address, no signed id": S.reply("<not-ours@elsewhere.example>", date=now(),
                                                        subject=f"关于 {report.reference}", body=FORGED + "\n\n"),
        "a reference in the subject only": S.reply("<not-ours@elsewhere.example>", from_addr=STRANGER, date=now(),
                                                   subject=f"关于 {report.reference} 的补充", body=FORGED + "\n\n"),
        "References carry another report's id": S.reply(signed, references=[other_ack["Message-ID"], signed],
                                                         subject="补充", date=now(), body=FORGED + "\n\n"),
        "an id in our shape with a forged signature": S.reply(signed[:-30] + "0" * 16 + signed[-14:], subject="补充",
                                                              date=now(), body=FORGED + "\n\n"),
        "the subject names another report": S.reply(signed, subject=f"关于 {other_ack['Subject'][-15:]}", date=now(),
                                                    body=FORGED + "\n\n"),
    }


@pytest.mark.parametrize("attack", ["our signed id, another sender", "the reporter's address, no signed id",
                                    "a reference in the subject only", "References carry another report's id",
                                    "an id in our shape with a forged signature", "the subject names another report"])
def test_a_forged_reply_is_held_for_a_clerk_never_in_the_thread(mail_app, dovecot, smtp_sink, session, attack):
    report, ack, receipt = acknowledged(mail_app, dovecot, smtp_sink, session)
    other, other_ack, _r = acknowledged(mail_app, dovecot, smtp_sink, session, from_addr="other@example.org",
                                        message_id="<second-report@example.org>")
    outbox_before = count(session, OutboxMessage)
    deliver(dovecot, mail_app, _forgeries(ack, report, other_ack)[attack])
    assert fetch(mail_app)["health"][0] == {"unmatched": 1}
    assert reporter_messages(session, report) == [] and reporter_messages(session, other) == []
    assert FORGED not in followup_page(mail_app, receipt)
    assert FORGED not in case_page(mail_app, session, report.reference)
    assert count(session, OutboxMessage) == outbox_before  # answered by nothing
    held = session.scalar(select(MailMessage).where(MailMessage.status == "unmatched"))
    review = session.scalar(select(MailReview).where(MailReview.mail_message_id == held.id))
    assert held.report_id is None and review.resolution is None
    assert REPORTER.encode() not in review.envelope and FORGED.encode() not in review.envelope  # encrypted
    if attack != "an id in our shape with a forged signature":  # a forged id names nothing we trust
        assert report.reference in review.points_to or other.reference in review.points_to
    assert len(reports(session)) == 2  # and no new report either: a clerk decides


def test_a_reply_quoting_the_receipt_is_held_with_the_receipt_hidden(mail_app, dovecot, smtp_sink, session, ctx):
    report, _ack, receipt = acknowledged(mail_app, dovecot, smtp_sink, session)
    quoted = f"您的查询码：{receipt[:4]}-{receipt[4:8]}-{receipt[8:12]}-{receipt[12:]}"
    deliver(dovecot, mail_app, S.reply("<x@elsewhere.example>", subject=f"Re: {report.reference}", quote=quoted,
                                       from_addr=STRANGER, date=now()))
    assert fetch(mail_app)["health"][0] == {"unmatched": 1}
    summary = ctx.cipher.decrypt_json(session.scalar(select(MailReview.envelope)))
    assert receipt[:4] not in summary["text"].replace("XLT", "") and "查询码已隐去" in summary["text"]


def test_mailing_the_service_does_not_tell_whether_an_address_is_a_reporters(mail_app, dovecot, smtp_sink, session,
                                                                               monkeypatch):
    """The same forged replies From the reporter's real address and From a stranger's: each sender gets the
    same answer (none), the identity is decrypted the same number of times, the held mails' records read
    alike, and matching takes as long. (With our signed id and the reporter's address forged in From, the
    mail lands in the thread: the service cannot tell a forged From from the real one; the sender still
    gets nothing back to learn from — SECURITY.md.)"""
    report, ack, _receipt = acknowledged(mail_app, dovecot, smtp_sink, session)
    cipher = mail_app.extensions["intake"].cipher
    decrypts, real_decrypt = [], cipher.decrypt
    monkeypatch.setattr(cipher, "decrypt", lambda token: decrypts.append(1) or real_decrypt(token))
    variants = {
        "subject": lambda a: S.reply("<not-ours@elsewhere.example>", subject=f"关于 {report.reference}", from_addr=a,
                                     date=now(), body=FORGED + "\n\n"),
        "signed id": lambda a: S.reply(ack["Message-ID"], subject=ack["Subject"], from_addr=a, date=now(),
                                       body=FORGED + "\n\n"),
    }
    sent_before, queued_before = len(smtp_sink.messages), count(session, OutboxMessage)
    work, records = {}, {}
    for address in (REPORTER, STRANGER):
        for name, build in variants.items():
            decrypts.clear()
            deliver(dovecot, mail_app, build(address))
            fetch(mail_app)
            session.expire_all()
            row = session.scalars(select(MailMessage).order_by(MailMessage.id.desc())).first()
            work[address, name], records[address, name] = len(decrypts), (row.status, row.reason)
    with mail_app.app_context():
        send_all(mail_app)
    answers = {a: [m for m in smtp_sink.messages[sent_before:] if a in m.rcpt_tos] for a in (REPORTER, STRANGER)}
    assert answers == {REPORTER: [], STRANGER: []}
    assert count(session, OutboxMessage) == queued_before
    assert work[REPORTER, "subject"] == work[STRANGER, "subject"] == 0  # a subject alone never opens the identity
    assert work[REPORTER, "signed id"] == work[STRANGER, "signed id"] == 1  # a signed id always does, once
    assert records[REPORTER, "subject"] == records[STRANGER, "subject"]
    assert records[REPORTER, "subject"][0] == records[STRANGER, "signed id"][0] == "unmatched"
    # the one number a sender could time: how long matching takes, the reporter's address or not
    monkeypatch.undo()
    mail_of = {a: parse_mail(variants["signed id"](a)) for a in (REPORTER, STRANGER)}
    key = cipher.derive(b"xlt-mail-message-id")
    timings = {REPORTER: [], STRANGER: []}
    for _round in range(150):
        for address, mail in mail_of.items():
            session.expire_all()
            start = time.perf_counter()
            judge_reply(session, cipher, key, mail)
            timings[address].append(time.perf_counter() - start)
    # the fastest of 150 runs is each path's own cost: a loaded machine (parallel workers) only adds to it
    fast, slow = sorted(min(t) for t in timings.values())
    assert slow - fast < max(0.5 * fast, 0.002), (fast, slow)


def test_a_sender_whose_domain_does_not_resolve_still_makes_a_report(app_factory, dovecot, mail_user, smtp_sink,
                                                                     session, ctx):
    app = app_factory(env={"MAILBOX_HEALTH": mail_user.url, "SMTP_URL": smtp_sink.url, "MAIL_FROM": "desk@xlt.example",
                           "EMAIL_CHECK_DELIVERABILITY": "true"})
    app.mail_users = {"health": mail_user.name}
    for sender in ("someone@no-such-domain-xlt-test.example", "someone@nonexistent.invalid"):
        deliver(dovecot, app, S.gbk_plain(date=now(), from_addr=sender))
    assert fetch(app)["health"] == ({"report": 2}, "")
    first, second = reports(session)
    assert first.channel == second.channel == "email"
    assert ctx.cipher.decrypt(first.identity.ciphertext).email == "someone@no-such-domain-xlt-test.example"
    assert second.identity is None or ctx.cipher.decrypt(second.identity.ciphertext).email == ""
    assert session.scalar(select(Report).where(Report.id == first.id)).text.startswith("您好")
    assert count(session, MailMessage, MailMessage.status == "quarantined") == 0
