"""Staff sessions that the server can end. Flask's session is a signed cookie: without a record on the
server, a cookie copied before logout would keep working until it expired. Each login therefore gets a
random session id, kept here as a hash and in the cookie as is; the user loader accepts a cookie only
while its id is here. Logout removes the row, a password change removes every row of the user, and a row
older than STAFF_SESSION_MAX_HOURS no longer counts (a stolen cookie is not good for ever, however busy)."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, LargeBinary, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, utcnow

SESSION_KEY = "sid"  # the key of the id in Flask's session


class StaffSession(Base):
    __tablename__ = "staff_sessions"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


def _hash(token: str) -> bytes:
    return hashlib.sha256(b"xlt-staff-session:" + token.encode("utf-8")).digest()


def open_session(db: Session, user_id: int, max_age: timedelta) -> str:
    """A new session id for the user (the caller commits); rows past their age are swept on the way."""
    now = utcnow()
    db.execute(delete(StaffSession).where(StaffSession.created_at < now - max_age))
    token = secrets.token_urlsafe(32)
    db.add(StaffSession(token_hash=_hash(token), user_id=user_id, created_at=now))
    return token


def is_open(db: Session, user_id: int, token: object, max_age: timedelta) -> bool:
    if not isinstance(token, str) or not token or len(token) > 100:
        return False
    created = db.scalar(select(StaffSession.created_at).where(StaffSession.token_hash == _hash(token),
                                                              StaffSession.user_id == user_id))
    return created is not None and created > utcnow() - max_age


def close_session(db: Session, token: object) -> None:
    if isinstance(token, str) and token:
        db.execute(delete(StaffSession).where(StaffSession.token_hash == _hash(token)))


def close_all(db: Session, user_id: int) -> None:
    db.execute(delete(StaffSession).where(StaffSession.user_id == user_id))
