"""The outbox: mail is queued in the same transaction as the change that caused it, and a job
drains it over SMTP with retries and backoff. Recipient and body are stored encrypted and wiped
once sent. Every mail carries `Auto-Submitted: auto-generated` so no robot answers it."""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.db import utcnow
from intake.identity import IdentityCipher
from intake.mail_models import OutboxMessage
from intake.mailboxes import SmtpConfig

log = logging.getLogger(__name__)
_MSGID = re.compile(r"<xlt\.(\d+)\.([0-9a-f]{8})\.([0-9a-f]{16})@[^<>\s]+>")
_LINE_BREAKS = re.compile("[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")


@dataclass(frozen=True)
class OutgoingMail:
    to: str
    subject: str
    text: str
    html: str = ""
    in_reply_to: str = ""


@dataclass(frozen=True)
class DrainResult:
    sent: int = 0
    deferred: int = 0
    failed: int = 0


def message_id_keys(cipher: IdentityCipher) -> list[bytes]:
    """The keys of our signed Message-IDs: the current identity key's first (it signs), then the previous ones."""
    return cipher.derive_all(b"xlt-mail-message-id")


def signed_message_id(key: bytes, report_id: int, domain: str) -> str:
    """A Message-ID that proves, when it comes back in In-Reply-To, which report it was about."""
    nonce = secrets.token_hex(4)
    sig = hmac.new(key, f"{report_id}.{nonce}".encode(), hashlib.sha256).hexdigest()[:16]
    return f"<xlt.{report_id}.{nonce}.{sig}@{domain}>"


def report_of_message_id(key: bytes, message_id: str, *previous: bytes) -> int | None:
    """The report a Message-ID of ours was signed for, under the current key or a previous one (after a
    rotation, replies to mails sent before it still match while the old key is listed)."""
    return signed_by(message_id, key, *previous)[0]


def signed_by(message_id: str, *keys: bytes) -> tuple[int | None, int | None]:
    """(report id, index of the key in `keys` that signed it), or (None, None) if none did."""
    match = _MSGID.fullmatch((message_id or "").strip())
    if not match:
        return None, None
    report_id, nonce, sig = match.groups()
    for index, key in enumerate(keys):
        good = hmac.new(key, f"{report_id}.{nonce}".encode(), hashlib.sha256).hexdigest()[:16]
        if hmac.compare_digest(good, sig):
            return int(report_id), index
    return None, None


def enqueue(session: Session, cipher: IdentityCipher, mail: OutgoingMail, *, kind: str, message_id: str,
            report_id: int | None = None) -> OutboxMessage:
    """Queue a mail in the caller's transaction (the caller commits)."""
    envelope = cipher.encrypt_json({"to": mail.to, "subject": mail.subject, "text": mail.text,
                                    "html": mail.html, "in_reply_to": mail.in_reply_to})
    row = OutboxMessage(kind=kind, report_id=report_id, message_id=message_id, envelope=envelope,
                        status="pending", next_attempt_at=utcnow())
    session.add(row)
    return row


def header_value(value: object) -> str:
    """A header value as we write it: CR, LF and the other line breaks removed, wherever the value came
    from (a reporter's name, a subject, an address, a Message-ID), so no value can add a header."""
    return " ".join(_LINE_BREAKS.sub(" ", "" if value is None else str(value)).split())


def recipient(value: object) -> str:
    """The one address a row is sent to, or ValueError: an address with a line break or a second address
    in it is refused, not repaired (we never write to an address nobody checked)."""
    address = header_value(value)
    if not address or address != str(value) or parseaddr(address)[1] != address or address.count("@") != 1 \
            or any(c in address for c in " ,;<>\"()"):
        raise ValueError("the recipient is not one plain address")
    return address


def _compose(row: OutboxMessage, data: dict, mail_from: str, sender_name: str) -> EmailMessage:
    msg = EmailMessage()
    name, sender = header_value(sender_name), header_value(mail_from)
    msg["From"] = formataddr((name, sender)) if name else sender
    msg["To"] = recipient(data["to"])
    msg["Subject"] = header_value(data["subject"])
    msg["Message-ID"] = header_value(row.message_id)
    msg["Date"] = format_datetime(datetime.now().astimezone())
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    if data.get("in_reply_to"):
        msg["In-Reply-To"] = header_value(data["in_reply_to"])
        msg["References"] = header_value(data["in_reply_to"])
    msg.set_content(data["text"])
    if data.get("html"):
        msg.add_alternative(data["html"], subtype="html")
    return msg


def _connect(smtp: SmtpConfig, timeout: float) -> smtplib.SMTP:
    if smtp.mode == "ssl":
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=timeout, context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
        if smtp.mode == "starttls":
            client.starttls(context=ssl.create_default_context())
    if smtp.user:
        client.login(smtp.user, smtp.password)
    return client


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8, 16, 30, 30 … minutes."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 30))


