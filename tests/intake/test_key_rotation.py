"""Rotating IDENTITY_KEY: `flask identity rotate` re-encrypts reporter identities, TOTP secrets and queued
mail under the new key; afterwards the new key alone opens them, receipts keep working while the old key
is listed in IDENTITY_KEY_PREVIOUS, and the rotation is in the audit trail."""
import base64

import pytest
from cryptography.fernet import InvalidToken
from sqlalchemy import select

from core.audit import AuditEvent
from intake.followup import find_by_receipt
from intake.identity import IdentityCipher
from intake.mail_models import OutboxMessage
from intake.models import ReporterIdentity
from intake.outbox import OutgoingMail, enqueue
from tests.conftest import IDENTITY_KEY
from tests.support.factories import file_report
from tests.support.staff import make_user

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
