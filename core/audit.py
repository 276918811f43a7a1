"""The append-only audit trail: every view, action, download and export, hash-chained so that an
edit or a deletion is detectable (`flask --app wsgi audit verify`). Writers serialise on one head
row, so two transactions never chain onto the same predecessor.

Each entry's `hash` is SHA-256 over its content and the hash before it (as since the first release);
since migration 0011 each entry also carries `mac`, an HMAC-SHA256 of its number and hash under the audit
key (core/keys.py: a key that is not in the database), and `mac_key`, which key. Someone holding only the
database can still recompute the SHA-256 chain after deleting an entry, but not the MACs. Entries written
before the change have no MAC; the keyed chain begins at the first entry with one, after which an entry
without one is an alteration (`verify`). The head is anchored outside the database by
`flask audit anchor` against cutting the tail or restoring an older copy."""
from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime

from flask import Flask, current_app, has_app_context
from sqlalchemy import JSON, ForeignKey, Index, String, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, utcnow
from core.keys import AuditKey, audit_keyring

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
    mac_key: Mapped[str | None] = mapped_column(String(16))  # AuditKey.key_id; NULL: written before 0011
    mac: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_audit_events_case", "case_id", "seq"),)


def _digest(prev: str, seq: int, at: datetime, actor_id, actor: str, action: str, case_id, report_id, detail) -> str:
    body = json.dumps([prev, seq, at.isoformat(timespec="microseconds"), actor_id, actor, action, case_id,
                       report_id, detail], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


class AuditKeyMissing(RuntimeError):
    """No audit key is configured for this session (no app was created in this process)."""


_process_keys: tuple[AuditKey, ...] = ()


def init_app(app: Flask) -> None:
    """Give the app's sessions the audit keyring (Session.info), for writers that have only a session."""
    global _process_keys
    keys = audit_keyring(app.config)
    app.extensions["audit_keys"] = keys
    app.extensions["db_sessionmaker"].configure(info={"audit_keys": keys})
    _process_keys = keys  # for sessions made outside the app's sessionmaker (benchmarks, some tests)


def keyring(session: Session) -> tuple[AuditKey, ...]:
    keys = session.info.get("audit_keys")
    if not keys and has_app_context():
        keys = current_app.extensions.get("audit_keys")
    keys = keys or _process_keys
    if not keys:
        raise AuditKeyMissing("the audit trail has no key: create the app (it derives one from the configuration)")
    return keys


def record(session: Session, action: str, *, actor=None, case_id: int | None = None,
           report_id: int | None = None, **detail) -> AuditEvent:
    """Append an event in the caller's transaction (the caller commits). `actor` is a User or None (system)."""
    key = keyring(session)[0]
    advance = update(AuditHead).values(seq=AuditHead.seq + 1).returning(AuditHead.id, AuditHead.seq, AuditHead.hash)
    row = session.execute(advance).first()  # the one head row, locked until the caller commits
    if row is None:  # the first entry ever: two first writers at once must not both fail on the key
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(insert(AuditHead).values(id=1, seq=0, hash=GENESIS).on_conflict_do_nothing())
        row = session.execute(advance).one()
    head_id, seq, prev = row
    at = utcnow()
    actor_id = getattr(actor, "id", None)
    actor_name = actor.label() if actor is not None and hasattr(actor, "label") else (actor or "system")
    detail = json.loads(json.dumps(detail, ensure_ascii=False, default=str))
    digest = _digest(prev, seq, at, actor_id, actor_name, action, case_id, report_id, detail)
    event = AuditEvent(seq=seq, at=at, actor_id=actor_id, actor=actor_name[:120], action=action, case_id=case_id,
                       report_id=report_id, detail=detail, prev_hash=prev, hash=digest, mac_key=key.key_id,
                       mac=key.mac(seq, digest))
    session.add(event)
    session.execute(update(AuditHead).where(AuditHead.id == head_id).values(hash=digest))
    return event


def newest(session: Session) -> AuditEvent | None:
    return session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))


def seal(session: Session) -> AuditEvent | None:
    """Once, right after the upgrade to keyed entries (`flask setup` calls it only when that upgrade added
    the MAC column): when the newest entry has no MAC, write one that has, so the keyed chain covers every
    entry before it. Returns that entry (the caller commits), or None. Never called on a trail that was
    keyed already: there, a newest entry without a MAC means the MACs were stripped."""
    last = newest(session)
    if last is None or last.mac is not None:
        return None
    return record(session, "audit.chain_keyed", actor="system", entries_before=last.seq)


def latest(session: Session, *, actor_id: int, actions: tuple[str, ...], before_seq: int | None = None) -> AuditEvent | None:
    """The newest event by this actor among `actions` (optionally older than `before_seq`)."""
    stmt = select(AuditEvent).where(AuditEvent.actor_id == actor_id, AuditEvent.action.in_(actions))
    if before_seq is not None:
        stmt = stmt.where(AuditEvent.seq < before_seq)
    return session.scalar(stmt.order_by(AuditEvent.seq.desc()).limit(1))


def latest_per_case(session: Session, *, actor_id: int, action: str, case_ids) -> dict[int, datetime]:
    """When this actor last did `action` on each of these cases (e.g. opened the case page: "case.viewed")."""
    return dict(session.execute(select(AuditEvent.case_id, func.max(AuditEvent.at))
                                .where(AuditEvent.case_id.in_(list(case_ids)), AuditEvent.action == action,
                                       AuditEvent.actor_id == actor_id)
                                .group_by(AuditEvent.case_id)).all())


