"""Quotas of one report's follow-up: replies, files and bytes per 24 hours and in total (REPORT_MAX_*), so
that whoever holds a receipt cannot fill the disk or the handler's thread, whatever the rate limits allow.

Checked twice: before any file is written (so nothing over the quota reaches the disk, and each file is
copied with a cap of what is left), and again inside the transaction that stores the reply, with the
report's row locked on PostgreSQL (SQLite has one writer), so two replies sent at once cannot both pass."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from intake.errors import IntakeError
from intake.models import Attachment, Message, Report

DAY = timedelta(hours=24)


@dataclass(frozen=True)
class Quotas:
    messages_per_day: int = 20
    messages_total: int = 200
    files_per_day: int = 20
    files_total: int = 100
    bytes_per_day: int = 200 * 1024 * 1024
    bytes_total: int = 1000 * 1024 * 1024


class QuotaExceeded(IntakeError):
    """kind: messages | files | bytes; period: day | total."""
    code = "quota_exceeded"
    status = 429


@dataclass(frozen=True)
class Usage:
    messages_day: int
    messages_total: int
    files_day: int
    files_total: int
    bytes_day: int
    bytes_total: int


def usage(session: Session, report_id: int, now: datetime) -> Usage:
    """What the report's follow-up holds: its reporter's replies, and every file it carries."""
    since = now - DAY
    messages = session.execute(
        select(func.count(), func.count().filter(Message.created_at > since))
        .where(Message.report_id == report_id, Message.author == "reporter")).one()
    files = session.execute(
        select(func.count(), func.count().filter(Attachment.created_at > since),
               func.coalesce(func.sum(Attachment.size), 0),
               func.coalesce(func.sum(Attachment.size).filter(Attachment.created_at > since), 0))
        .where(Attachment.report_id == report_id)).one()
    return Usage(messages[1], messages[0], files[1], files[0], int(files[3]), int(files[2]))


def lock_report(session: Session, report_id: int) -> None:
    """Serialise the follow-up writes of one report; call it first in a fresh transaction. PostgreSQL locks
    the report's row; SQLite takes its one writer lock by a no-op write (a read first would only share it)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(Report.id).where(Report.id == report_id).with_for_update())
    else:
        session.execute(update(Report).where(Report.id == report_id).values(id=Report.id))


def check(quotas: Quotas, used: Usage, *, messages: int, files: int, size: int = 0) -> None:
    """Raise QuotaExceeded if adding this much goes over a quota."""
    for kind, period, have, adding, limit in (
            ("messages", "day", used.messages_day, messages, quotas.messages_per_day),
            ("messages", "total", used.messages_total, messages, quotas.messages_total),
            ("files", "day", used.files_day, files, quotas.files_per_day),
            ("files", "total", used.files_total, files, quotas.files_total),
            ("bytes", "day", used.bytes_day, size, quotas.bytes_per_day),
            ("bytes", "total", used.bytes_total, size, quotas.bytes_total)):
        if adding and have + adding > limit:
            raise QuotaExceeded(kind=kind, period=period, limit=limit)


def byte_budget(quotas: Quotas, used: Usage) -> tuple[int, QuotaExceeded]:
    """The bytes still allowed, and the error to raise when the files go past them."""
    day_left, total_left = quotas.bytes_per_day - used.bytes_day, quotas.bytes_total - used.bytes_total
    if day_left <= total_left:
        return max(0, day_left), QuotaExceeded(kind="bytes", period="day", limit=quotas.bytes_per_day)
    return max(0, total_left), QuotaExceeded(kind="bytes", period="total", limit=quotas.bytes_total)
