"""The mail test infrastructure itself: the dovecot fixture end to end with imap-tools, UIDs and
UIDVALIDITY, simulated IMAP outages, the SMTP sink, and the raw samples."""
from __future__ import annotations

import smtplib
import socket
import struct
import zlib
from email import message_from_bytes, policy
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import pytest
from imap_tools import MailBoxUnencrypted

from tests.support import mail_samples as S
from tests.support.mailserver import Dovecot, port_open


def mailbox(dovecot: Dovecot, user) -> MailBoxUnencrypted:
    return MailBoxUnencrypted(dovecot.host, dovecot.port, timeout=10).login(user.name, user.password)


def raw_by_uid(mb: MailBoxUnencrypted, uid: str) -> bytes:
    typ, data = mb.client.uid("FETCH", uid, "(BODY.PEEK[])")
    assert typ == "OK"
    return next(item[1] for item in data if isinstance(item, tuple))


def parse(raw: bytes) -> EmailMessage:
    return message_from_bytes(raw, policy=policy.default)


def refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


# ------------------------------------------------------------------------------------ dovecot
SMALL_SAMPLES = sorted(S.SAMPLES)


@pytest.mark.parametrize("name", SMALL_SAMPLES)
def test_each_sample_round_trips_through_dovecot(dovecot, mail_user, name):
    raw = S.SAMPLES[name]()
    uid = dovecot.append(mail_user.name, raw)
    assert dovecot.uids(mail_user.name) == [uid]
    with mailbox(dovecot, mail_user) as mb:
        fetched = list(mb.fetch(mark_seen=False))
        assert [m.uid for m in fetched] == [str(uid)]
        back = raw_by_uid(mb, str(uid))
    if name == "garbage":  # dovecot hands NUL back as 0x80 and a bare CR as CRLF
        assert back == raw.replace(b"\x00", b"\x80").replace(b"\x08\rbare", b"\x08\r\nbare")
    else:
        assert back == raw
    assert "\\Seen" not in dovecot.flags(mail_user.name, uid)


EXPECTED_SUBJECTS = {
    "gbk_base64": S.GBK_SUBJECT,
    "gbk_quoted_printable": S.GBK_SUBJECT,
    "headers_gbk_b": S.GBK_SUBJECT,
    "headers_gbk_q": S.GBK_SUBJECT,
    "gb18030": S.GB18030_SUBJECT,
    "big5": S.BIG5_SUBJECT,
    "big5_qp_q_headers": S.BIG5_SUBJECT,
    "headers_big5_b": S.BIG5_SUBJECT,
    "headers_big5_q": S.BIG5_SUBJECT,
    "utf8": S.UTF8_SUBJECT,
    "html_only": S.HTML_SUBJECT,
    "out_of_office_cn": S.OOO_SUBJECT,
}


def test_subjects_and_senders_decode_after_imap_fetch(dovecot, mail_user):
    uids = {name: dovecot.append(mail_user.name, S.SAMPLES[name]()) for name in EXPECTED_SUBJECTS}
    with mailbox(dovecot, mail_user) as mb:
        by_uid = {m.uid: m for m in mb.fetch(mark_seen=False)}
        assert set(by_uid) == {str(u) for u in uids.values()}
        for name, uid in uids.items():
            msg = parse(raw_by_uid(mb, str(uid)))
            assert msg["Subject"] == EXPECTED_SUBJECTS[name], name
            assert by_uid[str(uid)].subject == EXPECTED_SUBJECTS[name], name  # imap-tools' own decoding
    big5 = parse(dovecot.fetch(mail_user.name, uids["headers_big5_q"]))
    assert big5["From"].addresses[0].display_name == S.BIG5_FROM_NAME
    gbk = parse(dovecot.fetch(mail_user.name, uids["headers_gbk_q"]))
    assert gbk["From"].addresses[0].display_name == S.GBK_FROM_NAME
    assert gbk["From"].addresses[0].addr_spec == S.DEFAULT_FROM_ADDR


def test_bodies_decode_in_their_charsets(dovecot, mail_user):
    for name, text in [("gbk_quoted_printable", S.GBK_BODY), ("gb18030", S.GB18030_BODY),
                       ("big5", S.BIG5_BODY), ("utf8_base64", S.UTF8_BODY)]:
        uid = dovecot.append(mail_user.name, S.SAMPLES[name]())
        body = parse(dovecot.fetch(mail_user.name, uid)).get_body(("plain",)).get_content()
        assert body.replace("\r\n", "\n") == text, name


