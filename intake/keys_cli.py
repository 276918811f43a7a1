"""`flask --app wsgi identity rotate`: re-encrypt every secret held under IDENTITY_KEY_PREVIOUS with the
new IDENTITY_KEY — reporter identities, staff TOTP secrets, queued mail, mail held for a clerk — in batches, then record the
rotation in the audit trail. Safe to interrupt and run again (a ciphertext already under the new key is
simply re-encrypted once more)."""
from __future__ import annotations

import click
from flask import Flask, current_app
from sqlalchemy import select

from core.accounts import User
from core.audit import record
from core.db import new_session
from intake.mail_models import MailReview, OutboxMessage
from intake.models import ReporterIdentity

BATCH = 500


def rotate_all(session, cipher) -> dict[str, int]:
    counts = {}
    for label, model, key, column in (("identities", ReporterIdentity, ReporterIdentity.report_id, "ciphertext"),
                                      ("totp_secrets", User, User.id, "totp_secret"),
                                      ("queued_mail", OutboxMessage, OutboxMessage.id, "envelope"),
                                      ("held_mail", MailReview, MailReview.id, "envelope")):
        done, last = 0, None
        while True:
            stmt = select(model).where(getattr(model, column).is_not(None)).order_by(key).limit(BATCH)
            if last is not None:
                stmt = stmt.where(key > last)
            rows = list(session.scalars(stmt))
            if not rows:
                break
            for row in rows:
                value = getattr(row, column)
                if value:  # a sent mail's envelope is already wiped (b"")
                    setattr(row, column, cipher.rotate(value))
                    done += 1
            last = getattr(rows[-1], key.key)
            session.commit()
        counts[label] = done
    record(session, "identity.key_rotated", actor="cli", **counts)
    session.commit()
    return counts


def init_app(app: Flask) -> None:
    @app.cli.group("identity")
    def identity_group():
        """The identity key (IDENTITY_KEY) and its rotation."""

    @identity_group.command("rotate")
    def rotate_command():
        """Re-encrypt everything under IDENTITY_KEY (set the old key in IDENTITY_KEY_PREVIOUS first)."""
        if not current_app.config["IDENTITY_KEY_PREVIOUS"]:
            raise click.ClickException("set the new key in IDENTITY_KEY and the old one in IDENTITY_KEY_PREVIOUS "
                                       "first; nothing to rotate from")
        with new_session() as session:
            counts = rotate_all(session, current_app.extensions["intake"].cipher)
        click.echo("re-encrypted under the new key: " + ", ".join(f"{n} {label}" for label, n in counts.items()))
        click.echo("the old key no longer opens anything; keep it in IDENTITY_KEY_PREVIOUS only while receipts "
                   "issued before must keep working (it derives the receipt and mail-signature keys)")
