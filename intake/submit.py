"""The one path by which a report enters the service, whatever channel it came by.

Order matters: files are written and fsynced, then one transaction stores the report, its
identity (encrypted), attachments and first status; only after the commit does the caller see a
receipt and do subscribers (routing) hear of it. A failure after the commit never undoes it.
"""
from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Callable

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import utcnow
from intake.errors import AlreadySubmitted, IntakeError, StorageUnavailable, ValidationFailed
from intake.identity import Identity, IdentityCipher
from intake.models import Attachment, ReferenceCounter, Report, ReporterIdentity, StatusChange
from intake.signals import report_received
from intake.receipts import ReceiptHasher, new_receipt
from intake.storage import AttachmentStore, StoredFile
from intake.text import display_filename
from intake.validate import Limits, ReportInput, validate_report

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IncomingFile:
    filename: str
    stream: BinaryIO


@dataclass(frozen=True)
class Receipt:
    report_id: int
    reference: str
    receipt: str
    received_at: datetime
    replayed: bool = False


@dataclass
class IntakeContext:
    """What the submit path needs from configuration, built once by the app factory."""
    cipher: IdentityCipher
    hasher: ReceiptHasher
    store: AttachmentStore
    limits: Limits
    reference_prefix: str = "XLT"
    replay_window_seconds: int = 600


def next_reference(session: Session, prefix: str, year: int) -> str:
    """Atomically take the next number of the year (row lock on PostgreSQL, one writer on SQLite)."""
    stmt = (update(ReferenceCounter).where(ReferenceCounter.year == year)
            .values(last=ReferenceCounter.last + 1).returning(ReferenceCounter.last))
    number = session.execute(stmt).scalar()
    if number is None:
        try:
            with session.begin_nested():
                session.execute(insert(ReferenceCounter).values(year=year, last=1))
            number = 1
        except IntegrityError:  # another transaction created the year's row first
            number = session.execute(stmt).scalar_one()
    return f"{prefix}-{year}-{number:06d}"


def _submission_key(token: str, text: str) -> bytes:
    """A replay is the same form token with the same text; a new text under an old token (the
    browser's back button restored the form) is a new report, not a replay."""
    return hashlib.sha256(b"xlt-submission:" + token.encode("utf-8") + b"\0" + text.encode("utf-8")).digest()


def _seal_cipher(token: str) -> Fernet:
    """The receipt of a submission is kept briefly, encrypted under a key only the client holds."""
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"xlt-seal:" + token.encode()).digest()))


def _replay(session: Session, ctx: IntakeContext, token: str, text: str) -> Receipt | None:
    report = session.scalar(select(Report).where(Report.submission_key == _submission_key(token, text)))
    if report is None:
        return None
    try:
        digits = _seal_cipher(token).decrypt(report.replay_seal or b"", ttl=ctx.replay_window_seconds).decode()
    except InvalidToken:
        raise AlreadySubmitted(reference=report.reference)
    return Receipt(report.id, report.reference, digits, report.received_at, replayed=True)


def store_files(ctx: IntakeContext, files: list[IncomingFile]) -> list[tuple[IncomingFile, StoredFile]]:
    """Save every file or none: on the first error, remove those already written and raise."""
    stored: list[tuple[IncomingFile, StoredFile]] = []
    try:
        for index, incoming in enumerate(files):
            try:
                stored.append((incoming, ctx.store.save(incoming.stream, ctx.limits.max_file_bytes)))
            except StorageUnavailable:
                raise
            except IntakeError as exc:
                exc.params.setdefault("filename", display_filename(incoming.filename))
                exc.params.setdefault("index", index)
                raise ValidationFailed({"files": exc}) from exc
    except BaseException:
        discard_stored(ctx, stored)
        raise
    return stored


def discard_stored(ctx: IntakeContext, stored: list[tuple[IncomingFile, StoredFile]]) -> None:
    """Remove files written for something that was not committed after all."""
    for _incoming, saved in stored:
        ctx.store.delete(saved.stored_name)


def attachment_rows(stored: list[tuple[IncomingFile, StoredFile]], message_id: int | None = None) -> list[Attachment]:
    return [Attachment(stored_name=s.stored_name, display_name=display_filename(f.filename),
                       extension=s.kind.extension, content_type=s.kind.mime, size=s.size,
                       sha256=s.sha256, message_id=message_id) for f, s in stored]


def submit_report(session: Session, ctx: IntakeContext, data: ReportInput, files: list[IncomingFile] = (),
                  *, submission_token: str | None = None, now: datetime | None = None,
                  before_commit: Callable[[Report, str], None] | None = None) -> Receipt:
    """Validate, store and commit one report; return its receipt. Replays return the first receipt."""
    files = list(files)
    clean = validate_report(data, len(files), ctx.limits)
    if submission_token:
        replayed = _replay(session, ctx, submission_token, clean.text)
        if replayed:
            return replayed
    stored = store_files(ctx, files)
    now = now or utcnow()
    received_at = clean.received_at or now
    receipt = new_receipt()
    try:
        report = Report(
            reference=next_reference(session, ctx.reference_prefix, received_at.year),
            channel=clean.channel, received_by=clean.received_by, received_via=clean.received_via,
            received_at=received_at, title=clean.title, text=clean.text, occurred=clean.occurred,
            accused_name=clean.accused_name, accused_institution=clean.accused_institution,
            accused_position=clean.accused_position, anonymous=clean.anonymous,
            own_conduct=clean.own_conduct, status="received", status_changed_at=now,
            receipt_hash=ctx.hasher.hash(receipt), receipt_must_reset=clean.receipt_must_reset,
            created_at=now)
        if submission_token:
            report.submission_key = _submission_key(submission_token, clean.text)
            report.replay_seal = _seal_cipher(submission_token).encrypt(receipt.encode())
        identity = Identity(clean.reporter_name, clean.reporter_phone, clean.reporter_email)
        if not identity.is_empty():
            report.identity = ReporterIdentity(ciphertext=ctx.cipher.encrypt(identity))
        report.attachments.extend(attachment_rows(stored))
        report.status_history.append(StatusChange(status="received", at=now))
        session.add(report)
        if before_commit is not None:  # rows of the caller's that must commit with the report
            session.flush()
            before_commit(report, receipt)
        session.commit()
    except IntegrityError:
        session.rollback()
        discard_stored(ctx, stored)
        if submission_token:  # a concurrent double submit won the race: answer as it did
            replayed = _replay(session, ctx, submission_token, clean.text)
            if replayed:
                return replayed
        raise
    except BaseException:
        session.rollback()
        discard_stored(ctx, stored)
        raise
    result = Receipt(report.id, report.reference, receipt, received_at)
    announce_received(report.id)
    return result


def announce_received(report_id: int) -> None:
    """Tell each subscriber (routing) after the commit; one's failure neither undoes the receipt
    nor keeps the others from hearing of it."""
    for receiver in report_received.receivers_for("intake"):
        try:
            receiver("intake", report_id=report_id)
        except Exception:
            log.exception("report-received subscriber %r failed for report %s", receiver, report_id)