def test_flags_folders_and_listing(dovecot, mail_user):
    user = mail_user.name
    a = dovecot.append(user, S.gbk_base64(), flags=("\\Seen", "\\Flagged"))
    b = dovecot.append(user, S.big5_plain())
    c = dovecot.append(user, S.utf8_plain(), folder="Processed", flags=("$Ingested",))
    assert dovecot.uids(user) == [a, b] and b > a
    assert {"\\Seen", "\\Flagged"} <= dovecot.flags(user, a)
    assert "\\Seen" not in dovecot.flags(user, b)
    assert "$Ingested" in dovecot.flags(user, c, folder="Processed")
    assert dovecot.uids(user, "Processed") == [c]
    with mailbox(dovecot, mail_user) as mb:
        assert {"INBOX", "Processed"} <= {f.name for f in mb.folder.list()}
        unseen = [m.uid for m in mb.fetch("UNSEEN", mark_seen=False)]
        assert unseen == [str(b)]
        mb.folder.set("Processed")
        assert [m.uid for m in mb.fetch(mark_seen=False)] == [str(c)]


def test_url_names_the_user_and_port(dovecot, mail_user):
    parts = urlsplit(mail_user.url)
    assert (parts.scheme, parts.hostname, parts.port, parts.path) == ("imap", "127.0.0.1", dovecot.port, "/INBOX")
    assert (unquote(parts.username), unquote(parts.password)) == (mail_user.name, mail_user.password)
    assert dovecot.url(mail_user.name, "Processed").endswith("/Processed")


def test_users_added_after_start_and_wrong_passwords(dovecot):
    name, password = dovecot.add_user()  # the server is already running
    dovecot.append(name, S.utf8_plain())
    with MailBoxUnencrypted(dovecot.host, dovecot.port, timeout=10) as mb:
        with pytest.raises(Exception):
            mb.login(name, password + "x")
    dovecot.add_user(name, "changed-" + password)  # a changed password is seen at once as well
    with MailBoxUnencrypted(dovecot.host, dovecot.port, timeout=10).login(name, "changed-" + password) as mb:
        assert len(list(mb.fetch(mark_seen=False))) == 1


def test_uid_and_uidvalidity_survive_a_restart(dovecot, mail_user):
    user = mail_user.name
    uid = dovecot.append(user, S.gbk_base64())
    validity = dovecot.uidvalidity(user)
    assert validity > 0
    with mailbox(dovecot, mail_user) as mb:
        status = mb.folder.status("INBOX", ["UIDVALIDITY", "UIDNEXT", "MESSAGES"])
        assert status["UIDVALIDITY"] == validity and status["MESSAGES"] == 1 and status["UIDNEXT"] == uid + 1
    dovecot.kill()
    dovecot.start()
    assert dovecot.uids(user) == [uid]
    assert dovecot.uidvalidity(user) == validity
    second = dovecot.append(user, S.big5_plain())
    assert second > uid


def test_reset_uidvalidity_renumbers(dovecot, mail_user):
    user = mail_user.name
    first = dovecot.append(user, S.gbk_base64())
    second = dovecot.append(user, S.big5_plain())
    dovecot.append(user, S.utf8_plain(), folder="Archive")
    validity = dovecot.uidvalidity(user)
    dovecot.delete_all(user)  # expunge the first two, the next UIDs continue at 3
    third = dovecot.append(user, S.utf8_plain())
    assert third > second > first
    dovecot.reset_uidvalidity(user)
    assert dovecot.uidvalidity(user) != validity
    assert dovecot.uids(user) == [1]  # the message is still there, renumbered
    assert parse(dovecot.fetch(user, 1))["Subject"] == S.UTF8_SUBJECT
    assert dovecot.uids(user, "Archive") == [1]


def test_kill_and_restart_simulate_an_outage(dovecot, mail_user):
    uid = dovecot.append(mail_user.name, S.gbk_base64())
    dovecot.kill()
    try:
        assert not dovecot.running
        assert refused(dovecot.port)
        with pytest.raises(ConnectionRefusedError):
            MailBoxUnencrypted(dovecot.host, dovecot.port, timeout=5)
    finally:
        dovecot.restart()
    assert port_open(dovecot.port)
    with mailbox(dovecot, mail_user) as mb:
        assert [m.uid for m in mb.fetch(mark_seen=False)] == [str(uid)]


def test_stop_and_start_again(dovecot, mail_user):
    uid = dovecot.append(mail_user.name, S.utf8_plain())
    dovecot.restart()  # a clean SIGTERM shutdown and a new start on the same port
    assert dovecot.uids(mail_user.name) == [uid]


def test_a_second_independent_server(dovecot):  # (the fixture skips where dovecot is missing)
    with Dovecot() as other:
        name, _ = other.add_user("xlt-second")
        uid = other.append(name, S.gb18030_plain())
        assert other.uids(name) == [uid] and other.port
    assert not other.root.exists()
    assert refused(other.port)


