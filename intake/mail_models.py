"""What the email channel stores: each fetched message (exactly once), each mailbox's state, and the
outbox of mail the service sends. Addresses and bodies in the outbox are encrypted like identity."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow

# unmatched: looks like a reply but may not speak for a reporter (a clerk decides); attached: a clerk put it on
# a case as a staff note; dismissed: a clerk set it aside with a reason (kept).
MAIL_STATUSES = ("report", "reply", "duplicate", "skipped", "quarantined", "unmatched", "attached", "dismissed")
WAITING_FOR_CLERK = ("unmatched", "quarantined")
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed")


class MailboxState(Base):
    """One configured mailbox: when it was first connected (no acknowledgements for older mail)."""
    __tablename__ = "mailbox_states"

    mailbox: Mapped[str] = mapped_column(String(20), primary_key=True)  # unit code
    uidvalidity: Mapped[int | None] = mapped_column()
    connected_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_run_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)


class MailMessage(Base):
    """A message seen in a mailbox and what became of it. (mailbox, uidvalidity, uid) is unique,
    so a message is taken once however often `mail fetch` runs or crashes."""
    __tablename__ = "mail_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(20))
    uidvalidity: Mapped[int] = mapped_column()
    uid: Mapped[int] = mapped_column()
    message_key: Mapped[str] = mapped_column(String(300), index=True)  # Message-ID, or sha256 of the bytes
    status: Mapped[str] = mapped_column(String(12), index=True)
    reason: Mapped[str] = mapped_column(String(300), default="")
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"), index=True)
    raw_name: Mapped[str | None] = mapped_column(String(64))  # the original .eml in the attachment store
    size: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("mailbox", "uidvalidity", "uid", name="uq_mail_messages_mailbox_uid"),)


class OutboxMessage(Base):
    """Mail waiting to be sent; written in the same transaction as the change that caused it."""
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # acknowledgement, staff_notice, reminder, ...
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"), index=True)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    envelope: Mapped[bytes] = mapped_column(LargeBinary)  # encrypted JSON: to, subject, text, html, headers
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)


class MailReview(Base):
    """What a clerk needs about a message waiting for them (unmatched or quarantined) and what they did
    with it. The sender, subject and text are encrypted like identity: the sender may be a reporter."""
    __tablename__ = "mail_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    mail_message_id: Mapped[int] = mapped_column(ForeignKey("mail_messages.id", ondelete="CASCADE"), unique=True)
    envelope: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted JSON: sender, name, subject, text, files
    points_to: Mapped[str] = mapped_column(String(300), default="")  # the references it seemed to answer
    resolution: Mapped[str | None] = mapped_column(String(12))  # report | attached | dismissed
    note: Mapped[str] = mapped_column(Text, default="")  # the clerk's note or reason
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column()
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
