"""Mailbox and SMTP settings from URLs in the environment:
MAILBOX_HEALTH / MAILBOX_MARKET / MAILBOX_MEDINSURE = imap[s]://user:password@host:port/FOLDER[?since=YYYY-MM-DD&ack=0]
SMTP_URL = smtp:// | smtp+starttls:// | smtps://user:password@host:port"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import parse_qs, unquote, urlsplit

MAILBOX_UNITS = ("health", "market", "medinsure")


class MailConfigError(ValueError):
    pass


@dataclass(frozen=True)
class MailboxConfig:
    unit: str
    secure: bool
    host: str
    port: int
    user: str
    password: str = ""
    folder: str = "INBOX"
    since: date | None = None
    acknowledge: bool = True

    def describe(self) -> str:  # no password
        return f"{'imaps' if self.secure else 'imap'}://{self.user}@{self.host}:{self.port}/{self.folder}"


@dataclass(frozen=True)
class SmtpConfig:
    mode: str  # plain | starttls | ssl
    host: str
    port: int
    user: str = ""
    password: str = ""


def parse_mailbox_url(unit: str, url: str) -> MailboxConfig:
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
        raise MailConfigError(f"MAILBOX_{unit.upper()} must look like imaps://user:password@host:993/INBOX")
    query = parse_qs(parts.query)
    since = None
    if query.get("since"):
        try:
            since = date.fromisoformat(query["since"][0])
        except ValueError as exc:
            raise MailConfigError(f"MAILBOX_{unit.upper()}: since must be YYYY-MM-DD") from exc
    secure = parts.scheme == "imaps"
    return MailboxConfig(unit=unit, secure=secure, host=parts.hostname, port=parts.port or (993 if secure else 143),
                         user=unquote(parts.username), password=unquote(parts.password or ""),
                         folder=unquote(parts.path.lstrip("/")) or "INBOX", since=since,
                         acknowledge=query.get("ack", ["1"])[0] not in ("0", "false", "no"))


def mailboxes_from(config: dict) -> list[MailboxConfig]:
    return [parse_mailbox_url(unit, config[f"MAILBOX_{unit.upper()}"]) for unit in MAILBOX_UNITS
            if config.get(f"MAILBOX_{unit.upper()}")]


def parse_smtp_url(url: str) -> SmtpConfig:
    parts = urlsplit(url)
    modes = {"smtp": ("plain", 25), "smtp+starttls": ("starttls", 587), "smtps": ("ssl", 465)}
    if parts.scheme not in modes or not parts.hostname:
        raise MailConfigError("SMTP_URL must look like smtp+starttls://user:password@host:587")
    mode, default_port = modes[parts.scheme]
    return SmtpConfig(mode=mode, host=parts.hostname, port=parts.port or default_port,
                      user=unquote(parts.username or ""), password=unquote(parts.password or ""))
