"""Keys that core needs and the database must not hold: the audit trail's MAC key (HMAC-SHA256) and the
keyed hash of a user name typed at a failed login. Derived from the configured key strings with HMAC,
like intake's own subkeys (intake keeps its derivation; core may not import intake).

The keyring is every key that may have keyed an audit entry, the writing key first: AUDIT_KEY when set,
then AUDIT_KEY_PREVIOUS, then the keys derived from IDENTITY_KEY and each IDENTITY_KEY_PREVIOUS. So an
`identity rotate` (a new IDENTITY_KEY, the old one kept in IDENTITY_KEY_PREVIOUS) keeps every entry
verifiable; and once an old key is removed, its entries are still covered by the hash chain and by the
MAC of the first later entry under a key still present (core/audit.py)."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Mapping

AUDIT_LABEL = b"xlt-audit-chain-key v1"
KEY_ID_LABEL = b"xlt-audit-key-id v1"
LOGIN_NAME_LABEL = b"xlt-login-name v1"


def derive(root: bytes, label: bytes) -> bytes:
    """A subkey for one purpose: HMAC-SHA256(root, label)."""
    return hmac.new(root, label, hashlib.sha256).digest()


@dataclass(frozen=True)
class AuditKey:
    secret: bytes

    @property
    def key_id(self) -> str:
        """Names the key in each entry (so verify knows which to use) without revealing it."""
        return hmac.new(self.secret, KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]

    def mac(self, seq: int, digest: str) -> str:
        """The MAC of one entry: its number and its hash (which covers its content and every entry before)."""
        body = f"xlt-audit v1|{seq}|{digest}|{self.key_id}".encode("ascii")
        return hmac.new(self.secret, body, hashlib.sha256).hexdigest()

    def name_hash(self, name: str) -> str:
        """A keyed hash of a typed user name: equal names give equal hashes, the name itself is not kept."""
        return hmac.new(derive(self.secret, LOGIN_NAME_LABEL), name.strip().encode("utf-8"),
                        hashlib.sha256).hexdigest()[:16]


def audit_keyring(config: Mapping) -> tuple[AuditKey, ...]:
    """Every audit key of this configuration, the one that writes first; no duplicates."""
    roots = [k.encode("utf-8") for k in ([config.get("AUDIT_KEY") or ""] + list(config.get("AUDIT_KEY_PREVIOUS") or []))
             if k]
    roots += [k.encode("ascii") for k in [config["IDENTITY_KEY"], *(config.get("IDENTITY_KEY_PREVIOUS") or [])]]
    keys, seen = [], set()
    for root in roots:
        key = AuditKey(derive(root, AUDIT_LABEL))
        if key.key_id not in seen:
            seen.add(key.key_id)
            keys.append(key)
    return tuple(keys)
