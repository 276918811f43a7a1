"""Pull the published mailboxes in: each new message becomes a report on the one submit path,
a reply on an existing report, or a record of why it was skipped or quarantined — exactly once.

Per message: the raw bytes are saved first; then one transaction stores the outcome together with
the MailMessage row keyed by (mailbox, UIDVALIDITY, UID); only then is the message flagged on the
server. A crash between commit and flag is harmless: the next run finds the row and only flags."""
from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Callable

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from intake.errors import IntakeError
from intake.filetypes import EML
from intake.followup import quotes_receipt
from intake.mail_models import MailMessage
from intake.mailparse import ParsedMail, UnparseableMail, parse_mail
from intake.models import Message, Report
from intake.outbox import OutgoingMail, enqueue, report_of_message_id, signed_message_id
from intake.submit import IncomingFile, IntakeContext, attachment_rows, discard_stored, submit_report
from intake.text import clean_line
from intake.validate import ReportInput

log = logging.getLogger(__name__)
_REFERENCE = re.compile(r"\b[A-Z]{2,8}-\d{4}-\d{6}\b")
_QUOTE_START = re.compile(r"(?m)^(>|-{3,}\s*(原始邮件|Original Message)|On .{3,80} wrote:$|在 .{3,80}写道[:：]?$)")


@dataclass
class MailSettings:
    """What ingest needs besides the intake context (built from app config by the CLI)."""
    own_addresses: set[str]
    msgid_key: bytes
    mail_domain: str
    render_ack: Callable[[Report, str], OutgoingMail] | None  # (report, receipt) -> mail; None: no acks
    max_message_bytes: int = 60 * 1024 * 1024
    msgid_previous_keys: tuple[bytes, ...] = ()  # after a rotation: replies to older mails still match


@dataclass
class Outcome:
    status: str
    report_id: int | None = None
    reason: str = ""


def _date_of(parsed_raw: bytes) -> datetime | None:
    match = re.search(rb"(?im)^Date:[ \t]*(.+)$", parsed_raw[:20000])
    if not match:
        return None
    try:
        value = parsedate_to_datetime(match.group(1).decode("ascii", errors="ignore").strip())
    except (TypeError, ValueError, IndexError):
        return None
    return value.astimezone().replace(tzinfo=None) if value.tzinfo else value


def strip_quoted(text: str) -> str:
    """The new part of a reply: what stands before the quoted original."""
    match = _QUOTE_START.search(text)
    return (text[:match.start()] if match else text).strip() or text.strip()


def _find_reply_target(session: Session, ctx: IntakeContext, settings: MailSettings, mail: ParsedMail) -> Report | None:
    for message_id in mail.in_reply_to:
        report_id = report_of_message_id(settings.msgid_key, message_id, *settings.msgid_previous_keys)
        if report_id is not None:
            return session.get(Report, report_id)
    for reference in _REFERENCE.findall(mail.subject):
        report = session.scalar(select(Report).where(Report.reference == reference))
        if report is not None and report.identity is not None and mail.from_addr:
            if ctx.cipher.decrypt(report.identity.ciphertext).email.lower() == mail.from_addr:
                return report  # only the report's own sender may add to it by subject
    return None


def _store_attachments(ctx: IntakeContext, mail: ParsedMail) -> tuple[list, list[str]]:
    """Save what passes the intake rules; describe what does not (noted on the report, not dropped)."""
    kept, notes = [], []
    for att in mail.attachments:
        incoming = IncomingFile(att.filename, io.BytesIO(att.content))
        try:
            kept.append((incoming, ctx.store.save(incoming.stream, ctx.limits.max_file_bytes)))
        except IntakeError as exc:
            notes.append(f"附件“{clean_line(att.filename)[:120]}”（{len(att.content)} 字节）未保存：{exc.code}。"
                         f"原始邮件已作为证据保留。")
    return kept, notes


def _eml_row(ctx: IntakeContext, raw: bytes):
    stored = ctx.store.save(io.BytesIO(raw), max_bytes=len(raw) + 1, kind=EML)
    return IncomingFile("original.eml", io.BytesIO(b"")), stored


def record_outcome(session: Session, box: str, uidvalidity: int, uid: int, key: str, outcome: Outcome, size: int,
            raw_name: str | None = None) -> MailMessage:
    row = MailMessage(mailbox=box, uidvalidity=uidvalidity, uid=uid, message_key=key[:300], status=outcome.status,
                      reason=outcome.reason[:300], report_id=outcome.report_id, size=size, raw_name=raw_name)
    session.add(row)
    return row


