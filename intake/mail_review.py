"""What a clerk does with mail waiting for them: a reply that may not speak for the reporter (unmatched)
or a message that could not be taken (quarantined). They read it as plain text, make it a report through
the one submit path, or dismiss it with a reason; attaching one to a case is casework's (mail_notes).
Every list, reading and decision is audited. A clerk of a member unit sees their own unit's mailbox;
coordinators and the task force's clerks see all."""
from __future__ import annotations

import email
import hashlib
import re
from dataclasses import dataclass
from email import policy
from email.utils import parseaddr

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.audit import record
from core.db import utcnow
from intake.errors import FieldRequired, FieldTooLong, MailNotWaiting, MailOriginalMissing, ValidationFailed
from intake.mail_ingest import MailSettings, is_backlog, save_original, store_mail_files, submit_mail
from intake.mail_models import MailboxState, MailMessage, MailReview
from intake.mailparse import ParsedMail, header_text, parse_mail
from intake.models import Report
from intake.submit import IntakeContext, Receipt
from intake.text import clean_line, clean_text

MAIL_REVIEW_ROLES = ("clerk", "coordinator")
_HEADER_LINE = re.compile(rb"[!-9;-~]{1,76}:")
READ_CAP = 200_000  # characters of a quarantined original shown to the clerk
REASON_LIMIT = 2000


@dataclass
class HeldMail:
    row: MailMessage
    review: MailReview | None
    summary: dict  # an unmatched mail's sender, name, subject, text, file names (decrypted); {} if none


def visible_mailboxes(user) -> set[str] | None:
    """The mailboxes whose waiting mail the user handles (None: all of them)."""
    return None if user.role == "coordinator" or user.is_taskforce else {user.unit_code}


def _held(session: Session, ctx: IntakeContext, row: MailMessage) -> HeldMail:
    review = session.scalar(select(MailReview).where(MailReview.mail_message_id == row.id))
    summary = ctx.cipher.decrypt_json(review.envelope) if review is not None and review.envelope else {}
    return HeldMail(row, review, summary)


def waiting(session: Session, ctx: IntakeContext, actor, status: str, limit: int = 200) -> list[HeldMail]:
    """The mail of one status waiting for this clerk, newest first; the listing is audited (it shows senders)."""
    boxes = visible_mailboxes(actor)
    stmt = select(MailMessage).where(MailMessage.status == status)
    if boxes is not None:
        stmt = stmt.where(MailMessage.mailbox.in_(boxes))
    rows = session.scalars(stmt.order_by(MailMessage.id.desc()).limit(limit)).all()
    record(session, "mail.listed", actor=actor, status=status, mails=[r.id for r in rows])
    session.commit()
    return [_held(session, ctx, r) for r in rows]


def held_mail(session: Session, ctx: IntakeContext, actor, mail_id: int, status: str) -> HeldMail:
    """One mail of this status waiting for this clerk, or MailNotWaiting (whether it exists elsewhere or not)."""
    row = session.get(MailMessage, mail_id)
    boxes = visible_mailboxes(actor)
    if row is None or row.status != status or (boxes is not None and row.mailbox not in boxes):
        raise MailNotWaiting()
    return _held(session, ctx, row)


def original(ctx: IntakeContext, row: MailMessage) -> bytes:
    if not row.raw_name:
        raise MailOriginalMissing()
    try:
        return ctx.store.path(row.raw_name).read_bytes()
    except (OSError, ValueError) as exc:
        raise MailOriginalMissing() from exc


def read_as_text(session: Session, ctx: IntakeContext, actor, held: HeldMail, cap: int = READ_CAP) -> tuple[str, bool]:
    """The original as plain text for a clerk: the raw bytes decoded (unknown bytes replaced), control
    characters removed, capped; nothing rendered, no attachment opened. Audited. (text, cut off?)"""
    raw = original(ctx, held.row)
    text = clean_text(decoded(raw[:cap * 4]))
    record(session, "mail.read", actor=actor, mail=held.row.id, status=held.row.status)
    session.commit()
    return text[:cap], len(text) > cap or len(raw) > cap * 4


