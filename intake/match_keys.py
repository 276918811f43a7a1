"""Match keys: what lets the service find the reports that belong together (casework.related) with one
indexed look-up on arrival, never a scan of all reports. One row per (kind, key, report):
  - "reporter": a keyed hash (HMAC-SHA256 under a subkey of IDENTITY_KEY) of the reporter's normalised
    phone number or e-mail address, written by intake with the report. The identity itself is never
    kept here and a key is never shown; one row per identity key (current and previous, `derive_all`),
    so a report filed after an `identity rotate` still finds those filed before it;
  - "person", "inst", "band": written by casework.related when the report is routed (the accused
    person's and institution's name keys, the LSH band keys of its text)."""
from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

from sqlalchemy import ForeignKey, Index, String, delete, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base

REPORTER_LABEL = b"xlt-reporter-match v1"
KEY_CHARS = 32


class ReportMatchKey(Base):
    __tablename__ = "report_match_keys"

    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)

    __table_args__ = (Index("ix_report_match_keys_report", "report_id", "kind"),)


def normalise_phone(phone: str | None) -> str:
    """Digits only, without a leading +86 / 0086 (a mobile or a landline with its area code)."""
    digits = "".join(c for c in unicodedata.normalize("NFKC", phone or "") if c.isdigit())
    digits = re.sub(r"^(?:0086|86)(?=1\d{10}$)", "", digits)
    return digits if len(digits) >= 5 else ""


def normalise_email(email: str | None) -> str:
    address = unicodedata.normalize("NFKC", email or "").strip().lower()
    return address if "@" in address else ""


def reporter_keys(subkeys: list[bytes], phone: str | None, email: str | None) -> list[str]:
    """The keyed hashes of a reporter's phone and e-mail, under each subkey (current first)."""
    values = [f"phone:{p}" for p in [normalise_phone(phone)] if p] + [f"email:{e}" for e in [normalise_email(email)] if e]
    return list(dict.fromkeys(hmac.new(k, v.encode("utf-8"), hashlib.sha256).hexdigest()[:KEY_CHARS]
                              for v in values for k in subkeys))


def reporter_rows(subkeys: list[bytes], report_id: int, phone: str | None, email: str | None) -> list[dict]:
    return [{"kind": "reporter", "key": key, "report_id": report_id} for key in reporter_keys(subkeys, phone, email)]


def rekey_reporter(session: Session, subkeys: list[bytes], report_id: int, phone: str | None, email: str | None) -> None:
    """The reporter keys of one report again, under the keys listed now (`identity rotate`): once the old
    key is removed, reports filed before the rotation are still found as the same reporter's."""
    session.execute(delete(ReportMatchKey).where(ReportMatchKey.report_id == report_id,
                                                 ReportMatchKey.kind == "reporter"))
    rows = reporter_rows(subkeys, report_id, phone, email)
    if rows:
        session.execute(insert(ReportMatchKey), rows)
