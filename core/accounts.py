"""Staff accounts: each user belongs to one unit and has one role. Shared by intake and routing.

Roles: clerk (registers phone, letter and walk-in reports), handler (works the unit's cases),
unit_head (assigns, supervises, signs the weekly report), coordinator (task force: triage,
supervision, reveals), admin (users and settings)."""
from __future__ import annotations

import unicodedata
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask_login import UserMixin
from sqlalchemy import ForeignKey, LargeBinary, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, utcnow
from core.roles import CASE_ROLES

ROLES = ("clerk", "handler", "unit_head", "coordinator", "admin")
MIN_REAL_NAME = 2  # characters of a real name, once normalised
TOTP_ROLES = ("coordinator", "admin")  # must use a second factor
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")  # real name: used for recusal
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    email: Mapped[str] = mapped_column(String(254), default="")  # where reminders go
    password_hash: Mapped[str] = mapped_column(String(200))
    totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted with IDENTITY_KEY
    totp_confirmed: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column()
    session_version: Mapped[int] = mapped_column(default=1)  # bumped to end every session of the user
    last_login_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def get_id(self) -> str:  # Flask-Login: a changed session_version logs the user out everywhere
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_taskforce(self) -> bool:
        return self.unit_code == "taskforce" or self.role in ("coordinator", "admin")

    @property
    def needs_totp(self) -> bool:
        return self.role in TOTP_ROLES

    def label(self) -> str:
        return f"{self.display_name or self.username} ({self.unit_code}/{self.role})"

    @property
    def lacks_real_name(self) -> bool:
        """A case role without a real name: sees no case and cannot be assigned one until it is set."""
        return self.role in CASE_ROLES and not has_real_name(self.display_name)


class AccountError(ValueError):
    pass


def has_real_name(name: str | None) -> bool:
    """At least two letters or ideographs once normalised (NFKC; spaces, dots and punctuation do not
    count). Recusal compares names in casework.recusal, with routing.names, which also folds 繁體."""
    return sum(1 for c in unicodedata.normalize("NFKC", name or "") if c.isalnum()) >= MIN_REAL_NAME


def check_real_name(role: str, name: str | None) -> None:
    """Every account with a case role has a real name: recusal keeps people off reports about them by it."""
    if role in CASE_ROLES and not has_real_name(name):
        raise AccountError("a real name of at least two characters is required for handlers, unit heads, "
                           "coordinators and administrators (it keeps them off reports about them)")


def hash_password(password: str) -> str:
    if len(password) < 12:
        raise AccountError("passwords need at least 12 characters")
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return True


def create_user(session: Session, *, username: str, unit: str, role: str, email: str, password: str,
                display_name: str = "") -> User:
    username = username.strip()
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if not username or len(username) > 60:
        raise AccountError("a username of 1 to 60 characters is required")
    if session.scalar(select(func.count()).select_from(User).where(User.username == username)):
        raise AccountError(f"user {username} exists")
    check_real_name(role, display_name)
    user = User(username=username, unit_code=unit, role=role, email=email.strip(),
                password_hash=hash_password(password), display_name=display_name.strip())
    session.add(user)
    session.flush()
    return user


_dummy_hash: str | None = None


def burn_password_check(password: str) -> None:
    """Spend the time of one password check when there is no user, so that timing does not tell
    an unknown user name from a wrong password."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("not-a-real-password-" + "x" * 12)
    try:
        _hasher.verify(_dummy_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        pass


def users_by_id(session: Session, ids) -> dict[int, User]:
    """The accounts behind these ids (audit events' actors: timelines show them with person_label)."""
    wanted = {i for i in ids if i is not None}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(wanted)))} if wanted else {}


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username.strip()))


def end_sessions(user: User) -> None:
    """Every session of the user ends at its next request (get_id no longer matches)."""
    user.session_version = (user.session_version or 1) + 1
