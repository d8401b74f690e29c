"""Sealing a person's Kupe key at rest: AES-GCM per grant, under a key derived from KUPE_STATE_SECRET.

The state store (memory, SQLite or Redis) only ever holds the ciphertext. The grant id is bound in
as associated data, so a sealed key copied onto another grant's record does not open. ``Signer`` tags
what the server hands out instead of storing it (registered client ids, their secrets).

Both take the secrets in use, current first (``StateKeys.all_secrets``): the first seals and tags, every one
opens and verifies, so rotating KUPE_STATE_SECRET (the old one in KUPE_STATE_SECRET_PREVIOUS) signs nobody out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["Sealer", "Signer"]

_INFO = b"kupe-app-mcp/oauth/grant-key/v1"


class Sealer:
    """Seals and opens Kupe keys; every replica with the same state secret derives the same key."""

    def __init__(self, secrets: Sequence[bytes]) -> None:
        self._aeads = [AESGCM(_derive(secret, _INFO)) for secret in secrets]

    def seal(self, grant_id: str, plaintext: str) -> str:
        """``nonce || ciphertext`` as URL-safe base64 (a fresh 96-bit nonce each time), under the current secret."""
        nonce = os.urandom(12)
        sealed = self._aeads[0].encrypt(nonce, plaintext.encode(), grant_id.encode())
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, grant_id: str, sealed: str) -> str | None:
        """The plaintext, or None when the record was tampered with or sealed under a secret no longer in use."""
        try:
            raw = base64.urlsafe_b64decode(sealed.encode())
        except ValueError:
            return None
        for aead in self._aeads:
            try:
                return aead.decrypt(raw[:12], raw[12:], grant_id.encode()).decode()
            except (InvalidTag, ValueError):
                continue
        return None

    def __repr__(self) -> str:
        return "Sealer()"


class Signer:
    """HMAC-SHA256 tags under a key derived from KUPE_STATE_SECRET for one ``purpose`` (each purpose its own key)."""

    def __init__(self, secrets: Sequence[bytes], purpose: str) -> None:
        info = f"kupe-app-mcp/oauth/{purpose}/v1".encode()
        self._keys = [_derive(secret, info) for secret in secrets]

    def tag(self, data: str, generation: int = 0) -> str:
        """The tag under the current secret, or under the ``generation``-th secret in use (0 = current)."""
        return hmac.new(self._keys[generation], data.encode(), hashlib.sha256).hexdigest()

    def generation_of(self, data: str, tag: str, length: int) -> int | None:
        """Which secret in use (0 = current) made ``tag`` (the first ``length`` characters) for ``data``, or None."""
        for generation in range(len(self._keys)):
            if hmac.compare_digest(tag.encode(), self.tag(data, generation)[:length].encode()):
                return generation
        return None

    def __repr__(self) -> str:
        return "Signer()"


def _derive(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)