def drain(session: Session, cipher: IdentityCipher, smtp: SmtpConfig, mail_from: str, *, sender_name: str = "",
          now: datetime | None = None, batch: int = 100, max_attempts: int = 20,
          lease: timedelta = timedelta(minutes=10), timeout: float = 20.0) -> DrainResult:
    """Send what is due. A row is claimed (status sending) in its own commit before it is sent, so a
    second drainer skips it; a claim older than `lease` (a crashed drainer) is taken over."""
    now = now or utcnow()
    session.execute(update(OutboxMessage).where(OutboxMessage.status == "sending",
                                                 OutboxMessage.claimed_at < now - lease)
                    .values(status="pending"))
    due = (select(OutboxMessage).where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
           .order_by(OutboxMessage.id).limit(batch).with_for_update(skip_locked=True))
    rows = list(session.scalars(due))
    for row in rows:
        row.status, row.claimed_at = "sending", now
    session.commit()
    if not rows:
        return DrainResult()
    failed = 0
    try:
        client = _connect(smtp, timeout)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("SMTP unavailable (%s); %d mail(s) deferred", exc, len(rows))
        for row in rows:
            failed += _defer(row, f"connect: {exc}", now, max_attempts)
        session.commit()
        return DrainResult(deferred=len(rows) - failed, failed=failed)
    outcomes: list[str] = []
    try:
        for row in rows:
            if client is None:  # the connection was lost and could not be opened again: the rest wait
                lost = _defer(row, "connect: the connection was lost and could not be reopened", now, max_attempts)
                outcome = "failed" if lost else "deferred"
            else:
                outcome = _send_one(client, cipher, row, mail_from, sender_name, now, max_attempts)
            outcomes.append(outcome)
            session.commit()
            if outcome != "sent" and client is not None:
                client = _usable(client, smtp, timeout)
    finally:
        if client is not None:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()
    return DrainResult(sent=outcomes.count("sent"), deferred=outcomes.count("deferred"),
                       failed=outcomes.count("failed"))


def _send_one(client: smtplib.SMTP, cipher: IdentityCipher, row: OutboxMessage, mail_from: str, sender_name: str,
              now: datetime, max_attempts: int) -> str:
    """Send one row; whatever goes wrong (a refused recipient, the server, or data that cannot become a
    mail at all) is this row's failed attempt, never the end of the pass. Returns sent, deferred or failed."""
    data = {}
    try:
        data = cipher.decrypt_json(row.envelope)
        to = recipient(data["to"])
        client.send_message(_compose(row, data, mail_from, sender_name), from_addr=mail_from, to_addrs=[to])
    except smtplib.SMTPRecipientsRefused as exc:
        codes = ", ".join(str(code) for code, _msg in exc.recipients.values())
        row.status, row.last_error, row.attempts = "failed", f"recipient refused ({codes})", row.attempts + 1
        return "failed"
    except (OSError, smtplib.SMTPException) as exc:
        return "failed" if _defer(row, _scrub(str(exc), data), now, max_attempts) else "deferred"
    except Exception as exc:  # a row whose data cannot be composed or sent: its own failure only
        log.warning("outbox row %s could not be sent: %s", row.id, type(exc).__name__)
        return "failed" if _defer(row, _scrub(f"{type(exc).__name__}: {exc}", data), now, max_attempts) else "deferred"
    row.status, row.sent_at, row.attempts = "sent", utcnow(), row.attempts + 1
    row.envelope, row.last_error = b"", None  # nothing of the content stays once it left
    return "sent"


def _usable(client: smtplib.SMTP, smtp: SmtpConfig, timeout: float) -> smtplib.SMTP | None:
    """After a failed row: the same connection if it still answers (its transaction reset), else a new
    one, else None."""
    try:
        client.rset()
        return client
    except (OSError, smtplib.SMTPException):
        client.close()
    try:
        return _connect(smtp, timeout)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("SMTP connection lost and not reopened (%s)", exc)
        return None


def _scrub(error: str, data: object) -> str:
    """Errors are shown to admins: never with the recipient's address (it may be a reporter's)."""
    address = data.get("to") if isinstance(data, dict) else None
    for form in {str(address), header_value(address)} if address else ():
        if form:
            error = error.replace(form, "<recipient>")
    return error


def _defer(row: OutboxMessage, error: str, now: datetime, max_attempts: int) -> int:
    row.attempts += 1
    row.last_error = error[:1000]
    if row.attempts >= max_attempts:
        row.status = "failed"
        return 1
    row.status, row.next_attempt_at = "pending", now + backoff(row.attempts)
    return 0


