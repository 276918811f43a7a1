"""Anonymous follow-up with the receipt: find the report, show its public status, let the reporter
reply and add files, and replace a receipt that a clerk issued (no clerk keeps a working code)."""
from __future__ import annotations

import hmac
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import record
from core.db import utcnow
from core.localtime import local_date
from core.units import channels_of_kind
from intake import quotas
from intake.errors import (IntakeError, ReceiptInMessage, ReceiptNotFound, ReceiptReplaced, TextTooLong, TextTooShort,
                           TooManyFiles, ValidationFailed)
from intake.feedback import check_objection, file_objection
from intake.models import Message, ReplacedReceipt, Report
from intake.receipts import new_receipt, parse_receipt, receipt_candidates
from intake.submit import IncomingFile, IntakeContext, attachment_rows, discard_stored, store_files
from intake.text import clean_text


@dataclass(frozen=True)
class PublicMessage:
    author: str
    body: str
    created_at: datetime
    files: list[str]


@dataclass(frozen=True)
class PublicView:
    """All a receipt holder may see: nothing of the identity, nothing internal."""
    reference: str
    status: str
    received_at: datetime
    history: list[tuple[str, datetime]]
    messages: list[PublicMessage]
    must_reset_receipt: bool


def find_by_receipt(session: Session, ctx: IntakeContext, receipt: object) -> Report:
    digits = parse_receipt(receipt)
    if digits is None:  # the page says a code has 16 digits and how many it got
        entered = unicodedata.normalize("NFKC", receipt) if isinstance(receipt, str) else ""
        raise ReceiptNotFound(malformed=True, entered=sum(c.isdigit() for c in entered[:64]))
    report = session.scalar(select(Report).where(Report.receipt_hash == ctx.hasher.hash(digits)))
    if report is None and ctx.hasher.previous_key_ids:
        report = _find_under_previous_key(session, ctx, digits)
    if report is None:
        report = _find_legacy(session, ctx, digits)
    if report is None:
        raise replaced_or_not_found(session, ctx, digits)
    return report


def _store_under_current_key(session: Session, ctx: IntakeContext, report: Report, digits: str) -> None:
    report.receipt_hash = ctx.hasher.hash(digits)
    report.receipt_key_id = ctx.hasher.key_id
    report.receipt_legacy = False
    session.commit()


def _find_under_previous_key(session: Session, ctx: IntakeContext, digits: str) -> Report | None:
    """After an identity-key rotation: a receipt still stored under a previous key is found by that key's
    hash and re-stored under the current one, so the old key stops mattering as receipts are used."""
    report = session.scalar(select(Report).where(Report.receipt_hash.in_(ctx.hasher.previous_hashes(digits))))
    if report is not None:
        _store_under_current_key(session, ctx, report, digits)
    return report


def replaced_or_not_found(session: Session, ctx: IntakeContext, digits: str) -> IntakeError:
    """A code that was replaced says when, and whom to call (the published phone lines of the unit that
    received the report, or every unit's when it has none); any other code is simply not found."""
    replaced = session.scalar(select(ReplacedReceipt).where(ReplacedReceipt.receipt_hash == ctx.hasher.hash(digits)))
    if replaced is None:
        return ReceiptNotFound()
    report = session.get(Report, replaced.report_id)
    lines = [c.value for c in channels_of_kind(session, "phone") if c.unit_code == report.received_by]
    return ReceiptReplaced(replaced_on=local_date(replaced.replaced_at).isoformat(),
                           phones=lines or [c.value for c in channels_of_kind(session, "phone")])


def _find_legacy(session: Session, ctx: IntakeContext, digits: str) -> Report | None:
    """A receipt issued before migration 0008 (scrypt): found by its old hash and re-stored as HMAC,
    so each old receipt pays the slow hash once. Once none is left (new rows are never legacy), a
    wrong code costs one indexed look-up here, not a slow hash."""
    if session.scalar(select(Report.id).where(Report.receipt_legacy.is_(True)).limit(1)) is None:
        return None
    report = session.scalar(select(Report).where(Report.receipt_legacy.is_(True),
                                                 Report.receipt_hash.in_(ctx.hasher.legacy_hashes(digits))))
    if report is not None:
        _store_under_current_key(session, ctx, report, digits)
    return report


