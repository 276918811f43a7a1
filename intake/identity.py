"""Reporter identity encrypted at rest with IDENTITY_KEY (Fernet: AES-128-CBC + HMAC-SHA256)."""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import asdict, dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


@dataclass(frozen=True)
class Identity:
    name: str = ""
    phone: str = ""
    email: str = ""

    def is_empty(self) -> bool:
        return not (self.name or self.phone or self.email)


class IdentityCipher:
    """Encrypts with the first key, decrypts with any (for rotation: new key first, old after).
    Subkeys for receipts and signed mail ids come from every key, current first (`derive_all`): new
    values use the current key's, old ones are still checked under the previous keys' and re-keyed as
    they are next used, so an old key can be dropped once nothing depends on it (`identity rotate --status`)."""

    def __init__(self, *keys: str):
        self._keys = tuple(k.encode("ascii") for k in keys)
        self._current = Fernet(keys[0])
        self._fernet = MultiFernet([Fernet(k) for k in keys])
        self._root = self._keys[-1]

    @property
    def has_previous(self) -> bool:
        return len(self._keys) > 1

    def under_current_key(self, token: bytes) -> bool:
        """The token opens with the current key (not only with a previous one)."""
        try:
            self._current.decrypt(token)
        except InvalidToken:
            return False
        return True

    def encrypt(self, identity: Identity) -> bytes:
        return self._fernet.encrypt(json.dumps(asdict(identity), ensure_ascii=False).encode("utf-8"))

    def decrypt(self, token: bytes) -> Identity:
        return Identity(**json.loads(self._fernet.decrypt(token)))

    def encrypt_json(self, data: dict) -> bytes:
        return self._fernet.encrypt(json.dumps(data, ensure_ascii=False).encode("utf-8"))

    def decrypt_json(self, token: bytes) -> dict:
        return json.loads(self._fernet.decrypt(token))

    def derive(self, label: bytes) -> bytes:
        """A subkey from the OLDEST key listed: it stops working when that key is removed. Receipts and
        mail signatures use `derive_all` instead, which survives the removal."""
        return hmac.new(self._root, label, hashlib.sha256).digest()

    def derive_all(self, label: bytes) -> list[bytes]:
        """The subkey `label` under each key, current first (for values that are re-keyed on use)."""
        return [hmac.new(key, label, hashlib.sha256).digest() for key in self._keys]

    def rotate(self, token: bytes) -> bytes:
        """The same plaintext encrypted under the first key (fails if no key opens it)."""
        return self._fernet.rotate(token)
