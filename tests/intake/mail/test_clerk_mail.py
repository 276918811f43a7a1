"""The clerk's mail pages through a real mailbox: an unmatched reply is read, made a new report or attached
to a case as a staff note (never the reporter's message); a quarantined mail is read as plain text, made a
report or dismissed with a reason. Every decision needs its CSRF token, is audited, and is taken once."""
from zoneinfo import ZoneInfo

import pyotp
import pytest
from sqlalchemy import select

from casework.models import Case
from core.audit import AuditEvent
from intake.mail_models import MailMessage, MailReview, OutboxMessage
from intake.models import Attachment, Message, Report
from tests.intake.mail.test_ingest import count, deliver, fetch, now, reports
from tests.intake.mail.test_unmatched import FORGED, STRANGER, acknowledged, case_page, followup_page
from tests.support import mail_samples as S
from tests.support.staff import login, make_user, otp_code
from tests.support.web import hidden_fields

HOSTILE = "<script>alert('clerk')</script><img src=x onerror=alert(1)>"


def clerk(app, session, unit="health", name="clerk-h"):
    make_user(session, name, role="clerk", unit=unit, display_name=f"登记员{name}")
    client = app.test_client()
    login(client, name)
    return client


def held(session, status="unmatched"):
    session.expire_all()
    return session.scalars(select(MailMessage).where(MailMessage.status == status).order_by(MailMessage.id)).all()


def post(client, page: str, action: str, **data):
    form = hidden_fields(client.get(page).get_data(as_text=True))
    return client.post(action, data={"csrf_token": form.get("csrf_token", ""), **data}, follow_redirects=True)


def audited(session, action):
    session.expire_all()
    return session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


@pytest.fixture
def unmatched(mail_app, dovecot, smtp_sink, session):
    """A mailed report, acknowledged, and a stranger's reply that quotes its reference: held for a clerk."""
    report, _ack, receipt = acknowledged(mail_app, dovecot, smtp_sink, session)
    deliver(dovecot, mail_app, S.reply("<not-ours@elsewhere.example>", subject=f"关于 {report.reference}",
                                       from_addr=STRANGER, from_name="陌生人", date=now(),
                                       body=f"{FORGED}\n{HOSTILE}\n\n"))
    assert fetch(mail_app)["health"][0] == {"unmatched": 1}
    (row,) = held(session)
    return report, receipt, row


def test_a_clerk_reads_unmatched_replies_as_escaped_text_with_sender_and_local_time(mail_app, session, unmatched):
    report, _receipt, row = unmatched
    client = clerk(mail_app, session)
    page = client.get("/clerk/mail/unmatched").get_data(as_text=True)
    assert STRANGER in page and "陌生人" in page and f"关于 {report.reference}" in page and FORGED in page
    local = row.created_at.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo("Asia/Shanghai"))
    assert local.strftime("%Y-%m-%d %H:%M") in page
    assert "<script>alert" not in page and "onerror=alert" not in page.replace("onerror=alert(1)&gt;", "")
    assert "&lt;script&gt;" in page
    assert "登记为新举报" in page and "附上说明后附到案件" in page  # Chinese first
    (listed,) = audited(session, "mail.listed")
    assert listed.detail["mails"] == [row.id] and listed.actor_id is not None


def test_make_it_a_new_report_goes_through_the_one_submit_path_once(mail_app, session, ctx, unmatched):
    report, _receipt, row = unmatched
    client = clerk(mail_app, session)
    response = post(client, "/clerk/mail/unmatched", f"/clerk/mail/unmatched/{row.id}/report")
    new = reports(session)[-1]
    assert response.status_code == 200 and new.reference in response.get_data(as_text=True)
    assert new.id != report.id and new.channel == "email" and new.received_by == "health" and FORGED in new.text
    assert ctx.cipher.decrypt(new.identity.ciphertext).email == STRANGER
    assert [a.extension for a in new.attachments] == ["eml"]
    session.refresh(row)
    assert (row.status, row.report_id) == ("report", new.id)
    review = session.scalar(select(MailReview).where(MailReview.mail_message_id == row.id))
    assert review.resolution == "report" and review.resolved_by is not None and review.resolved_at is not None
    (event,) = audited(session, "mail.made_report")
    assert event.report_id == new.id and event.detail == {"mail": row.id, "was": "unmatched"}
    ack = session.scalar(select(OutboxMessage).where(OutboxMessage.report_id == new.id))
    assert ack.kind == "acknowledgement" and ctx.cipher.decrypt_json(ack.envelope)["to"] == STRANGER
    assert session.scalar(select(Case).where(Case.report_id == new.id)) is not None  # routed like any report
    again = post(client, "/clerk/mail/unmatched", f"/clerk/mail/unmatched/{row.id}/report")
    assert "已不在待处理之列" in again.get_data(as_text=True) and len(reports(session)) == 2
    assert FORGED not in client.get("/clerk/mail/unmatched").get_data(as_text=True)


