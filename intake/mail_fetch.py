"""One pass over one mailbox with imap-tools: capped in count and time, safe to run again."""
from __future__ import annotations

import logging
import time

from imap_tools import AND, MailBox, MailBoxUnencrypted, MailMessageFlags
from imap_tools.message import MailMessage as ImapMessage
from imap_tools.query import U
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import utcnow
from intake.mail_ingest import (
    FetchStats,
    MailSettings,
    Outcome,
    ingest_message,
    is_backlog,
    record_outcome,
    save_original,
)
from intake.mail_models import MailboxState, MailMessage
from intake.mailboxes import MailboxConfig
from intake.submit import IntakeContext

log = logging.getLogger(__name__)
IMPORTED_KEYWORD = "$XltImported"


class RawImapMessage(ImapMessage):
    """imap-tools' message, keeping the exact bytes (they are saved as evidence before parsing)."""

    def __init__(self, fetch_data: list) -> None:
        super().__init__(fetch_data)
        self.raw: bytes = self._get_message_data_parts(fetch_data)[0]


def _state(session: Session, unit: str) -> MailboxState:
    state = session.get(MailboxState, unit)
    if state is None:
        state = MailboxState(mailbox=unit, connected_at=utcnow())
        session.add(state)
        session.commit()
    return state


def _open(box: MailboxConfig, timeout: float):
    client = MailBox(box.host, box.port, timeout=timeout) if box.secure else MailBoxUnencrypted(box.host, box.port, timeout=timeout)
    client.email_message_class = RawImapMessage
    return client.login(box.user, box.password, initial_folder=box.folder)


def _flag(mailbox, uid: str) -> None:
    try:
        mailbox.flag(uid, [MailMessageFlags.SEEN], True)
        mailbox.flag(uid, [IMPORTED_KEYWORD], True)
    except Exception as exc:  # some servers refuse custom keywords: the database is what counts
        log.info("could not flag uid %s: %s", uid, exc)


def _kept(ctx: IntakeContext, raw: bytes) -> str | None:
    """The original of a mail whose ingest failed, kept for the clerk who reads it (None if even that fails)."""
    try:
        return save_original(ctx, raw)[1].stored_name
    except Exception:
        log.exception("the original of a quarantined mail could not be kept")
        return None


def fetch_mailbox(session: Session, ctx: IntakeContext, settings: MailSettings, box: MailboxConfig, *,
                  max_messages: int = 200, max_seconds: float = 120.0, timeout: float = 30.0) -> FetchStats:
    stats = FetchStats(box.unit)
    state = _state(session, box.unit)
    deadline = time.monotonic() + max_seconds
    try:
        with _open(box, timeout) as mailbox:
            uidvalidity = int(mailbox.folder.status(box.folder, ["UIDVALIDITY"])["UIDVALIDITY"])
            last = session.scalar(select(func.max(MailMessage.uid)).where(
                MailMessage.mailbox == box.unit, MailMessage.uidvalidity == uidvalidity)) or 0
            criteria = AND(uid=U(last + 1, "*"), date_gte=box.since) if box.since else AND(uid=U(last + 1, "*"))
            uids = [u for u in mailbox.uids(criteria) if int(u) > last][:max_messages]
            for uid in uids:
                if time.monotonic() > deadline:
                    stats.error = "time budget used up; the rest comes next run"
                    break
                _one(session, ctx, settings, box, mailbox, uidvalidity, uid, state, stats)
            state.uidvalidity, state.last_run_at, state.last_error = uidvalidity, utcnow(), stats.error or None
            session.commit()
    except Exception as exc:  # the mailbox is down or refuses us: say so, keep the others going
        session.rollback()
        stats.error = f"{type(exc).__name__}: {exc}"
        log.warning("mailbox %s: %s", box.describe(), stats.error)
        state = session.get(MailboxState, box.unit)
        state.last_error, state.last_run_at = stats.error[:2000], utcnow()
        session.commit()
    return stats


def _one(session, ctx, settings, box, mailbox, uidvalidity: int, uid: str, state, stats: FetchStats) -> None:
    head = next(mailbox.fetch(AND(uid=uid), headers_only=True, mark_seen=False), None)
    if head is None:
        return
    if head.size_rfc822 > settings.max_message_bytes:
        known = session.scalar(select(MailMessage.id).where(MailMessage.mailbox == box.unit,
                               MailMessage.uidvalidity == uidvalidity, MailMessage.uid == int(uid)))
        if known is None:
            record_outcome(session, box.unit, uidvalidity, int(uid), f"uid:{box.unit}:{uidvalidity}:{uid}",
                    Outcome("quarantined", reason=f"declared size {head.size_rfc822} bytes over the limit; "
                                                  f"left on the server for a clerk"), head.size_rfc822)
            session.commit()
        stats.add("quarantined")
        return
    full = next(mailbox.fetch(AND(uid=uid), mark_seen=False), None)
    if full is None:
        return
    raw = full.raw
    acknowledge = box.acknowledge and not is_backlog(raw, state.connected_at)
    try:
        outcome = ingest_message(session, ctx, settings, box.unit, uidvalidity, int(uid), raw, acknowledge)
    except Exception as exc:  # never a crash of the whole run for one message
        session.rollback()
        log.exception("mailbox %s uid %s could not be ingested", box.unit, uid)
        record_outcome(session, box.unit, uidvalidity, int(uid), f"uid:{box.unit}:{uidvalidity}:{uid}",
                Outcome("quarantined", reason=f"{type(exc).__name__}: {exc}"), len(raw), _kept(ctx, raw))
        session.commit()
        outcome = Outcome("quarantined")
    stats.add(outcome.status)
    _flag(mailbox, uid)