def decoded(raw: bytes) -> str:
    """Bytes of unknown encoding as text, never failing: UTF-8 or GB18030 if either fits, else whichever of
    the two needs fewer replacement characters (U+FFFD) for the bytes it cannot read."""
    for name in ("utf-8", "gb18030"):
        try:
            return raw.decode(name)
        except UnicodeDecodeError:
            continue
    guesses = [raw.decode(name, errors="replace") for name in ("utf-8", "gb18030")]
    return min(guesses, key=lambda text: text.count("\ufffd"))


def loose_mail(raw: bytes, own_addresses: set[str]) -> ParsedMail:
    """A quarantined mail as well as it can be read: parsed if it parses now, else the headers read leniently
    and the body taken as it stands (decoded, unknown bytes replaced, never rendered)."""
    try:
        return parse_mail(raw, own_addresses)
    except Exception:  # it was quarantined because something in it fails: read it the simple way
        pass
    split = raw.find(b"\r\n\r\n"), raw.find(b"\n\n")
    cut = min((i for i in split if i >= 0), default=len(raw)) if _HEADER_LINE.match(raw) else 0  # no headers: all body
    try:
        head = email.message_from_bytes(raw[:cut] + b"\n\n", policy=policy.compat32)
        from_name, from_addr = parseaddr(header_text(head.get("From")))
        subject = header_text(head.get("Subject"))
    except Exception:
        from_name, from_addr, subject = "", "", ""
    return ParsedMail(message_key="sha256:" + hashlib.sha256(raw).hexdigest(), from_addr=from_addr.strip().lower(),
                      from_name=from_name.strip(), subject=clean_line(subject),
                      text=clean_text(decoded(raw[cut:cut + 4 * 20_000])))


def claim(session: Session, held: HeldMail, actor, resolution: str, report_id: int | None, note: str = "") -> None:
    """Mark the mail dealt with, in the caller's transaction: only one clerk's decision wins (a conditional
    update; a second one finds the status changed and gets MailNotWaiting)."""
    changed = session.execute(update(MailMessage).where(MailMessage.id == held.row.id,
                                                        MailMessage.status == held.row.status)
                              .values(status=resolution, report_id=report_id)).rowcount
    if changed != 1:
        raise MailNotWaiting()
    review = held.review
    if review is None:
        review = MailReview(mail_message_id=held.row.id)
        session.add(review)
    review.resolution, review.note, review.report_id = resolution, note, report_id
    review.resolved_by, review.resolved_at = actor.id, utcnow()


def make_report(session: Session, ctx: IntakeContext, settings: MailSettings, actor, held: HeldMail,
                acknowledging: set[str]) -> Receipt:
    """The held mail as a new email-channel report (the one submit path), acknowledged to its sender as
    a fetched mail would have been (mailboxes in `acknowledging`, not backlog). The clerk never sees the receipt."""
    raw = original(ctx, held.row)
    mail = loose_mail(raw, settings.own_addresses)
    state = session.get(MailboxState, held.row.mailbox)
    acknowledge = held.row.mailbox in acknowledging and not (state and is_backlog(raw, state.connected_at))
    eml = save_original(ctx, raw)
    kept, notes = store_mail_files(ctx, mail)
    was = held.row.status

    def with_report(report: Report) -> None:
        claim(session, held, actor, "report", report.id)
        record(session, "mail.made_report", actor=actor, report_id=report.id, mail=held.row.id, was=was)

    return submit_mail(session, ctx, settings, mail, held.row.mailbox, kept, notes, eml, acknowledge, with_report)


def checked_note(note: str, field: str = "reason", limit: int = REASON_LIMIT) -> str:
    text = clean_text(note or "")
    if not text:
        raise ValidationFailed({field: FieldRequired()})
    if len(text) > limit:
        raise ValidationFailed({field: FieldTooLong(max=limit)})
    return text


def dismiss(session: Session, actor, held: HeldMail, reason: str) -> None:
    """Set the mail aside with a reason: it is kept (row, original, review), its status changes, audited."""
    reason = checked_note(reason)
    was = held.row.status
    claim(session, held, actor, "dismissed", None, reason)
    record(session, "mail.dismissed", actor=actor, mail=held.row.id, was=was, reason=reason[:300])
    session.commit()
