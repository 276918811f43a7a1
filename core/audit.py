"""The append-only audit trail: every view, action, download and export, hash-chained so that an
edit or a deletion is detectable (`flask --app wsgi audit verify`). Writers serialise on one head
row, so two transactions never chain onto the same predecessor."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, utcnow

GENESIS = "0" * 64


class AuditHead(Base):
    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    hash: Mapped[str] = mapped_column(String(64), default=GENESIS)


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(120), default="")
    action: Mapped[str] = mapped_column(String(60), index=True)
    case_id: Mapped[int | None] = mapped_column()
    report_id: Mapped[int | None] = mapped_column()
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_audit_events_case", "case_id", "seq"),)


def _digest(prev: str, seq: int, at: datetime, actor_id, actor: str, action: str, case_id, report_id, detail) -> str:
    body = json.dumps([prev, seq, at.isoformat(timespec="microseconds"), actor_id, actor, action, case_id,
                       report_id, detail], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def record(session: Session, action: str, *, actor=None, case_id: int | None = None,
           report_id: int | None = None, **detail) -> AuditEvent:
    """Append an event in the caller's transaction (the caller commits). `actor` is a User or None (system)."""
    head_id = session.scalar(select(AuditHead.id).limit(1))
    if head_id is None:
        session.add(AuditHead(id=1, seq=0, hash=GENESIS))
        session.flush()
        head_id = 1
    seq, prev = session.execute(update(AuditHead).where(AuditHead.id == head_id)
                                .values(seq=AuditHead.seq + 1).returning(AuditHead.seq, AuditHead.hash)).one()
    at = utcnow()
    actor_id = getattr(actor, "id", None)
    actor_name = actor.label() if actor is not None and hasattr(actor, "label") else (actor or "system")
    detail = json.loads(json.dumps(detail, ensure_ascii=False, default=str))
    digest = _digest(prev, seq, at, actor_id, actor_name, action, case_id, report_id, detail)
    event = AuditEvent(seq=seq, at=at, actor_id=actor_id, actor=actor_name[:120], action=action, case_id=case_id,
                       report_id=report_id, detail=detail, prev_hash=prev, hash=digest)
    session.add(event)
    session.execute(update(AuditHead).where(AuditHead.id == head_id).values(hash=digest))
    return event


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    first_broken: int | None = None  # seq of the first entry that does not fit
    problem: str = ""


def verify(session: Session) -> Verification:
    prev, expected_seq, checked = GENESIS, 1, 0
    # A streamed (server-side) cursor: closed on every way out, also when a broken entry ends the walk.
    with session.scalars(select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=1000)) as events:
        for ev in events:
            if ev.seq != expected_seq:
                return Verification(False, checked, expected_seq, f"entry {expected_seq} is missing")
            if ev.prev_hash != prev:
                return Verification(False, checked, ev.seq, "does not chain onto the entry before it")
            if _digest(prev, ev.seq, ev.at, ev.actor_id, ev.actor, ev.action, ev.case_id, ev.report_id, ev.detail) != ev.hash:
                return Verification(False, checked, ev.seq, "its content was changed")
            prev, expected_seq, checked = ev.hash, expected_seq + 1, checked + 1
    head = session.scalar(select(AuditHead).limit(1))
    if head is not None and (head.seq != checked or head.hash != prev):
        return Verification(False, checked, checked + 1, "entries after it were deleted")
    return Verification(True, checked)


def latest(session: Session, *, actor_id: int, actions: tuple[str, ...], before_seq: int | None = None) -> AuditEvent | None:
    """The newest event by this actor among `actions` (optionally older than `before_seq`)."""
    stmt = select(AuditEvent).where(AuditEvent.actor_id == actor_id, AuditEvent.action.in_(actions))
    if before_seq is not None:
        stmt = stmt.where(AuditEvent.seq < before_seq)
    return session.scalar(stmt.order_by(AuditEvent.seq.desc()).limit(1))
