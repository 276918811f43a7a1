"""Rotating IDENTITY_KEY: `flask identity rotate` re-encrypts reporter identities, TOTP secrets and queued
mail under the new key; afterwards the new key alone opens them, receipts keep working while the old key
is listed in IDENTITY_KEY_PREVIOUS, and the rotation is in the audit trail."""
import base64
import re

import pyotp
import pytest
from cryptography.fernet import InvalidToken
from sqlalchemy import select, update

from core.audit import AuditEvent
from intake.errors import ReceiptNotFound
from intake.followup import find_by_receipt
from intake.identity import IdentityCipher
from intake.mail_cli import mail_settings
from intake.mail_models import OutboxMessage
from intake.models import Report, ReporterIdentity
from intake.outbox import OutgoingMail, enqueue, report_of_message_id, signed_message_id
from tests.conftest import IDENTITY_KEY
from tests.support.factories import file_report
from tests.support.staff import login, make_user, otp_code
from tests.support.web import hidden_fields

NEW_KEY = base64.urlsafe_b64encode(b"n" * 32).decode()


def test_rotation_re_encrypts_everything_and_receipts_survive(app_factory, session, ctx):
    app = app_factory()
    with app.app_context():
        receipt = file_report(session, ctx, anonymous=False, reporter_name="张三", reporter_phone="13800001111")
    make_user(session, "coord", role="coordinator", unit="taskforce", totp_secret="JBSWY3DPEHPK3PXP")
    enqueue(session, ctx.cipher, OutgoingMail(to="someone@example.org", subject="s", text="t"), kind="test",
            message_id="<m1@x>")
    session.commit()

    rotated = app_factory(env={"IDENTITY_KEY": NEW_KEY, "IDENTITY_KEY_PREVIOUS": IDENTITY_KEY})
    result = rotated.test_cli_runner().invoke(args=["identity", "rotate"])
    assert result.exit_code == 0, result.output
    assert "1 identities, 1 totp_secrets, 1 queued_mail" in result.output

    new_only, old_only = IdentityCipher(NEW_KEY), IdentityCipher(IDENTITY_KEY)
    session.expire_all()
    identity = session.scalar(select(ReporterIdentity))
    assert new_only.decrypt(identity.ciphertext).name == "张三"
    with pytest.raises(InvalidToken):
        old_only.decrypt(identity.ciphertext)
    assert new_only.decrypt_json(session.scalar(select(OutboxMessage.envelope)))["to"] == "someone@example.org"
    # the receipt still opens the report under the new key, the old one kept as previous
    assert find_by_receipt(session, rotated.extensions["intake"], receipt.receipt).id == receipt.report_id
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "identity.key_rotated")).detail == \
        {"identities": 1, "totp_secrets": 1, "queued_mail": 1, "held_mail": 0}


def test_rotation_needs_the_old_key_named(app_factory):
    result = app_factory().test_cli_runner().invoke(args=["identity", "rotate"])
    assert result.exit_code != 0 and "IDENTITY_KEY_PREVIOUS" in result.output


# --- retiring the old key: receipts and mail signatures re-keyed as they are used, --status counts them ------

def status_of(app) -> str:
    result = app.test_cli_runner().invoke(args=["identity", "rotate", "--status"])
    assert result.exit_code == 0, result.output
    return result.output


def count_in(output: str, label: str) -> int:
    return int(re.search(rf"{re.escape(label)}: (\d+)", output).group(1))


def follow_up(client, receipt: str):
    data = hidden_fields(client.get("/followup").get_data(as_text=True))
    return client.post("/followup", data={**data, "receipt": receipt})


