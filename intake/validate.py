"""Validation of a report as typed by a citizen or a clerk: pure, no Flask, all errors at once."""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email

from core.localtime import local_datetime
from intake.errors import (
    ConsentMissing,
    FieldRequired,
    FieldTooLong,
    IntakeError,
    InvalidEmail,
    InvalidPhone,
    ReceivedInFuture,
    TextTooLong,
    TextTooShort,
    TooManyFiles,
    ValidationFailed,
)
from intake.models import CHANNELS
from intake.text import clean_line, clean_text

_PHONE = re.compile(r"^\+?[\d\s\-()]{6,24}$")
LINE_LIMITS = {"title": 200, "occurred": 500, "accused_name": 200, "accused_institution": 200,
               "accused_position": 200, "reporter_name": 100, "reporter_phone": 30,
               "reporter_email": 254, "received_via": 200}
CLOCK_SLACK = timedelta(minutes=5)  # a clerk's watch a little ahead of the server's is not "the future"


@dataclass(frozen=True)
class Limits:
    min_text: int = 20
    max_text: int = 20_000
    max_files: int = 5
    max_file_bytes: int = 20 * 1024 * 1024
    check_deliverability: bool = False


@dataclass(frozen=True)
class ReportInput:
    """A report from any channel, as plain data."""
    text: str
    title: str = ""
    occurred: str = ""
    accused_name: str = ""
    accused_institution: str = ""
    accused_position: str = ""
    anonymous: bool = True
    reporter_name: str = ""
    reporter_phone: str = ""
    reporter_email: str = ""
    own_conduct: bool = False
    consent: bool = True
    channel: str = "web"
    received_by: str | None = None
    received_via: str = ""
    received_at: datetime | None = None
    receipt_must_reset: bool = False
    extra: dict = field(default_factory=dict)


def validate_phone(value: str) -> bool:
    return bool(_PHONE.match(value)) and sum(c.isdigit() for c in value) >= 7


def validate_report(data: ReportInput, file_count: int, limits: Limits, now: datetime | None = None) -> ReportInput:
    """Return the cleaned input or raise ValidationFailed with every field's error. `now` (naive UTC):
    a given `received_at` after it is refused (a letter cannot arrive tomorrow)."""
    errors: dict[str, IntakeError] = {}
    if data.received_at is not None and now is not None and data.received_at > now + CLOCK_SLACK:
        errors["received_at"] = ReceivedInFuture(now=f"{local_datetime(now):%Y-%m-%d %H:%M}")
    text = clean_text(data.text)
    if data.channel == "email":  # a mail is taken whatever its length; the original .eml is kept
        text = text[:limits.max_text] or "-"
    if len(text) < limits.min_text and data.channel != "email":
        errors["text"] = TextTooShort(min=limits.min_text, length=len(text))
    elif len(text) > limits.max_text:
        errors["text"] = TextTooLong(max=limits.max_text, length=len(text))
    lines = {}
    for name, limit in LINE_LIMITS.items():
        value = clean_line(getattr(data, name) or "")
        if len(value) > limit:
            errors[name] = FieldTooLong(max=limit)
        lines[name] = value
    if data.channel not in CHANNELS:
        errors["channel"] = FieldRequired()
    if not data.anonymous:
        if not lines["reporter_name"]:
            errors["reporter_name"] = FieldRequired()
        if not lines["reporter_phone"]:
            errors["reporter_phone"] = FieldRequired()
        elif "reporter_phone" not in errors and not validate_phone(lines["reporter_phone"]):
            errors["reporter_phone"] = InvalidPhone()
    if lines["reporter_email"] and "reporter_email" not in errors:
        try:
            # A mail's sender is never looked up in DNS: their mail arrived, and a report is taken whatever
            # the sender's domain does (deliverability matters only for addresses people type for us to write to).
            checked = validate_email(lines["reporter_email"],
                                     check_deliverability=limits.check_deliverability and data.channel != "email")
            lines["reporter_email"] = checked.normalized
        except EmailNotValidError:
            errors["reporter_email"] = InvalidEmail()
    if not data.consent:
        errors["consent"] = ConsentMissing()
    if file_count > limits.max_files:
        errors["files"] = TooManyFiles(max=limits.max_files)
    if errors:
        raise ValidationFailed(errors)
    if data.anonymous and data.channel != "email":  # anonymous keeps no identity, whatever was typed
        # (a mail's sender address is kept for replies even when the sender gives no name)
        lines.update(reporter_name="", reporter_phone="", reporter_email="")
    return replace(data, text=text, **lines)