def test_attach_to_a_case_is_a_staff_note_never_the_reporters_message(mail_app, session, unmatched):
    report, receipt, row = unmatched
    client = clerk(mail_app, session)
    response = post(client, "/clerk/mail/unmatched", f"/clerk/mail/unmatched/{row.id}/attach",
                    reference=f"  {report.reference.lower()} ", note="来信人自称知情者，内容与本案有关，请承办人核实。")
    assert "工作备注" in response.get_data(as_text=True) and report.reference in response.get_data(as_text=True)
    session.expire_all()
    (note,) = session.scalars(select(Message).where(Message.report_id == report.id)).all()
    assert note.author == "staff" and not note.visible_to_reporter and note.author_user_id is not None
    assert "请承办人核实" in note.body and FORGED in note.body
    assert STRANGER not in note.body and "陌生人" not in note.body  # who sent it is not put on the case
    files = session.scalars(select(Attachment).where(Attachment.message_id == note.id)).all()
    assert [f.extension for f in files] == ["eml"]
    assert FORGED not in followup_page(mail_app, receipt)  # the reporter's thread does not show it
    page = case_page(mail_app, session, report.reference)
    assert FORGED in page and "工作备注（举报人看不到）" in page and "登记员附上了一封邮件" in page
    case = session.scalar(select(Case).where(Case.report_id == report.id))
    (event,) = audited(session, "mail.attached")
    assert (event.case_id, event.report_id, event.detail["mail"]) == (case.id, report.id, row.id)
    session.refresh(row)
    assert (row.status, row.report_id) == ("attached", report.id)


def test_wrong_inputs_leave_the_mail_waiting(mail_app, session, unmatched):
    report, _receipt, row = unmatched
    client = clerk(mail_app, session)
    attach = f"/clerk/mail/unmatched/{row.id}/attach"
    assert "没有此编号的案件" in post(client, "/clerk/mail/unmatched", attach, reference="XLT-2020-999999",
                                     note="x").get_data(as_text=True)
    assert "没有此编号的案件" in post(client, "/clerk/mail/unmatched", attach, reference="'; drop table",
                                     note="x").get_data(as_text=True)
    assert "必填" in post(client, "/clerk/mail/unmatched", attach, reference=report.reference,
                         note="  ").get_data(as_text=True)
    assert "必填" in post(client, "/clerk/mail/unmatched", f"/clerk/mail/unmatched/{row.id}/dismiss",
                         reason="").get_data(as_text=True)
    # no CSRF token: refused, nothing done
    assert client.post(f"/clerk/mail/unmatched/{row.id}/report").status_code == 400
    assert client.post(attach, data={"reference": report.reference, "note": "x"}).status_code == 400
    assert client.post("/clerk/mail/unmatched/999999/report",
                       data={"csrf_token": hidden_fields(client.get("/clerk/mail/unmatched").get_data(as_text=True))
                             ["csrf_token"]}).status_code == 302
    assert [m.id for m in held(session)] == [row.id] and len(reports(session)) == 1
    assert count(session, Message) == 0 and audited(session, "mail.attached") == []


def test_only_clerks_of_the_mailbox_and_coordinators_see_it(mail_app, session, unmatched):
    _report, _receipt, row = unmatched
    other = clerk(mail_app, session, unit="market", name="clerk-m")
    assert FORGED not in other.get("/clerk/mail/unmatched").get_data(as_text=True)
    refused = post(other, "/clerk/mail/unmatched", f"/clerk/mail/unmatched/{row.id}/report")
    assert "已不在待处理之列" in refused.get_data(as_text=True) and len(reports(session)) == 1
    handler = mail_app.test_client()
    make_user(session, "hh", role="handler", unit="health")
    login(handler, "hh")
    assert handler.get("/clerk/mail/unmatched").status_code == 403
    assert handler.get("/clerk/mail/quarantine").status_code == 403
    secret = pyotp.random_base32()
    make_user(session, "coord", role="coordinator", unit="taskforce", totp_secret=secret)
    coordinator = mail_app.test_client()
    login(coordinator, "coord", otp=otp_code(secret))
    assert FORGED in coordinator.get("/clerk/mail/unmatched").get_data(as_text=True)
    admin_page = coordinator.get("/admin/mail").get_data(as_text=True)
    assert 'href="/clerk/mail/unmatched"' in admin_page and 'href="/clerk/mail/quarantine"' in admin_page
    assert "未能匹配的回复" in admin_page
    entry = clerk(mail_app, session, name="clerk-h2").get("/clerk/new").get_data(as_text=True)
    assert 'href="/clerk/mail/unmatched"' in entry and 'href="/clerk/mail/quarantine"' in entry