def receipt_matches(ctx: IntakeContext, report: Report, digits: str) -> bool:
    """`digits` is this report's receipt, under whichever listed key it is stored."""
    if report.receipt_legacy:
        candidates = ctx.hasher.legacy_hashes(digits)
    else:
        candidates = [ctx.hasher.hash(digits), *ctx.hasher.previous_hashes(digits)]
    return any(hmac.compare_digest(expected, report.receipt_hash) for expected in candidates)


def public_view(report: Report) -> PublicView:
    messages = [PublicMessage(m.author, m.body, m.created_at, [a.display_name for a in m.attachments])
                for m in report.messages if m.visible_to_reporter]
    return PublicView(report.reference, report.status, report.received_at,
                      [(h.status, h.at) for h in report.status_history], messages,
                      report.receipt_must_reset)


def replace_receipt(session: Session, ctx: IntakeContext, report: Report) -> str:
    """Issue a fresh receipt (shown once). The old code keeps only its hash, to tell its holder that it was
    replaced; the replacement is on the case's record (audit trail, the handler's timeline)."""
    now = utcnow()
    session.add(ReplacedReceipt(receipt_hash=report.receipt_hash, report_id=report.id, replaced_at=now,
                                clerk_issued=report.receipt_must_reset))
    record(session, "receipt.replaced", report_id=report.id, clerk_issued=report.receipt_must_reset,
           channel=report.channel)
    receipt = new_receipt()
    report.receipt_hash = ctx.hasher.hash(receipt)
    report.receipt_key_id = ctx.hasher.key_id
    report.receipt_legacy = False
    report.receipt_must_reset = False
    report.replay_seal = None
    session.commit()
    return receipt


def quotes_receipt(ctx: IntakeContext, report: Report, text: str) -> bool:
    return any(receipt_matches(ctx, report, c) for c in receipt_candidates(text))


def add_reporter_message(session: Session, ctx: IntakeContext, report: Report, text: str,
                         files: list[IncomingFile] = ()) -> Message:
    files = list(files)
    body = clean_text(text or "")
    errors = {}
    if not body and not files:
        errors["text"] = TextTooShort(min=1, length=0, empty=True)
    elif len(body) > ctx.limits.max_text:
        errors["text"] = TextTooLong(max=ctx.limits.max_text, length=len(body))
    elif body and quotes_receipt(ctx, report, body):
        errors["text"] = ReceiptInMessage()
    if len(files) > ctx.limits.max_files:
        errors["files"] = TooManyFiles(max=ctx.limits.max_files)
    if errors:
        raise ValidationFailed(errors)
    now = utcnow()
    used = quotas.usage(session, report.id, now)
    quotas.check(ctx.quotas, used, messages=1, files=len(files))
    left, over = quotas.byte_budget(ctx.quotas, used)
    session.commit()  # nothing pending: ends the read, so the lock below is the new transaction's first act
    stored = store_files(ctx, files, budget=left, over_budget=lambda: over)
    try:
        quotas.lock_report(session, report.id)  # then count again: a reply sent at the same time went first
        quotas.check(ctx.quotas, quotas.usage(session, report.id, now), messages=1, files=len(stored),
                     size=sum(saved.size for _f, saved in stored))
        message = Message(report_id=report.id, author="reporter", body=body, created_at=now)
        session.add(message)
        session.flush()
        for row in attachment_rows(stored, message_id=message.id):
            row.report_id = report.id
            session.add(row)
        session.commit()
    except BaseException:
        session.rollback()
        discard_stored(ctx, stored)
        raise
    return message


def object_to_result(session: Session, ctx: IntakeContext, report: Report, text: str,
                     files: list[IncomingFile] = ()):
    """A 复查 request: checked first (once, within 30 days), then its reasons and files are kept as the
    reporter's message on the report, and the objection refers to it."""
    result, body = check_objection(session, report, text)
    message = add_reporter_message(session, ctx, report, body, files)
    return file_objection(session, report, result, body, message.id)
