"""`flask --app wsgi identity rotate`: re-encrypt every secret held under IDENTITY_KEY_PREVIOUS with the
new IDENTITY_KEY — reporter identities, staff TOTP secrets, queued mail, mail held for a clerk — in batches, then record the
rotation in the audit trail. Safe to interrupt and run again (a ciphertext already under the new key is
simply re-encrypted once more).

What cannot be re-encrypted in one go is re-keyed as it is next used: a receipt (only its hash is stored;
the look-up tries the previous keys and re-stores it under the current one) and our signed Message-IDs
(those already sent live in reporters' mailboxes; replies to them match while the old key is listed, and
every new mail is signed with the current key). `identity rotate --status` counts what still depends on a
previous key, so the operator knows when removing it from IDENTITY_KEY_PREVIOUS breaks nothing."""
from __future__ import annotations

from dataclasses import dataclass

import click
from flask import Flask, current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.accounts import User
from core.audit import record
from core.db import new_session
from intake.identity import IdentityCipher
from intake.mail_models import MailReview, OutboxMessage
from intake.match_keys import REPORTER_LABEL, rekey_reporter
from intake.models import Report, ReporterIdentity
from intake.outbox import message_id_keys, signed_by
from intake.receipts import ReceiptHasher

BATCH = 500
ENCRYPTED = (("identities", ReporterIdentity, ReporterIdentity.report_id, "ciphertext"),
             ("totp_secrets", User, User.id, "totp_secret"),
             ("queued_mail", OutboxMessage, OutboxMessage.id, "envelope"),
             ("held_mail", MailReview, MailReview.id, "envelope"))


def _batches(session: Session, model, key, column):
    last = None
    while True:
        stmt = select(model).where(getattr(model, column).is_not(None)).order_by(key).limit(BATCH)
        if last is not None:
            stmt = stmt.where(key > last)
        rows = list(session.scalars(stmt))
        if not rows:
            return
        yield rows
        last = getattr(rows[-1], key.key)


def rotate_all(session, cipher) -> dict[str, int]:
    counts, subkeys = {}, cipher.derive_all(REPORTER_LABEL)
    for label, model, key, column in ENCRYPTED:
        done = 0
        for rows in _batches(session, model, key, column):
            for row in rows:
                value = getattr(row, column)
                if value:  # a sent mail's envelope is already wiped (b"")
                    setattr(row, column, cipher.rotate(value))
                    done += 1
                if value and model is ReporterIdentity:  # "same reporter" keys under the new key too
                    identity = cipher.decrypt(value)
                    rekey_reporter(session, subkeys, row.report_id, identity.phone, identity.email)
            session.commit()
        counts[label] = done
    record(session, "identity.key_rotated", actor="cli", **counts)
    session.commit()
    return counts


@dataclass(frozen=True)
class KeyStatus:
    """What still depends on a previous key. `blocking`: what would break if the previous keys were removed
    now; `sent_mail` only decides where replies to mails sent before the rotation go."""
    receipts: int            # receipt hashes under a previous key (re-keyed at their next use)
    receipts_lost: int       # under no listed key any more: those codes no longer open their report
    identities: int
    totp_secrets: int
    queued_mail: int
    held_mail: int           # mail held for a clerk (unmatched replies, quarantine), encrypted
    sent_mail: int           # mails out there whose Message-ID only a previous key verifies
    previous_keys: int

    @property
    def blocking(self) -> int:
        return self.receipts + self.identities + self.totp_secrets + self.queued_mail + self.held_mail


def receipts_under_previous_keys(session: Session, hasher: ReceiptHasher) -> tuple[int, int]:
    """(receipts under a previous listed key, receipts under no listed key). A NULL key id means "stored
    before key ids were recorded", i.e. under the oldest key listed (the key every receipt used then)."""
    current, previous = hasher.key_id, hasher.previous_key_ids
    stored_id = func.coalesce(Report.receipt_key_id, hasher.unversioned_key_id)
    old = session.scalar(select(func.count()).select_from(Report).where(stored_id.in_(previous))) if previous else 0
    lost = session.scalar(select(func.count()).select_from(Report).where(stored_id.not_in([current, *previous])))
    return old or 0, lost or 0


