"""Reporter identity encrypted at rest with IDENTITY_KEY (Fernet: AES-128-CBC + HMAC-SHA256)."""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import asdict, dataclass

from cryptography.fernet import Fernet, MultiFernet


@dataclass(frozen=True)
class Identity:
    name: str = ""
    phone: str = ""
    email: str = ""

    def is_empty(self) -> bool:
        return not (self.name or self.phone or self.email)


class IdentityCipher:
    """Encrypts with the first key, decrypts with any (for rotation: new key first, old after). Subkeys
    are derived from the oldest key, so that receipts and signed mail ids outlive a rotation."""

    def __init__(self, *keys: str):
        self._fernet = MultiFernet([Fernet(k) for k in keys])
        self._root = keys[-1].encode("ascii")

    def encrypt(self, identity: Identity) -> bytes:
        return self._fernet.encrypt(json.dumps(asdict(identity), ensure_ascii=False).encode("utf-8"))

    def decrypt(self, token: bytes) -> Identity:
        return Identity(**json.loads(self._fernet.decrypt(token)))

    def encrypt_json(self, data: dict) -> bytes:
        return self._fernet.encrypt(json.dumps(data, ensure_ascii=False).encode("utf-8"))

    def decrypt_json(self, token: bytes) -> dict:
        return json.loads(self._fernet.decrypt(token))

    def derive(self, label: bytes) -> bytes:
        """A subkey for another purpose (receipt hashing), independent of the encryption key's use."""
        return hmac.new(self._root, label, hashlib.sha256).digest()

    def rotate(self, token: bytes) -> bytes:
        """The same plaintext encrypted under the first key (fails if no key opens it)."""
        return self._fernet.rotate(token)