@pytest.mark.slow
def test_large_attachment_round_trips(dovecot, mail_user):
    raw = S.large_attachment(size=30 * 1024 * 1024)
    uid = dovecot.append(mail_user.name, raw)
    back = dovecot.fetch(mail_user.name, uid)
    assert back == raw
    part = next(p for p in parse(back).walk() if p.get_filename())
    assert part.get_filename() == "监控录像.mp4"
    assert len(part.get_payload(decode=True)) == 30 * 1024 * 1024


# --------------------------------------------------------------------------------- SMTP sink
def test_smtp_sink_receives(smtp_sink):
    msg = EmailMessage()
    msg["From"] = "举报中心 <noreply@xlt.example.org>"
    msg["To"] = "whistle@example.cn"
    msg["Subject"] = "您的举报已受理"
    msg["Message-ID"] = S.new_message_id("xlt.example.org")
    msg.set_content("编号 XLT-2024-0042")
    host, port = urlsplit(smtp_sink.url).hostname, urlsplit(smtp_sink.url).port
    assert (host, port) == ("127.0.0.1", smtp_sink.port)
    with smtplib.SMTP(host, port, timeout=10) as client:
        client.send_message(msg, from_addr="bounces@xlt.example.org", to_addrs=["whistle@example.cn", "cc@example.cn"])
    (got,) = smtp_sink.wait_for(1)
    assert got.mail_from == "bounces@xlt.example.org"
    assert got.rcpt_tos == ["whistle@example.cn", "cc@example.cn"]
    assert got.message["Subject"] == "您的举报已受理"
    assert got.message["Message-ID"] == msg["Message-ID"]
    assert got.message.get_content().strip() == "编号 XLT-2024-0042"
    smtp_sink.clear()
    assert smtp_sink.messages == []


def test_smtp_sink_keeps_raw_samples(smtp_sink):
    raw = S.with_attachments("rfc2231")
    with smtplib.SMTP("127.0.0.1", smtp_sink.port, timeout=10) as client:
        client.sendmail("a@example.cn", ["b@example.cn"], raw)
    (got,) = smtp_sink.wait_for(1)
    assert got.data.replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")


def test_smtp_sink_down_refuses_connections(smtp_sink):
    smtp_sink.stop()
    assert refused(smtp_sink.port)
    with pytest.raises(ConnectionRefusedError):
        smtplib.SMTP("127.0.0.1", smtp_sink.port, timeout=5)
    smtp_sink.start()  # back on the same port
    with smtplib.SMTP("127.0.0.1", smtp_sink.port, timeout=10) as client:
        client.sendmail("a@example.cn", ["b@example.cn"], b"Subject: back\r\n\r\nup again\r\n")
    assert len(smtp_sink.wait_for(1)) == 1