def key_status(session: Session, cipher: IdentityCipher, hasher: ReceiptHasher) -> KeyStatus:
    counts = {}
    for label, model, key, column in ENCRYPTED:
        counts[label] = sum(1 for rows in _batches(session, model, key, column) for row in rows
                            if getattr(row, column) and not cipher.under_current_key(getattr(row, column)))
    keys = message_id_keys(cipher)
    sent = 0
    if len(keys) > 1:
        for message_id in session.scalars(select(OutboxMessage.message_id).where(
                OutboxMessage.message_id.like("<xlt.%")).execution_options(yield_per=BATCH)):
            _report, index = signed_by(message_id, *keys)
            sent += bool(index)  # signed, and not by the current key
    receipts, lost = receipts_under_previous_keys(session, hasher)
    return KeyStatus(receipts=receipts, receipts_lost=lost, sent_mail=sent, previous_keys=len(keys) - 1, **counts)


def describe(status: KeyStatus, own_receipt_key: bool) -> list[str]:
    lines = [f"previous keys listed in IDENTITY_KEY_PREVIOUS: {status.previous_keys}",
             "still depending on a previous key:",
             f"  receipt hashes: {status.receipts} (each is re-keyed when its receipt is next used)"
             + (" — receipts use RECEIPT_KEY, which an identity rotation does not change" if own_receipt_key else ""),
             f"  reporter identities: {status.identities}",
             f"  staff TOTP secrets: {status.totp_secrets}",
             f"  queued mail: {status.queued_mail}",
             f"  mail held for a clerk: {status.held_mail}",
             f"  mails sent with a Message-ID signed by a previous key: {status.sent_mail}"]
    if status.receipts_lost:
        lines.append(f"receipts under no listed key: {status.receipts_lost} (those codes no longer open their "
                     "report; a clerk can issue a new receipt)")
    if not status.previous_keys:
        lines.append("no previous key is listed: nothing to retire")
    elif status.blocking:
        lines.append(f"keep the previous key: removing it now would break {status.blocking} of the above "
                     "(run `identity rotate` for identities, TOTP secrets and queued mail; receipts move as they "
                     "are used)")
    else:
        lines.append("nothing that needs a previous key is left: you may remove it from IDENTITY_KEY_PREVIOUS")
    if status.previous_keys and status.sent_mail:
        lines.append(f"once removed, replies to the {status.sent_mail} mail(s) sent before the rotation no longer "
                     "match their report and fall to the unmatched mail, where a clerk sees them (safe: nothing "
                     "reaches a reporter's thread unmatched)")
    return lines


def init_app(app: Flask) -> None:
    @app.cli.group("identity")
    def identity_group():
        """The identity key (IDENTITY_KEY) and its rotation."""

    @identity_group.command("rotate")
    @click.option("--status", "show_status", is_flag=True,
                  help="Count what still depends on the keys in IDENTITY_KEY_PREVIOUS; change nothing.")
    def rotate_command(show_status: bool):
        """Re-encrypt everything under IDENTITY_KEY (set the old key in IDENTITY_KEY_PREVIOUS first)."""
        ctx = current_app.extensions["intake"]
        if show_status:
            with new_session() as session:
                status = key_status(session, ctx.cipher, ctx.hasher)
            for line in describe(status, bool(current_app.config["RECEIPT_KEY"])):
                click.echo(line)
            return
        if not current_app.config["IDENTITY_KEY_PREVIOUS"]:
            raise click.ClickException("set the new key in IDENTITY_KEY and the old one in IDENTITY_KEY_PREVIOUS "
                                       "first; nothing to rotate from")
        with new_session() as session:
            counts = rotate_all(session, ctx.cipher)
            status = key_status(session, ctx.cipher, ctx.hasher)
        click.echo("re-encrypted under the new key: " + ", ".join(f"{n} {label}" for label, n in counts.items()))
        click.echo("receipts and mail signatures move to the new key as they are next used; keep the old key in "
                   "IDENTITY_KEY_PREVIOUS until `identity rotate --status` says nothing needs it:")
        for line in describe(status, bool(current_app.config["RECEIPT_KEY"])):
            click.echo(line)
