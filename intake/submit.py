"""The one path by which a report enters the service, whatever channel it came by.

Order matters: files are written and fsynced, then one transaction stores the report, its
identity (encrypted), attachments, first status and its place in the routing queue; only after the
commit does the caller see a receipt and do subscribers (routing, when it runs in the request) hear of
it. A failure after the commit never undoes it: the queue row stays until a case is opened.
"""
from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Callable

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Select, String, Text, bindparam, case, cast, func, insert, literal, select, text, update
from sqlalchemy.dialects.postgresql import REGCLASS
from sqlalchemy.exc import IntegrityError, ProgrammingError
from sqlalchemy.orm import Session

from core.db import utcnow
from intake.errors import AlreadySubmitted, AttachmentTooLarge, IntakeError, StorageUnavailable, ValidationFailed
from intake.identity import Identity, IdentityCipher
from intake.match_keys import REPORTER_LABEL, ReportMatchKey, reporter_rows
from intake.models import Attachment, PendingRouting, ReferenceCounter, Report, ReporterIdentity, StatusChange
from intake.quotas import Quotas
from intake.receipts import ReceiptHasher, new_receipt
from intake.signals import report_received
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
    quotas: Quotas = field(default_factory=Quotas)


_COUNTERS = ReferenceCounter.__table__
_TAKE_NUMBER = (update(_COUNTERS).where(_COUNTERS.c.year == bindparam("y"))
                .values(last=_COUNTERS.c.last + 1).returning(_COUNTERS.c.last))
_NEXTVAL = func.nextval(cast(bindparam("seq", type_=String), REGCLASS))
_known_sequences: set[tuple[object, int]] = set()  # (database URL, year) this process has seen


def year_sequence(year: int) -> str:
    """PostgreSQL numbers each year's reports from a sequence of its own."""
    return f"report_number_{int(year)}"


def ensure_year_sequence(session: Session, year: int) -> str:
    """Create the year's sequence the first time this process needs it (its own autocommitted
    statement, so the report's transaction holds no catalogue lock); a concurrent creator wins quietly."""
    name, engine = year_sequence(year), session.get_bind()
    if (engine.url, year) not in _known_sequences:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            try:
                conn.execute(text(f"CREATE SEQUENCE IF NOT EXISTS {name}"))
            except (IntegrityError, ProgrammingError):  # created by another process at the same moment
                pass
        _known_sequences.add((engine.url, year))
    return name


def next_reference(session: Session, prefix: str, year: int) -> str:
    """The next number of the year. PostgreSQL: the year's sequence, which never blocks (a number is
    skipped only when the transaction that took it fails). SQLite: a counter row, gapless, under
    SQLite's single writer lock."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        number = conn.execute(select(_NEXTVAL), {"seq": ensure_year_sequence(session, year)}).scalar_one()
    else:
        number = conn.execute(_TAKE_NUMBER, {"y": year}).scalar()
        if number is None:  # the year's first report
            _open_year(session, year)
            number = conn.execute(_TAKE_NUMBER, {"y": year}).scalar_one()
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


def store_files(ctx: IntakeContext, files: list[IncomingFile], budget: int | None = None,
                over_budget: Callable[[], IntakeError] | None = None) -> list[tuple[IncomingFile, StoredFile]]:
    """Save every file or none: on the first error, remove those already written and raise. With a
    `budget` (bytes, all files together) no file is copied past what is left of it: going over raises
    `over_budget()`."""
    stored: list[tuple[IncomingFile, StoredFile]] = []
    try:
        for index, incoming in enumerate(files):
            left = None if budget is None else budget - sum(s.size for _f, s in stored)
            cap = ctx.limits.max_file_bytes if left is None else min(ctx.limits.max_file_bytes, left)
            try:
                stored.append((incoming, ctx.store.save(incoming.stream, cap)))
            except StorageUnavailable:
                raise
            except IntakeError as exc:
                if isinstance(exc, AttachmentTooLarge) and cap < ctx.limits.max_file_bytes and over_budget:
                    raise over_budget() from None
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


def attachment_values(stored: list[tuple[IncomingFile, StoredFile]], **columns) -> list[dict]:
    """The attachment rows of stored files, as column values (plus `columns`, e.g. report_id)."""
    return [{"stored_name": s.stored_name, "display_name": display_filename(f.filename), "extension": s.kind.extension,
             "content_type": s.kind.mime, "size": s.size, "sha256": s.sha256, **columns} for f, s in stored]


def attachment_rows(stored: list[tuple[IncomingFile, StoredFile]], message_id: int | None = None) -> list[Attachment]:
    return [Attachment(**values) for values in attachment_values(stored, message_id=message_id)]


_REPORTS = Report.__table__
_REPORT_COLUMNS = [c.name for c in _REPORTS.columns if c.name != "id"]
_INSERT_REPORT = insert(_REPORTS).returning(_REPORTS.c.id)
_INSERT_STATUS = insert(StatusChange.__table__)
_INSERT_QUEUED = insert(PendingRouting.__table__)
_INSERT_IDENTITY = insert(ReporterIdentity.__table__)
_INSERT_ATTACHMENT = insert(Attachment.__table__)
_INSERT_MATCH_KEY = insert(ReportMatchKey.__table__)


def _insert_report_in_one_statement() -> Select:
    """PostgreSQL: the year's number, the report, its first status and its place in the routing queue
    in one statement (data-modifying CTEs): one round trip instead of four, and no lock that another
    submission could wait on (a row counter here made every submission queue behind the slowest)."""
    counter = select(_NEXTVAL.label("last")).cte("c")
    digits = cast(counter.c.last, Text)
    reference = bindparam("reference_start", type_=String) + case(
        (counter.c.last >= 1_000_000, digits), else_=func.lpad(digits, 6, "0"))
    columns = [name for name in _REPORT_COLUMNS if name != "reference"]
    report = insert(_REPORTS).from_select(
        ["reference", *columns],
        select(reference, *[bindparam(name, type_=_REPORTS.c[name].type) for name in columns]).select_from(counter),
    ).returning(_REPORTS.c.id, _REPORTS.c.reference).cte("r")
    status = StatusChange.__table__
    first_status = insert(status).from_select(
        ["report_id", "status", "at"], select(report.c.id, literal("received"), bindparam("status_changed_at"))
    ).returning(status.c.id).cte("s")
    queued = insert(PendingRouting.__table__).from_select(
        ["report_id", "queued_at"], select(report.c.id, bindparam("created_at"))
    ).returning(PendingRouting.__table__.c.report_id).cte("q")
    return select(report.c.id, report.c.reference).add_cte(first_status).add_cte(queued)


_INSERT_REPORT_PG = _insert_report_in_one_statement()


def _open_year(session: Session, year: int) -> None:
    """Create the year's counter (at 0) unless another transaction just did."""
    try:
        with session.begin_nested():
            session.connection().execute(insert(_COUNTERS).values(year=year, last=0))
    except IntegrityError:
        pass


