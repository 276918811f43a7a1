"""The outbox against a real SMTP server (aiosmtpd on loopback): exactly once, retries, secrecy."""
from datetime import timedelta

from sqlalchemy import select

from core.db import utcnow
from intake.mail_models import OutboxMessage
from intake.mailboxes import parse_smtp_url
from intake.outbox import OutgoingMail, backoff, drain, enqueue, report_of_message_id, signed_message_id


def queue(session, ctx, n=1, to="reporter@example.com"):
    for i in range(n):
        enqueue(session, ctx.cipher, OutgoingMail(to, f"举报已登记 {i}", f"查询码 1234-5678-9012-{i:04d}", "<p>html</p>"),
                kind="acknowledgement", message_id=signed_message_id(b"k", i + 1, "xlt.example"))
    session.commit()


def send(session, ctx, sink, now=None):
    return drain(session, ctx.cipher, parse_smtp_url(sink.url), "desk@xlt.example", sender_name="举报平台", now=now)


def test_queued_mail_is_sent_once_with_auto_submitted_and_then_wiped(session, ctx, smtp_sink):
    queue(session, ctx, 2)
    row = session.scalar(select(OutboxMessage))
    assert b"reporter@example.com" not in row.envelope and "1234".encode() not in row.envelope  # encrypted at rest
    assert send(session, ctx, smtp_sink).sent == 2
    assert send(session, ctx, smtp_sink).sent == 0  # a second drain sends nothing again
    received = smtp_sink.wait_for(2)
    assert len(received) == 2
    msg = received[0].message
    assert msg["Auto-Submitted"] == "auto-generated" and msg["Subject"] == "举报已登记 0"
    assert received[0].rcpt_tos == ["reporter@example.com"] and msg["Message-ID"].startswith("<xlt.1.")
    assert "查询码" in msg.get_body(("plain",)).get_content()
    rows = session.scalars(select(OutboxMessage)).all()
    assert all(r.status == "sent" and r.envelope == b"" and r.sent_at for r in rows)


def test_smtp_down_defers_with_backoff_and_catches_up(session, ctx, smtp_sink):
    queue(session, ctx, 3)
    smtp_sink.stop()
    start = utcnow()
    result = send(session, ctx, smtp_sink, now=start)
    assert (result.sent, result.deferred) == (0, 3)
    row = session.scalar(select(OutboxMessage))
    assert row.status == "pending" and row.attempts == 1 and row.next_attempt_at == start + backoff(1)
    assert "connect" in row.last_error
    # an hour of outage, drained every minute: each row retries on its backoff, nothing is lost
    for minute in range(1, 61):
        send(session, ctx, smtp_sink, now=start + timedelta(minutes=minute))
    assert session.scalar(select(OutboxMessage)).status == "pending"
    smtp_sink.start()
    result = send(session, ctx, smtp_sink, now=start + timedelta(minutes=120))
    assert result.sent == 3 and len(smtp_sink.wait_for(3)) == 3


def test_temporary_failure_retries_and_permanent_refusal_fails_visibly(session, ctx, smtp_sink):
    queue(session, ctx, 1)
    smtp_sink.set_mode("tempfail")
    assert send(session, ctx, smtp_sink).deferred == 1
    smtp_sink.set_mode("reject")
    row = session.scalar(select(OutboxMessage))
    result = send(session, ctx, smtp_sink, now=row.next_attempt_at)
    session.refresh(row)
    assert result.failed == 1 and row.status == "failed" and "refused (550)" in row.last_error
    assert "reporter@example.com" not in row.last_error


def test_a_claim_left_by_a_crashed_drainer_is_taken_over(session, ctx, smtp_sink):
    queue(session, ctx, 1)
    row = session.scalar(select(OutboxMessage))
    row.status, row.claimed_at = "sending", utcnow() - timedelta(minutes=30)  # drainer died mid-send
    session.commit()
    assert send(session, ctx, smtp_sink).sent == 1
    row.status, row.claimed_at = "sending", utcnow()  # a live claim is left alone
    session.commit()
    assert send(session, ctx, smtp_sink).sent == 0


def test_signed_message_ids_identify_their_report_and_resist_forgery():
    mid = signed_message_id(b"secret", 42, "xlt.example")
    assert report_of_message_id(b"secret", mid) == 42
    assert report_of_message_id(b"other", mid) is None
    forged = mid.replace("xlt.42.", "xlt.43.")
    assert report_of_message_id(b"secret", forged) is None
    assert report_of_message_id(b"secret", "<random@host>") is None