# --- quarantine ------------------------------------------------------------------------------------------

POISON = (b"this is not a header \xff\xfe\x01 " + HOSTILE.encode() + b"\r\n"
          + "正文：院长收受回扣的证据见附件。".encode() + b"\r\n" + b"A" * 300_000 + b"\r\n")


@pytest.fixture
def quarantined(mail_app, dovecot, session):
    deliver(dovecot, mail_app, POISON)
    assert fetch(mail_app)["health"][0] == {"quarantined": 1}
    (row,) = held(session, "quarantined")
    return row


def test_a_quarantined_mail_is_read_as_capped_plain_text(mail_app, session, quarantined):
    client = clerk(mail_app, session)
    listing = client.get("/clerk/mail/quarantine").get_data(as_text=True)
    assert f'href="/clerk/mail/quarantine/{quarantined.id}"' in listing and "无法作为邮件读取" in listing
    response = client.get(f"/clerk/mail/quarantine/{quarantined.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "院长收受回扣" in page and "\ufffd" in page
    assert "<script>alert" not in page and "<img src=x" not in page and "&lt;script&gt;" in page
    assert "仅显示开头部分" in page and len(page) < 260_000
    assert "script-src 'self'" in response.headers["Content-Security-Policy"] or \
        "default-src" in response.headers["Content-Security-Policy"]
    (event,) = audited(session, "mail.read")
    assert event.detail == {"mail": quarantined.id, "status": "quarantined"}


def test_a_quarantined_mail_made_a_report(mail_app, session, quarantined):
    client = clerk(mail_app, session)
    page = f"/clerk/mail/quarantine/{quarantined.id}"
    response = post(client, page, f"{page}/report")
    (report,) = reports(session)
    assert report.reference in response.get_data(as_text=True)
    assert report.channel == "email" and "院长收受回扣" in report.text and report.identity is None
    session.refresh(quarantined)
    assert (quarantined.status, quarantined.report_id) == ("report", report.id)
    assert [e.report_id for e in audited(session, "mail.made_report")] == [report.id]


def test_a_quarantined_mail_dismissed_with_a_reason_is_kept(mail_app, session, ctx, quarantined):
    client = clerk(mail_app, session)
    page = f"/clerk/mail/quarantine/{quarantined.id}"
    assert "必填" in post(client, page, f"{page}/dismiss", reason=" ").get_data(as_text=True)
    response = post(client, page, f"{page}/dismiss", reason="垃圾邮件，无举报内容。")
    assert "仍予保存" in response.get_data(as_text=True)
    session.refresh(quarantined)
    assert quarantined.status == "dismissed" and ctx.store.path(quarantined.raw_name).exists()
    review = session.scalar(select(MailReview).where(MailReview.mail_message_id == quarantined.id))
    assert review.resolution == "dismissed" and review.note == "垃圾邮件，无举报内容。"
    (event,) = audited(session, "mail.dismissed")
    assert event.detail == {"mail": quarantined.id, "was": "quarantined", "reason": "垃圾邮件，无举报内容。"}
    assert client.get(page, follow_redirects=True).request.path == "/clerk/mail/quarantine"


def test_a_quarantined_mail_left_on_the_server_can_only_be_dismissed(app, session):
    row = MailMessage(mailbox="health", uidvalidity=1, uid=7, message_key="uid:health:1:7", status="quarantined",
                      reason="declared size 90000000 bytes over the limit; left on the server for a clerk", size=90_000_000)
    session.add(row)
    session.commit()
    client = clerk(app, session)
    page = f"/clerk/mail/quarantine/{row.id}"
    text = client.get(page).get_data(as_text=True)
    assert "原件留在邮件服务器上" in text and "登记为举报" not in text.split("</h1>", 1)[1].split("<details")[0]
    assert "无法在此直接登记" in post(client, page, f"{page}/report").get_data(as_text=True)
    assert post(client, page, f"{page}/dismiss", reason="已在邮箱中手工登记。").status_code == 200
    session.refresh(row)
    assert row.status == "dismissed" and count(session, Report) == 0
