"""Which mail may speak for a reporter. A mail lands in a report's thread as the reporter's message only
when it answers our own signed Message-IDs of that report's conversation (and no other report's) AND comes
from that report's own email sender. Anything else that looks like a reply — a reference quoted in the
subject, a signed id from another sender, ids of two reports, an id of ours with a broken signature — is
held for a clerk (status "unmatched"), never put in the thread.

What the sender can observe does not depend on whether their address is a reporter's: neither path
answers, the identity is decrypted (once) whenever the mail carries a valid signed id, whoever sent it,
and the held mail's recorded reason says only what the mail itself pointed to."""
from __future__ import annotations

import hmac
import re
import unicodedata
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.identity import IdentityCipher
from intake.mailparse import ParsedMail
from intake.models import Report
from intake.outbox import report_of_message_id

REFERENCE = re.compile(r"\b[A-Z]{2,8}-\d{4}-\d{6}\b")
_OURS_IN_SHAPE = re.compile(r"<xlt\.[^<>\s]*>", re.IGNORECASE)  # what our Message-IDs look like, signed or not


@dataclass(frozen=True)
class ReplyVerdict:
    report: Report | None = None  # put it in this report's thread as the reporter's message
    looks_like_reply: bool = False  # otherwise: hold it for a clerk (True) or take it as a new report
    points_to: tuple[str, ...] = ()  # the references the mail itself names or answers (for the clerk)
    signals: tuple[str, ...] = ()  # "message-id", "subject": how it looked like a reply


def normalised_address(value: str) -> str:
    """An address as compared: the normalised form of email-validator (no DNS), case-folded; '' if empty."""
    value = unicodedata.normalize("NFKC", (value or "").strip().strip("<>").strip())
    if not value:
        return ""
    try:
        value = validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        pass
    return value.casefold()


def same_address(a: str, b: str) -> bool:
    """Compared in constant time for equal lengths; two empty addresses are never the same sender."""
    left, right = normalised_address(a).encode("utf-8"), normalised_address(b).encode("utf-8")
    return bool(left) and hmac.compare_digest(left, right)


def judge_reply(session: Session, cipher: IdentityCipher, msgid_key: bytes, mail: ParsedMail,
                previous_keys: tuple[bytes, ...] = ()) -> ReplyVerdict:
    """previous_keys: after a rotation, replies to mails signed before it still count as ours."""
    checked = [(mid, report_of_message_id(msgid_key, mid, *previous_keys)) for mid in mail.in_reply_to]
    broken = any(found is None and _OURS_IN_SHAPE.fullmatch(mid.strip()) for mid, found in checked)
    report_ids = sorted({found for _mid, found in checked if found is not None})
    quoted = tuple(dict.fromkeys(REFERENCE.findall(mail.subject)))
    signals = tuple(name for name, present in (("message-id", bool(report_ids) or broken), ("subject", bool(quoted)))
                    if present)
    if not signals:
        return ReplyVerdict()
    answered = [session.get(Report, i) for i in report_ids]
    answered = [r for r in answered if r is not None]
    points_to = tuple(dict.fromkeys([r.reference for r in answered] + list(quoted)))
    held = ReplyVerdict(looks_like_reply=True, points_to=points_to, signals=signals)
    if broken or len(report_ids) != 1 or len(answered) != 1:
        return held
    report = answered[0]
    if any(reference != report.reference for reference in quoted):  # the subject names another report
        return held
    sender = _report_sender(cipher, report)  # decrypted whoever sent the mail: no timing difference
    return ReplyVerdict(report=report, points_to=points_to, signals=signals) if same_address(mail.from_addr, sender) \
        else held


def _report_sender(cipher: IdentityCipher, report: Report) -> str:
    if report.identity is None:
        return ""
    return cipher.decrypt(report.identity.ciphertext).email


def report_by_reference(session: Session, reference: str) -> Report | None:
    """The report a person typed the reference of (spaces, lower case and full-width forms accepted)."""
    value = unicodedata.normalize("NFKC", reference or "").strip().upper().replace(" ", "")
    if not REFERENCE.fullmatch(value):
        return None
    return session.scalar(select(Report).where(Report.reference == value))