def _store(session: Session, ctx: IntakeContext, clean: ReportInput, stored: list[tuple[IncomingFile, StoredFile]],
           receipt: str, received_at: datetime, now: datetime, submission_token: str | None) -> tuple[int, str]:
    """Number and insert the report and its rows (identity, files, first status, routing queue) with
    plain statements: this is the hot path of every channel, and the ORM's unit of work would double
    it."""
    identity = Identity(clean.reporter_name, clean.reporter_phone, clean.reporter_email)
    ciphertext = None if identity.is_empty() else ctx.cipher.encrypt(identity)
    year = received_at.year
    values = {
        "channel": clean.channel, "received_by": clean.received_by,
        "received_via": clean.received_via, "received_at": received_at, "title": clean.title, "text": clean.text,
        "occurred": clean.occurred, "accused_name": clean.accused_name,
        "accused_institution": clean.accused_institution, "accused_position": clean.accused_position,
        "anonymous": clean.anonymous, "own_conduct": clean.own_conduct, "status": "received",
        "status_changed_at": now, "receipt_hash": ctx.hasher.hash(receipt), "receipt_legacy": False,
        "receipt_key_id": ctx.hasher.key_id,
        "receipt_must_reset": clean.receipt_must_reset, "created_at": now,
        "submission_key": _submission_key(submission_token, clean.text) if submission_token else None,
        "replay_seal": _seal_cipher(submission_token).encrypt(receipt.encode()) if submission_token else None,
    }
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        report_id, reference = conn.execute(_INSERT_REPORT_PG, {
            **values, "seq": ensure_year_sequence(session, year), "reference_start": f"{ctx.reference_prefix}-{year}-"
        }).one()
    else:
        reference = next_reference(session, ctx.reference_prefix, year)
        report_id = conn.execute(_INSERT_REPORT, {**values, "reference": reference}).scalar_one()
        conn.execute(_INSERT_STATUS, {"report_id": report_id, "status": "received", "at": now})
        conn.execute(_INSERT_QUEUED, {"report_id": report_id, "queued_at": now})
    if ciphertext is not None:
        conn.execute(_INSERT_IDENTITY, {"report_id": report_id, "created_at": now, "ciphertext": ciphertext})
        keys = reporter_rows(ctx.cipher.derive_all(REPORTER_LABEL), report_id, identity.phone, identity.email)
        if keys:  # "same reporter" (casework.related) without keeping or showing the identity
            conn.execute(_INSERT_MATCH_KEY, keys)
    if stored:
        conn.execute(_INSERT_ATTACHMENT, attachment_values(stored, report_id=report_id, message_id=None, created_at=now))
    return report_id, reference


def submit_report(session: Session, ctx: IntakeContext, data: ReportInput, files: list[IncomingFile] = (),
                  *, submission_token: str | None = None, now: datetime | None = None,
                  before_commit: Callable[[Report, str], None] | None = None) -> Receipt:
    """Validate, store and commit one report; return its receipt. Replays return the first receipt."""
    files = list(files)
    now = now or utcnow()
    clean = validate_report(data, len(files), ctx.limits, now)
    if submission_token:
        replayed = _replay(session, ctx, submission_token, clean.text)
        if replayed:
            return replayed
    stored = store_files(ctx, files)
    received_at = clean.received_at or now
    receipt = new_receipt()
    try:
        report_id, reference = _store(session, ctx, clean, stored, receipt, received_at, now, submission_token)
        if before_commit is not None:  # rows of the caller's that must commit with the report
            before_commit(session.get(Report, report_id), receipt)
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
    announce_received(report_id)
    return Receipt(report_id, reference, receipt, received_at)


def announce_received(report_id: int) -> None:
    """Tell each subscriber (routing) after the commit; one's failure neither undoes the receipt
    nor keeps the others from hearing of it."""
    for receiver in report_received.receivers_for("intake"):
        try:
            receiver("intake", report_id=report_id)
        except Exception:
            log.exception("report-received subscriber %r failed for report %s", receiver, report_id)
