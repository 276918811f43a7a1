"""Reports and what hangs off them. Reporter identity lives in its own table, encrypted."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow

CHANNELS = ("web", "app", "phone", "letter", "visit", "email", "self")  # self: 自查自纠 recorded by a unit
STATUSES = ("received", "accepted", "in_progress", "closed", "not_accepted")


class Report(Base):
    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    channel: Mapped[str] = mapped_column(String(10), index=True)
    received_by: Mapped[str | None] = mapped_column(ForeignKey("units.code"), index=True)
    received_via: Mapped[str] = mapped_column(String(200), default="")  # which published line / box
    received_at: Mapped[datetime] = mapped_column(index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)
    occurred: Mapped[str] = mapped_column(String(500), default="")  # when and where, as told
    accused_name: Mapped[str] = mapped_column(String(200), default="", index=True)  # recusal looks names up
    accused_institution: Mapped[str] = mapped_column(String(200), default="")
    accused_position: Mapped[str] = mapped_column(String(200), default="")
    anonymous: Mapped[bool] = mapped_column(default=True)
    own_conduct: Mapped[bool] = mapped_column(default=False)  # 主动说明: reporting one's own conduct
    status: Mapped[str] = mapped_column(String(20), default="received", index=True)
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    receipt_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    # True for receipts hashed with scrypt before migration 0008, until their first use re-stores them
    # (a partial index: new reports, never legacy, cost it nothing).
    receipt_legacy: Mapped[bool] = mapped_column(default=False)
    receipt_must_reset: Mapped[bool] = mapped_column(default=False)  # issued by a clerk
    # which receipt key made receipt_hash (ReceiptHasher.key_id); NULL: stored before migration 0013
    receipt_key_id: Mapped[str | None] = mapped_column(String(16))
    submission_key: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True)
    replay_seal: Mapped[bytes | None] = mapped_column(LargeBinary(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    identity: Mapped["ReporterIdentity | None"] = relationship(
        back_populates="report", cascade="all, delete-orphan", uselist=False)
    attachments: Mapped[list["Attachment"]] = relationship(
        back_populates="report", order_by="Attachment.id", cascade="all, delete-orphan")
    messages: Mapped[list["Message"]] = relationship(
        back_populates="report", order_by="Message.id", cascade="all, delete-orphan")
    status_history: Mapped[list["StatusChange"]] = relationship(
        back_populates="report", order_by="StatusChange.id", cascade="all, delete-orphan")

    __table_args__ = (Index("ix_reports_receipt_legacy", "receipt_legacy", postgresql_where=sql_text("receipt_legacy"),
                            sqlite_where=sql_text("receipt_legacy")),)


class ReplacedReceipt(Base):
    """A receipt code that was replaced (by whoever held it): only its keyed hash, kept so that the code
    tells its holder when it was replaced and whom to call if that was not them."""
    __tablename__ = "replaced_receipts"

    receipt_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    replaced_at: Mapped[datetime] = mapped_column(default=utcnow)
    clerk_issued: Mapped[bool] = mapped_column(default=False)


class PendingRouting(Base):
    """A report that routing has not taken yet: written in the report's own transaction, removed in
    the transaction that opens its case. The routing job reads this short table, never all reports."""
    __tablename__ = "pending_routing"

    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReporterIdentity(Base):
    """Name, phone, email of a real-name reporter (or a mail sender), encrypted with IDENTITY_KEY."""
    __tablename__ = "reporter_identities"

    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    report: Mapped[Report] = relationship(back_populates="identity")


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(10))  # reporter | staff
    author_user_id: Mapped[int | None] = mapped_column()
    body: Mapped[str] = mapped_column(Text)
    visible_to_reporter: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    report: Mapped[Report] = relationship(back_populates="messages")
    attachments: Mapped[list["Attachment"]] = relationship(back_populates="message", order_by="Attachment.id")


class Attachment(Base):
    """Evidence file: stored under a random name outside the web root; the given name is display text."""
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(255))
    extension: Mapped[str] = mapped_column(String(10))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    report: Mapped[Report] = relationship(back_populates="attachments")
    message: Mapped[Message | None] = relationship(back_populates="attachments")


class StatusChange(Base):
    """The public status history a reporter sees on follow-up."""
    __tablename__ = "status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    report: Mapped[Report] = relationship(back_populates="status_history")

    __table_args__ = (Index("ix_status_changes_report_at", "report_id", "at"),)


class ReferenceCounter(Base):
    """Last case reference number issued per year (XLT-2026-000123)."""
    __tablename__ = "reference_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(default=0)