def test_smtp_sink_failure_modes(smtp_sink):
    smtp_sink.set_mode("tempfail")
    with smtplib.SMTP("127.0.0.1", smtp_sink.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPDataError) as exc:
            client.sendmail("a@example.cn", ["b@example.cn"], b"Subject: x\r\n\r\nx\r\n")
        assert exc.value.smtp_code == 451
    smtp_sink.set_mode("reject")
    with smtplib.SMTP("127.0.0.1", smtp_sink.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as exc:
            client.sendmail("a@example.cn", ["b@example.cn"], b"Subject: x\r\n\r\nx\r\n")
        assert exc.value.recipients["b@example.cn"][0] == 550
    assert smtp_sink.messages == []
    smtp_sink.set_mode("accept")
    with smtplib.SMTP("127.0.0.1", smtp_sink.port, timeout=10) as client:
        client.sendmail("a@example.cn", ["b@example.cn"], b"Subject: x\r\n\r\nx\r\n")
    assert len(smtp_sink.wait_for(1)) == 1


# ---------------------------------------------------------------------------------- samples
def test_png_and_pdf_are_valid():
    png = S.png_bytes(8, 8)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    pos, chunks = 8, []
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        kind, data = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + data) & 0xFFFFFFFF == crc
        chunks.append((kind, data))
        pos += 12 + length
    assert [k for k, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    assert len(zlib.decompress(chunks[1][1])) == 8 * (1 + 8 * 3)

    pdf = S.pdf_bytes()
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    xref = int(pdf.rsplit(b"startxref", 1)[1].split()[0])
    assert pdf[xref:xref + 4] == b"xref"
    for n, line in enumerate(pdf[xref:].split(b"\n")[3:8], 1):  # every object offset is right
        off = int(line[:10])
        assert pdf[off:].startswith(b"%d 0 obj" % n)


@pytest.mark.parametrize("style", ["rfc2231", "rfc2047", "both"])
def test_attachment_names_decode(style):
    msg = parse(S.with_attachments(style))
    files = {p.get_filename(): p.get_content() for p in msg.iter_attachments()}
    assert files == {S.ATTACHMENT_PDF_NAME: S.pdf_bytes(), S.ATTACHMENT_PNG_NAME: S.png_bytes()}


def test_long_rfc2231_names_use_continuations():
    name = "关于采购部经理虚报发票及收受回扣的详细证据材料汇编（第二批，共十二份）.pdf"
    raw = S.with_attachments("rfc2231", attachments=[(name, "application/pdf", S.pdf_bytes())])
    assert b"filename*1*=" in raw
    assert next(parse(raw).iter_attachments()).get_filename() == name


def test_samples_have_the_advertised_traits():
    assert S.gbk_plain("quoted-printable").count(b"Content-Transfer-Encoding: quoted-printable") == 1
    assert b"=?gbk?Q?" in S.encoded_headers("gbk", "Q") and b"=?big5?B?" in S.encoded_headers("big5", "B")

    mislabelled = parse(S.gb2312_mislabelled())
    assert mislabelled.get_content_charset() == "gb2312"
    payload = mislabelled.get_payload(decode=True)
    with pytest.raises(UnicodeDecodeError):
        payload.decode("gb2312")
    assert payload.decode("gbk").replace("\r\n", "\n") == S.GB2312_MISLABEL_BODY

    with pytest.raises(UnicodeEncodeError):
        S.GB18030_BODY.encode("gbk")
    assert parse(S.gb18030_plain()).get_content().replace("\r\n", "\n") == S.GB18030_BODY

    html = parse(S.html_only())
    assert html.get_content_type() == "text/html" and not html.is_multipart()
    for needle in ("<script", "<style", 'width="1" height="1"', "onload=", "onclick=", "javascript:"):
        assert needle in html.get_content()

    alt = parse(S.multipart_alternative())
    assert [p.get_content_type() for p in alt.iter_parts()] == ["text/plain", "text/html"]

    assert parse(S.auto_submitted_reply())["Auto-Submitted"] == "auto-replied"
    assert parse(S.x_autoreply())["X-Autoreply"] == "yes"
    assert parse(S.precedence_bulk())["Precedence"] == "bulk"
    ooo = parse(S.out_of_office_cn())
    assert ooo["Subject"] == "自动回复：我现在休假" and ooo["Auto-Submitted"] is None

    original = S.new_message_id("xlt.example.org")
    dsn = parse(S.bounce_dsn(original, "gone@example.cn"))
    assert dsn.get_content_type() == "multipart/report"
    assert dsn.get_param("report-type") == "delivery-status"
    assert dsn["Return-Path"] == "<>" and "MAILER-DAEMON" in dsn["From"]
    status = next(p for p in dsn.walk() if p.get_content_type() == "message/delivery-status")
    assert "Action: failed" in status.as_string()
    inner = next(p for p in dsn.walk() if p.get_content_type() == "message/rfc822").get_content()
    assert inner["Message-ID"] == original

    assert parse(S.no_message_id())["Message-ID"] is None
    rep = parse(S.reply(original, subject="您的举报已受理"))
    assert rep["In-Reply-To"] == original and original in rep["References"]
    assert rep["Subject"] == "Re: 您的举报已受理"

    unknown = parse(S.unknown_charset())
    assert unknown.get_content_charset() == "x-unknown"
    with pytest.raises(LookupError):
        unknown.get_content()
    assert unknown.get_payload(decode=True).decode("gbk").replace("\r\n", "\n") == S.GBK_BODY

    with pytest.raises(UnicodeDecodeError):
        parse(S.invalid_bytes("utf-8")).get_payload(decode=True).decode("utf-8")
    with pytest.raises(UnicodeDecodeError):
        parse(S.invalid_bytes("gbk")).get_payload(decode=True).decode("gbk")

    cut = parse(S.truncated())
    assert any(type(d).__name__ == "CloseBoundaryNotFoundDefect" for d in cut.defects)

    junk = parse(S.garbage())
    assert junk.keys() == [] and junk["Subject"] is None and junk.defects


def test_sample_parameters_are_used():
    mid = "<fixed-1@example.cn>"
    msg = parse(S.big5_plain(subject="測試", from_name="王小明", from_addr="w@example.tw", to="x@example.org",
                             message_id=mid))
    assert (msg["Subject"], msg["Message-ID"], msg["To"]) == ("測試", mid, "x@example.org")
    assert msg["From"].addresses[0].display_name == "王小明"
    big = S.large_attachment(size=1000)
    part = next(parse(big).iter_attachments())
    assert len(part.get_content()) == 1000