def ingest_message(session: Session, ctx: IntakeContext, settings: MailSettings, box: str, uidvalidity: int,
                   uid: int, raw: bytes, acknowledge: bool) -> Outcome:
    """Turn one fetched message into its outcome, committed with its MailMessage row."""
    done = session.scalar(select(MailMessage).where(MailMessage.mailbox == box, MailMessage.uidvalidity == uidvalidity,
                                                    MailMessage.uid == uid))
    if done is not None:
        return Outcome(done.status, done.report_id, "already taken")
    eml = _eml_row(ctx, raw)  # the original first, before anything can go wrong in parsing
    try:
        mail = parse_mail(raw, settings.own_addresses)
    except UnparseableMail as exc:
        outcome = Outcome("quarantined", reason=f"cannot be parsed: {exc}")
        record_outcome(session, box, uidvalidity, uid, "sha256:" + eml[1].sha256, outcome, len(raw), eml[1].stored_name)
        session.commit()
        return outcome
    if mail.auto_reason:
        outcome = Outcome("skipped", reason=mail.auto_reason)
        record_outcome(session, box, uidvalidity, uid, mail.message_key, outcome, len(raw), eml[1].stored_name)
        session.commit()
        return outcome
    first = session.scalar(select(MailMessage).where(MailMessage.message_key == mail.message_key,
                                                     MailMessage.report_id.is_not(None)).order_by(MailMessage.id))
    if first is not None:  # the same message sent to several published addresses: one report
        outcome = Outcome("duplicate", first.report_id, f"same message as {first.mailbox} uid {first.uid}")
        record_outcome(session, box, uidvalidity, uid, mail.message_key, outcome, len(raw), eml[1].stored_name)
        session.commit()
        return outcome
    kept, notes = _store_attachments(ctx, mail)
    target = _find_reply_target(session, ctx, settings, mail)
    if target is not None:
        return _add_reply(session, ctx, target, mail, kept, notes, eml, box, uidvalidity, uid, len(raw))
    return _new_report(session, ctx, settings, mail, kept, notes, eml, box, uidvalidity, uid, raw, acknowledge)


def _add_reply(session, ctx, report, mail, kept, notes, eml, box, uidvalidity, uid, size) -> Outcome:
    body = strip_quoted(mail.text)
    if quotes_receipt(ctx, report, body):
        body = "[邮件中包含查询码，已隐去原文；原始邮件作为证据保留]"
    message = Message(report_id=report.id, author="reporter", body="\n\n".join([body, *notes]).strip() or "-",
                      created_at=utcnow())
    session.add(message)
    session.flush()
    for row in attachment_rows(kept + [eml], message_id=message.id):
        row.report_id = report.id
        session.add(row)
    outcome = Outcome("reply", report.id)
    record_outcome(session, box, uidvalidity, uid, mail.message_key, outcome, size, eml[1].stored_name)
    session.commit()
    return outcome


def _new_report(session, ctx, settings, mail, kept, notes, eml, box, uidvalidity, uid, raw, acknowledge) -> Outcome:
    sender_ok = True
    try:
        validate_email(mail.from_addr, check_deliverability=False)
    except EmailNotValidError:
        sender_ok = False
    text = "\n\n".join(p for p in [mail.text, *notes] if p) or "（邮件无正文）"
    data = ReportInput(text=text, title=clean_line(mail.subject)[:200], channel="email", received_by=box,
                       received_via="email", anonymous=True, reporter_name=clean_line(mail.from_name)[:100],
                       reporter_email=mail.from_addr[:254] if sender_ok else "")
    outcome = Outcome("report")

    def with_report(report: Report, receipt: str) -> None:
        for row in attachment_rows(kept + [eml]):
            report.attachments.append(row)
        outcome.report_id = report.id
        record_outcome(session, box, uidvalidity, uid, mail.message_key, outcome, len(raw), eml[1].stored_name)
        if acknowledge and sender_ok and settings.render_ack is not None:
            ack = settings.render_ack(report, receipt)
            enqueue(session, ctx.cipher, OutgoingMail(mail.from_addr, ack.subject, ack.text, ack.html,
                                                      in_reply_to=mail.message_key if "@" in mail.message_key else ""),
                    kind="acknowledgement", report_id=report.id,
                    message_id=signed_message_id(settings.msgid_key, report.id, settings.mail_domain))

    try:
        submit_report(session, ctx, data, [], before_commit=with_report)
    except Exception:
        discard_stored(ctx, kept + [eml])
        raise
    return outcome


@dataclass
class FetchStats:
    mailbox: str
    counts: dict = field(default_factory=dict)
    error: str = ""

    def add(self, status: str) -> None:
        self.counts[status] = self.counts.get(status, 0) + 1


def is_backlog(raw: bytes, connected_at: datetime) -> bool:
    """Mail dated before the mailbox was connected is imported but acknowledged to nobody."""
    sent = _date_of(raw)
    return sent is not None and sent < connected_at - timedelta(minutes=5)

