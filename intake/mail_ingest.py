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
from intake.mail_models import MailMessage, MailReview
from intake.mail_replies import ReplyVerdict, judge_reply
from intake.mailparse import ParsedMail, UnparseableMail, parse_mail
from intake.models import Message, Report
from intake.outbox import OutgoingMail, enqueue, signed_message_id
from intake.receipts import redact_receipts
from intake.submit import IncomingFile, IntakeContext, Receipt, attachment_rows, discard_stored, submit_report
from intake.text import clean_line
from intake.validate import ReportInput

log = logging.getLogger(__name__)
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


def store_mail_files(ctx: IntakeContext, mail: ParsedMail) -> tuple[list, list[str]]:
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


def save_original(ctx: IntakeContext, raw: bytes):
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
    eml = save_original(ctx, raw)  # the original first, before anything can go wrong in parsing
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
    first = session.scalar(select(MailMessage).where(
        MailMessage.message_key == mail.message_key,
        MailMessage.report_id.is_not(None) | (MailMessage.status == "unmatched")).order_by(MailMessage.id))
    if first is not None:  # the same message sent to several published addresses: one report (or one held mail)
        outcome = Outcome("duplicate", first.report_id, f"same message as {first.mailbox} uid {first.uid}")
        record_outcome(session, box, uidvalidity, uid, mail.message_key, outcome, len(raw), eml[1].stored_name)
        session.commit()
        return outcome
    verdict = judge_reply(session, ctx.cipher, settings.msgid_key, mail, settings.msgid_previous_keys)
    if verdict.report is None and verdict.looks_like_reply:
        return _hold_for_clerk(session, ctx, verdict, mail, eml, box, uidvalidity, uid, len(raw))
    kept, notes = store_mail_files(ctx, mail)
    if verdict.report is not None:
        return _add_reply(session, ctx, verdict.report, mail, kept, notes, eml, box, uidvalidity, uid, len(raw))
    return _new_report(session, ctx, settings, mail, kept, notes, eml, box, uidvalidity, uid, raw, acknowledge)


def mail_summary(mail: ParsedMail, max_text: int) -> dict:
    """What a clerk reads of a held mail (stored encrypted): receipts quoted from our mail are hidden."""
    return {"from_addr": mail.from_addr[:254], "from_name": clean_line(mail.from_name)[:100],
            "subject": clean_line(mail.subject)[:300], "text": redact_receipts(mail.text)[:max_text],
            "files": [clean_line(a.filename)[:120] for a in mail.attachments][:50], "html_only": mail.html_only}


def _hold_for_clerk(session, ctx, verdict: ReplyVerdict, mail, eml, box, uidvalidity, uid, size) -> Outcome:
    """A mail that looks like a reply but may not speak for the reporter: kept for a clerk, answered by
    nothing (as a genuine reply is answered by nothing), its reason naming only what the mail points to."""
    outcome = Outcome("unmatched", reason=f"looks like a reply ({', '.join(verdict.signals)}) to "
                                          f"{', '.join(verdict.points_to) or 'mail of ours'}; held for a clerk")
    row = record_outcome(session, box, uidvalidity, uid, mail.message_key, outcome, size, eml[1].stored_name)
    session.flush()
    session.add(MailReview(mail_message_id=row.id, points_to=", ".join(verdict.points_to)[:300],
                           envelope=ctx.cipher.encrypt_json(mail_summary(mail, ctx.limits.max_text))))
    session.commit()
    return outcome


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
    outcome = Outcome("report")

    def with_report(report: Report) -> None:
        outcome.report_id = report.id
        record_outcome(session, box, uidvalidity, uid, mail.message_key, outcome, len(raw), eml[1].stored_name)

    submit_mail(session, ctx, settings, mail, box, kept, notes, eml, acknowledge, with_report)
    return outcome


def submit_mail(session: Session, ctx: IntakeContext, settings: MailSettings, mail: ParsedMail, box: str,
                kept: list, notes: list[str], eml, acknowledge: bool,
                with_report: Callable[[Report], None]) -> Receipt:
    """One mail as an email-channel report through the one submit path: its files and the original kept,
    the sender's address in the encrypted identity, an acknowledgement queued to it. `with_report` adds
    the caller's rows to the same transaction. Files are removed again if nothing is committed."""
    sender_ok = True
    try:
        validate_email(mail.from_addr, check_deliverability=False)  # never DNS: the sender's mail arrived
    except EmailNotValidError:
        sender_ok = False
    text = "\n\n".join(p for p in [mail.text, *notes] if p) or "（邮件无正文）"
    data = ReportInput(text=text, title=clean_line(mail.subject)[:200], channel="email", received_by=box,
                       received_via="email", anonymous=True, reporter_name=clean_line(mail.from_name)[:100],
                       reporter_email=mail.from_addr[:254] if sender_ok else "")

    def before_commit(report: Report, receipt: str) -> None:
        for row in attachment_rows(kept + [eml]):
            report.attachments.append(row)
        with_report(report)
        if acknowledge and sender_ok and settings.render_ack is not None:
            ack = settings.render_ack(report, receipt)
            enqueue(session, ctx.cipher, OutgoingMail(mail.from_addr, ack.subject, ack.text, ack.html,
                                                      in_reply_to=mail.message_key if "@" in mail.message_key else ""),
                    kind="acknowledgement", report_id=report.id,
                    message_id=signed_message_id(settings.msgid_key, report.id, settings.mail_domain))

    try:
        return submit_report(session, ctx, data, [], before_commit=before_commit)
    except Exception:
        discard_stored(ctx, kept + [eml])
        raise


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