def test_mail_send_command(app_factory, smtp_sink, session, ctx):
    app = app_factory(env={"SMTP_URL": smtp_sink.url, "MAIL_FROM": "desk@xlt.example"})
    queue(session, ctx, 1)
    result = app.test_cli_runner().invoke(args=["mail", "send"])
    assert result.exit_code == 0 and "sent 1" in result.output
    assert smtp_sink.wait_for(1)[0].mail_from == "desk@xlt.example"


def test_admins_see_undelivered_mail_and_quarantine_without_content(app, client, session, ctx, smtp_sink):
    import pyotp

    from tests.support.staff import login, make_user, otp_code
    secret = pyotp.random_base32()
    make_user(session, "root", role="admin", unit="taskforce", totp_secret=secret)
    make_user(session, "hh", role="handler", unit="health")
    queue(session, ctx, 1, to="secret-reporter@example.com")
    smtp_sink.set_mode("reject")
    send(session, ctx, smtp_sink)
    login(client, "hh")
    assert client.get("/admin/mail").status_code == 403
    other = client.application.test_client()
    login(other, "root", otp=otp_code(secret))
    page = other.get("/admin/mail").get_data(as_text=True)
    assert "发出邮件" in page and "refused" in page
    assert "secret-reporter@example.com" not in page and "查询码 1234" not in page


def test_a_poisoned_row_is_its_own_failure_and_the_normal_mail_behind_it_goes_out(session, ctx, smtp_sink):
    """CR/LF in the sender's name, a subject, a Message-ID and In-Reply-To (stripped: sent as one header
    each); CR/LF in a recipient, a row whose data cannot become a mail, a row that cannot be decrypted (each
    its own failed attempt): the plain mail queued behind them reaches the server in the same drain."""
    def add(envelope: bytes, message_id: str) -> OutboxMessage:
        row = OutboxMessage(kind="acknowledgement", message_id=message_id, envelope=envelope, status="pending",
                            next_attempt_at=utcnow())
        session.add(row)
        return row

    stripped = enqueue(session, ctx.cipher, OutgoingMail(
        "reporter@example.com", "举报已登记\r\nBcc: spy@attacker.example\r\n\r\nforged body", "正文",
        in_reply_to="<a@b>\r\nX-Injected: yes"), kind="acknowledgement",
        message_id="<xlt.1.0.0@xlt.example>\r\nX-Injected: yes")
    bad_recipient = enqueue(session, ctx.cipher, OutgoingMail("reporter2@example.com\r\nBcc: spy@attacker.example",
                                                              "主题", "正文"), kind="acknowledgement",
                            message_id="<bad-to@xlt.example>")
    no_recipient = add(ctx.cipher.encrypt_json({"subject": "没有收件人", "text": "x"}), "<no-to@xlt.example>")
    not_a_dict = add(ctx.cipher.encrypt_json(["to", "reporter3@example.com"]), "<list@xlt.example>")  # type: ignore[arg-type]
    undecryptable = add(b"not a fernet token", "<garbage@xlt.example>")
    enqueue(session, ctx.cipher, OutgoingMail("plain@example.com", "普通邮件", "一切正常"), kind="acknowledgement",
            message_id="<plain@xlt.example>")
    session.commit()
    start = utcnow()
    result = drain(session, ctx.cipher, parse_smtp_url(smtp_sink.url), "desk@xlt.example",
                   sender_name="举报平台\r\nX-Injected: yes", now=start)
    assert (result.sent, result.deferred, result.failed) == (2, 4, 0)
    received = sorted(smtp_sink.wait_for(2), key=lambda m: m.message["Subject"])
    assert len(received) == 2 and [m.rcpt_tos for m in received] == [["reporter@example.com"], ["plain@example.com"]]
    poisoned, plain = received
    assert poisoned.message["Subject"] == "举报已登记 Bcc: spy@attacker.example forged body"
    assert poisoned.message["In-Reply-To"] == "<a@b> X-Injected: yes"
    assert plain.message["Subject"] == "普通邮件" and "一切正常" in plain.message.get_body(("plain",)).get_content()
    for message in (plain.message, poisoned.message):
        assert message["X-Injected"] is None and message["Bcc"] is None
        assert "\n" not in message["From"] and "举报平台" in message["From"]
    assert b"spy@attacker.example" not in b"".join(m.data for m in received if m is plain)
    for row in (bad_recipient, no_recipient, not_a_dict, undecryptable):
        session.refresh(row)
        assert row.status == "pending" and row.attempts == 1 and row.next_attempt_at == start + backoff(1)
        assert row.last_error and "reporter2@example.com" not in row.last_error
    session.refresh(stripped)
    assert stripped.status == "sent" and stripped.envelope == b""
    assert drain(session, ctx.cipher, parse_smtp_url(smtp_sink.url), "desk@xlt.example",
                 now=start + backoff(1)).deferred == 4  # retried on their backoff, failing again alone