def test_rotation_retires_the_old_key_once_nothing_depends_on_it(app_factory, session, ctx):
    old_app = app_factory()
    with old_app.app_context():
        used = file_report(session, ctx, anonymous=False, reporter_name="张三", reporter_phone="13800001111",
                           reporter_email="zhangsan@example.org")
        idle = file_report(session, ctx, text="区中心医院药剂科主任收受医药代表回扣，按开药量每月结算现金。")
        old_settings = mail_settings(old_app)
    secret = pyotp.random_base32()
    make_user(session, "coord", role="coordinator", unit="taskforce", totp_secret=secret)
    signed = signed_message_id(old_settings.msgid_key, used.report_id, old_settings.mail_domain)
    enqueue(session, ctx.cipher, OutgoingMail(to="zhangsan@example.org", subject="举报已登记", text="..."),
            kind="acknowledgement", message_id=signed, report_id=used.report_id)
    session.execute(update(OutboxMessage).values(status="sent", envelope=b""))  # sent: in the reporter's mailbox
    session.execute(update(Report).where(Report.id == idle.report_id).values(receipt_key_id=None))  # pre-0013 row
    session.commit()

    rotated = app_factory(env={"IDENTITY_KEY": NEW_KEY, "IDENTITY_KEY_PREVIOUS": IDENTITY_KEY})
    before = status_of(rotated)
    assert count_in(before, "reporter identities") == 1 and count_in(before, "staff TOTP secrets") == 1
    result = rotated.test_cli_runner().invoke(args=["identity", "rotate"])
    assert result.exit_code == 0, result.output
    status = status_of(rotated)
    assert count_in(status, "receipt hashes") == 2  # the unversioned row counts as the oldest key's
    assert (count_in(status, "reporter identities"), count_in(status, "staff TOTP secrets"),
            count_in(status, "queued mail")) == (0, 0, 0)
    assert count_in(status, "mails sent with a Message-ID signed by a previous key") == 1
    assert "keep the previous key" in status

    # the old receipt works under the rotated app and is re-keyed on the way
    rotated_ctx = rotated.extensions["intake"]
    assert find_by_receipt(session, rotated_ctx, used.receipt).id == used.report_id
    session.expire_all()
    report = session.get(Report, used.report_id)
    assert report.receipt_key_id == rotated_ctx.hasher.key_id and report.receipt_hash == rotated_ctx.hasher.hash(used.receipt)
    assert count_in(status_of(rotated), "receipt hashes") == 1
    assert follow_up(rotated.test_client(), idle.receipt).status_code in (200, 302)  # the web form re-keys too
    status = status_of(rotated)
    assert count_in(status, "receipt hashes") == 0 and "you may remove it from IDENTITY_KEY_PREVIOUS" in status
    assert "fall to the unmatched mail" in status  # what removing it means for replies to mails sent before
    with rotated.app_context():  # while the old key is listed, a reply to the old signature still matches
        settings = mail_settings(rotated)
    assert report_of_message_id(settings.msgid_key, signed, *settings.msgid_previous_keys) == used.report_id

    # the old key removed: everything still works, and old signatures no longer match (unmatched queue)
    retired = app_factory(env={"IDENTITY_KEY": NEW_KEY})
    retired_ctx = retired.extensions["intake"]
    session.expire_all()
    for filed in (used, idle):
        assert find_by_receipt(session, retired_ctx, filed.receipt).id == filed.report_id
    assert retired_ctx.cipher.decrypt(session.scalar(select(ReporterIdentity.ciphertext))).name == "张三"
    client = retired.test_client()
    assert follow_up(client, used.receipt).status_code in (200, 302)
    assert login(retired.test_client(), "coord", otp=otp_code(secret)).status_code == 302  # TOTP under the new key
    with retired.app_context():
        settings = mail_settings(retired)
    assert report_of_message_id(settings.msgid_key, signed, *settings.msgid_previous_keys) is None
    fresh = signed_message_id(settings.msgid_key, used.report_id, settings.mail_domain)
    assert report_of_message_id(settings.msgid_key, fresh, *settings.msgid_previous_keys) == used.report_id
    final = status_of(retired)
    assert "no previous key is listed" in final and "receipts under no listed key" not in final


def test_a_receipt_under_a_key_no_longer_listed_is_counted_as_lost(app_factory, session, ctx):
    """Removing the old key too early: the status says how many receipts stopped working."""
    old_app = app_factory()
    with old_app.app_context():
        filed = file_report(session, ctx)
    retired = app_factory(env={"IDENTITY_KEY": NEW_KEY})
    with pytest.raises(ReceiptNotFound):
        find_by_receipt(session, retired.extensions["intake"], filed.receipt)
    assert count_in(status_of(retired), "receipts under no listed key") == 1


def test_with_a_receipt_key_of_its_own_rotation_leaves_receipts_alone(app_factory, session, ctx):
    own = {"RECEIPT_KEY": "r" * 40}
    first = app_factory(env=own)
    with first.app_context():
        filed = file_report(session, first.extensions["intake"])
    rotated = app_factory(env={**own, "IDENTITY_KEY": NEW_KEY, "IDENTITY_KEY_PREVIOUS": IDENTITY_KEY})
    assert rotated.test_cli_runner().invoke(args=["identity", "rotate"]).exit_code == 0
    status = status_of(rotated)
    assert count_in(status, "receipt hashes") == 0 and "RECEIPT_KEY" in status
    retired = app_factory(env={**own, "IDENTITY_KEY": NEW_KEY})
    assert find_by_receipt(session, retired.extensions["intake"], filed.receipt).id == filed.report_id
