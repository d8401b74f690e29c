"""Sealing a person's Kupe key at rest: AES-GCM per grant, under a key derived from KUPE_STATE_SECRET.

The state store (memory, SQLite or Redis) only ever holds the ciphertext. The grant id is bound in
as associated data, so a sealed key copied onto another grant's record does not open. ``Signer`` tags
what the server hands out instead of storing it (registered client ids, their secrets).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["Sealer", "Signer"]

_INFO = b"kupe-app-mcp/oauth/grant-key/v1"


class Sealer:
    """Seals and opens Kupe keys; every replica with the same state secret derives the same key."""

    def __init__(self, secret: bytes) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret)
        self._aead = AESGCM(key)

    def seal(self, grant_id: str, plaintext: str) -> str:
        """``nonce || ciphertext`` as URL-safe base64 (a fresh 96-bit nonce each time)."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), grant_id.encode())
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, grant_id: str, sealed: str) -> str | None:
        """The plaintext, or None when the record was tampered with or sealed under another secret."""
        try:
            raw = base64.urlsafe_b64decode(sealed.encode())
            return self._aead.decrypt(raw[:12], raw[12:], grant_id.encode()).decode()
        except (InvalidTag, ValueError):
            return None

    def __repr__(self) -> str:
        return "Sealer()"


class Signer:
    """HMAC-SHA256 tags under a key derived from KUPE_STATE_SECRET for one ``purpose`` (each purpose its own key)."""

    def __init__(self, secret: bytes, purpose: str) -> None:
        info = f"kupe-app-mcp/oauth/{purpose}/v1".encode()
        self._key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)

    def tag(self, data: str) -> str:
        return hmac.new(self._key, data.encode(), hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return "Signer()"