@dataclass(frozen=True)
class Anchor:
    """The head of the chain at one moment, kept outside the database by the operator."""
    seq: int
    mac: str

    PATTERN = re.compile(r"xlt-audit-anchor v1 seq=(\d+) mac=([0-9a-f]{64})")

    def line(self) -> str:
        return f"xlt-audit-anchor v1 seq={self.seq} mac={self.mac}"

    @classmethod
    def parse(cls, text: str) -> Anchor:
        """From the line (also inside a longer log line); ValueError when there is none."""
        found = cls.PATTERN.search(text or "")
        if found is None:
            raise ValueError("not an anchor line: expected `xlt-audit-anchor v1 seq=N mac=<64 hex digits>`")
        return cls(int(found.group(1)), found.group(2))


class AnchorRefused(RuntimeError):
    """The newest entry's MAC does not match under any key of ours: anchoring it would vouch for a forgery."""


def take_anchor(session: Session) -> Anchor:
    """The current head. Checks the newest entry's MAC only, not the whole chain: `verify` does that."""
    last = newest(session)
    if last is None:
        return Anchor(0, GENESIS)
    key = {k.key_id: k for k in keyring(session)}.get(last.mac_key or "")
    if key is None or not hmac.compare_digest(key.mac(last.seq, last.hash), last.mac or ""):
        raise AnchorRefused(f"entry {last.seq}, the newest, has no valid MAC under this service's audit key: "
                            "run `flask audit verify`")
    return Anchor(last.seq, last.mac)


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    first_broken: int | None = None  # seq of the first entry that does not fit
    problem: str = ""
    unkeyed: int = 0  # entries from before the keyed chain, checked by their hash only
    retired: int = 0  # entries under a key no longer configured, covered by the MAC of a later entry
    anchor: Anchor | None = None  # found in the chain

    def summary(self) -> str:
        if not self.ok:
            return f"BROKEN at entry {self.first_broken}: {self.problem}"
        notes = []
        if self.unkeyed:
            notes.append(f"{self.unkeyed} from before the keyed chain, checked by their hash and covered by the "
                         f"MAC of entry {self.unkeyed + 1}")
        if self.retired:
            notes.append(f"{self.retired} under a retired key, covered by the MACs of the entries after them")
        if self.anchor is not None:
            notes.append(f"anchor seq={self.anchor.seq} found")
        return f"OK: {self.checked} entries" + (f" ({'; '.join(notes)})" if notes else "")


def verify(session: Session, anchor: Anchor | None = None, keys: tuple[AuditKey, ...] | None = None) -> Verification:
    """Walk the whole chain: numbering, links, content hashes, MACs; then the head row and the anchor.

    An entry without a MAC is accepted only before the first entry that has one (entries written before
    migration 0011). An entry under a key that is not configured (retired after a rotation) is accepted when
    a later entry under a present key follows: its MAC covers the hash, which covers everything before. So the
    newest entry must carry a valid MAC: stripping MACs or relabelling them with an unknown key fails."""
    known = {k.key_id: k for k in (keys or keyring(session))}
    prev, expected_seq, checked, keyed_from, retired, uncovered_from = GENESIS, 1, 0, None, 0, None
    anchor_mac = None

    def broken(seq: int, problem: str) -> Verification:
        return Verification(False, checked, seq, problem)

    # A streamed (server-side) cursor: closed on every way out, also when a broken entry ends the walk.
    with session.scalars(select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=1000)) as events:
        for ev in events:
            if ev.seq != expected_seq:
                return broken(expected_seq, f"entry {expected_seq} is missing")
            if ev.prev_hash != prev:
                return broken(ev.seq, "does not chain onto the entry before it")
            if _digest(prev, ev.seq, ev.at, ev.actor_id, ev.actor, ev.action, ev.case_id, ev.report_id, ev.detail) != ev.hash:
                return broken(ev.seq, "its content was changed")
            if ev.mac is None:
                if keyed_from is not None:
                    return broken(ev.seq, f"it has no MAC, but the keyed chain began at entry {keyed_from}: "
                                          "entries were rewritten by someone without the audit key")
            else:
                keyed_from = keyed_from or ev.seq
                key = known.get(ev.mac_key or "")
                if key is None:
                    retired, uncovered_from = retired + 1, uncovered_from or ev.seq
                elif not hmac.compare_digest(key.mac(ev.seq, ev.hash), ev.mac):
                    return broken(ev.seq, "its MAC does not match: the chain was recomputed without the audit key")
                else:
                    uncovered_from = None
            if anchor is not None and ev.seq == anchor.seq:
                anchor_mac = ev.mac
            prev, expected_seq, checked = ev.hash, expected_seq + 1, checked + 1
    head = session.scalar(select(AuditHead).limit(1))
    if head is not None and (head.seq != checked or head.hash != prev):
        return broken(checked + 1, "entries after it were deleted")
    if checked and keyed_from is None:
        return broken(checked, "the newest entry has no MAC: the MACs were stripped, unless the database was "
                               "just upgraded without `flask setup` and nothing was recorded since")
    if uncovered_from is not None:
        return broken(uncovered_from, "from this entry on the MACs are under a key this service does not have "
                                      "(a wrong AUDIT_KEY or IDENTITY_KEY, or entries forged under another key)")
    if anchor is not None and anchor.seq > checked:
        return broken(anchor.seq, f"the anchor's entry {anchor.seq} is missing: the trail ends at entry {checked} "
                                  "(its tail was cut, its head rolled back, or the database restored from an older copy)")
    if anchor is not None and anchor.seq > 0 and not hmac.compare_digest(anchor_mac or "", anchor.mac):
        return broken(anchor.seq, "it is not the entry the anchor names: the trail was rewritten from there, or the "
                                  "database restored from an older copy and written on")
    unkeyed = (keyed_from - 1) if keyed_from else 0
    return Verification(True, checked, unkeyed=unkeyed, retired=retired, anchor=anchor)
