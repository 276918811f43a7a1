"""Receipt codes: 16 digits from a CSPRNG, shown 4-4-4-4, stored only as a keyed hash.

The stored hash is HMAC-SHA256 under the receipt key (not in the database), so the lookup is one
indexed equality query and a stolen database alone yields nothing: without the key no guess can even
be tested. A slow hash adds nothing here: it protects secrets people choose, while a receipt is
random, and whoever holds the key (by default derived from IDENTITY_KEY) can read the identities
anyway (SECURITY.md).
Receipts issued before migration 0008 are stored as scrypt under the same key; `legacy_hash`
still verifies them and the follow-up look-up re-stores them as HMAC on first use.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from typing import Sequence

RECEIPT_DIGITS = 16
_NON_DIGITS = re.compile(r"[\s\-_.·—–]+")
_DIGIT_RUN = re.compile(r"\d[\d\s\-_.·—–]{14,40}\d")


def new_receipt() -> str:
    return f"{secrets.randbelow(10 ** RECEIPT_DIGITS):0{RECEIPT_DIGITS}d}"


def format_receipt(digits: str) -> str:
    return "-".join(digits[i:i + 4] for i in range(0, len(digits), 4))


def parse_receipt(value: object) -> str | None:
    """Accept 1234-5678-9012-3456, spaces, full-width digits; return the 16 digits or None."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    text = _NON_DIGITS.sub("", unicodedata.normalize("NFKC", value))
    if len(text) != RECEIPT_DIGITS or not text.isascii() or not text.isdigit():
        return None
    return text


def receipt_candidates(text: str, limit: int = 5) -> list[str]:
    """16-digit runs (with separators) found in free text, to refuse messages that quote the receipt."""
    found: list[str] = []
    for match in _DIGIT_RUN.finditer(unicodedata.normalize("NFKC", text)):
        digits = _NON_DIGITS.sub("", match.group())
        for i in range(0, max(len(digits) - RECEIPT_DIGITS, 0) + 1):
            chunk = digits[i:i + RECEIPT_DIGITS]
            if len(chunk) == RECEIPT_DIGITS and chunk.isdigit() and chunk not in found:
                found.append(chunk)
            if len(found) >= limit:
                return found
    return found


class _ReceiptKey:
    def __init__(self, key: bytes):
        self.mac_key = hmac.new(key, b"xlt-receipt-hmac-v2", hashlib.sha256).digest()
        self.salt = hmac.new(key, b"xlt-receipt-salt-v1", hashlib.sha256).digest()
        self.key_id = hmac.new(key, b"xlt-receipt-key-id", hashlib.sha256).hexdigest()[:16]  # names, never reveals


def redact_receipts(text: str, mark: str = "[查询码已隐去]") -> str:
    """The text with every receipt-shaped run of digits hidden (a reply that quotes our acknowledgement
    quotes its receipt): for text that people other than the reporter read."""
    return _DIGIT_RUN.sub(lambda m: mark if sum(c.isdecimal() for c in m.group()) >= RECEIPT_DIGITS else m.group(),
                          text)


class ReceiptHasher:
    """Hashes under the current receipt key; `previous` keys (after an identity-key rotation) are still
    tried by the look-up, which re-stores a receipt found under one of them (intake.followup). Each stored
    hash records the id of its key (reports.receipt_key_id; NULL for rows from before migration 0013, which
    were hashed under the oldest key listed), so `identity rotate --status` can count what is left."""

    def __init__(self, key: bytes, legacy_n: int = 2 ** 14, previous: Sequence[bytes] = ()):
        self._keys = [_ReceiptKey(key), *(_ReceiptKey(k) for k in previous)]
        self._legacy_n = legacy_n

    @property
    def key_id(self) -> str:
        return self._keys[0].key_id

    @property
    def previous_key_ids(self) -> list[str]:
        return [k.key_id for k in self._keys[1:]]

    @property
    def unversioned_key_id(self) -> str:
        """The key of rows stored before key ids were recorded: the oldest one listed (what was used then)."""
        return self._keys[-1].key_id

    def hash(self, digits: str) -> bytes:
        return self._mac(self._keys[0], digits)

    def previous_hashes(self, digits: str) -> list[bytes]:
        """The hash of `digits` under each previous key (empty when there is none)."""
        return [self._mac(k, digits) for k in self._keys[1:]]

    def legacy_hash(self, digits: str) -> bytes:
        """The scrypt hash receipts were stored as before migration 0008 (RECEIPT_SCRYPT_N)."""
        return self._scrypt(self._keys[0], digits)

    def legacy_hashes(self, digits: str) -> list[bytes]:
        """The scrypt hash under every key, current first."""
        return [self._scrypt(k, digits) for k in self._keys]

    @staticmethod
    def _mac(key: _ReceiptKey, digits: str) -> bytes:
        return hmac.new(key.mac_key, digits.encode("ascii"), hashlib.sha256).digest()

    def _scrypt(self, key: _ReceiptKey, digits: str) -> bytes:
        return hashlib.scrypt(digits.encode("ascii"), salt=key.salt, n=self._legacy_n, r=8, p=1, dklen=32)
