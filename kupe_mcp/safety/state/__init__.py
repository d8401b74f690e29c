"""Where call-safety state lives: approvals and tokens, hourly caps, repeat windows.

One interface (``StateStore``), three implementations, chosen from ``KUPE_STATE_URL`` in one
place (``open_store``):

* ``memory:``: in the process (the HTTP default; one replica only).
* ``sqlite:///path/to/file``: a file (the stdio default, in the user's state directory,
  so a client relaunching the server does not reset who was called a minute ago).
* ``redis://host:port/db`` (or ``rediss://``): shared by every replica; needs the
  ``redis`` package (``pip install 'kupe-app-mcp[redis]'``) and ``KUPE_STATE_SECRET``.

Every operation the safety flow relies on is atomic in every implementation:

* ``put`` / ``put_new`` / ``get`` / ``take``: small JSON values with an expiry, per tenant.
  ``take`` reads and deletes in one step, so a single-use approval or token is redeemed
  at most once even when three replicas try at the same instant; ``put_new`` sets a value
  only if none is there (an in-flight marker or a lock).
* ``recent`` / ``hold`` / ``settle`` / ``release``: the slots calls hold for an hour (the
  sliding-window caps and the repeat window). ``hold`` reads the tenant's and everyone's
  slots, runs a pure check over them (``kupe_mcp.safety.rules`` rules) and adds the new slot,
  as one atomic step (Redis: a compare-and-add script, see ``_redis``): two replicas cannot both squeeze under a cap.

Approvals (``kupe_mcp.safety.approvals.StateApprovals``) are values like any other: a record per
approval, answered and redeemed with ``take`` (single use, any replica), whose ``events`` and
``outcome`` are the audit ``list_call_approvals`` reads. Keys are per tenant: one tenant can neither
read nor evict another's.

A store that cannot be reached raises ``StateUnavailable`` (a ``CallRefused``): the flow
refuses with that sentence and nothing is dialled.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from kupe_mcp.errors import ConfigError
from kupe_mcp.safety.clock import from_json, to_json
from kupe_mcp.safety.rules import Recent, Slot
from kupe_mcp.text import redact as _redact

__all__ = [
    "SLOT_TTL",
    "StateKeys",
    "StateStore",
    "default_state_url",
    "open_store",
    "redacted_url",
]

SLOT_TTL = timedelta(hours=1)
"""How long a slot counts (the sliding window of the hourly caps; the repeat window is never longer)."""

Check = Callable[[Recent], None]


def slot_to_json(slot: Slot) -> dict[str, Any]:
    return {
        "id": slot.id,
        "at": to_json(slot.at),
        "count": slot.count,
        "numbers": list(slot.numbers),
        "ref": slot.ref,
        "state": slot.state,
    }


def slot_from_json(raw: Mapping[str, Any]) -> Slot:
    return Slot(
        id=str(raw["id"]),
        at=from_json(raw["at"]),  # epoch seconds (a number, or text in Redis) before ISO 8601
        count=int(raw["count"]),
        numbers=tuple(raw["numbers"]),
        ref=str(raw["ref"]),
        state=str(raw["state"]),
    )


def tenant_key(tenant: str) -> str:
    """A tenant id as it appears in keys and rows: hashed, so no id can shape another tenant's key."""
    return hashlib.sha256(tenant.encode()).hexdigest()[:32]


class StateStore(ABC):
    """Call-safety state, per tenant; see the module docstring for what each operation guarantees.

    ``now`` is always passed in (the guards' clock), so every expiry is testable; stores may
    also set real expiries (Redis TTLs) as a backstop for cleanup.
    """

    shared: bool = False
    """True when other processes see the same state (replicas): KUPE_STATE_SECRET is then required."""

    def __init__(self, *, retention: timedelta = timedelta(days=30)) -> None:
        self.retention = retention

    @abstractmethod
    def describe(self) -> str:
        """Where the state lives, for the start-up log: never a password."""

    # -- single-use values ---------------------------------------------------------------

    @abstractmethod
    async def put(self, tenant: str, key: str, value: dict[str, Any], *, expires: datetime) -> None:
        """Set ``key`` to ``value`` until ``expires``."""

    @abstractmethod
    async def put_new(self, tenant: str, key: str, value: dict[str, Any], *, expires: datetime, now: datetime) -> bool:
        """Set ``key`` only if it holds nothing live; True when this call set it."""

    @abstractmethod
    async def get(self, tenant: str, key: str, *, now: datetime) -> dict[str, Any] | None:
        """The live value of ``key``, or None."""

    @abstractmethod
    async def take(self, tenant: str, key: str, *, now: datetime) -> dict[str, Any] | None:
        """Read and delete ``key`` in one atomic step; None when absent or expired."""

    # -- slots (caps and the repeat window) ------------------------------------------------

    @abstractmethod
    async def recent(self, tenant: str, *, now: datetime, everyone: bool = True) -> Recent:
        """The tenant's slots of the last hour, and everyone's (time, count) for the operator cap.

        ``everyone=False``: the caller's rules do not read ``Recent.everyone`` (no
        KUPE_MAX_CALLS_PER_HOUR_TOTAL), so a store may leave it empty and skip reading it.
        """

    @abstractmethod
    async def hold(self, tenant: str, slot: Slot, check: Check, *, now: datetime, everyone: bool = True) -> None:
        """Atomically: read ``recent``, run ``check`` on it (it raises to refuse), add ``slot``.

        The slot always counts for everyone; ``everyone=False`` (as for ``recent``) only says the
        check does not judge everyone's slots, so a rival's hold for another tenant need not conflict.
        """

    @abstractmethod
    async def settle(self, tenant: str, slot_id: str, *, ref: str, state: str) -> None:
        """Record what became of a held slot (placed, or outcome unknown): it keeps counting."""

    @abstractmethod
    async def release(self, tenant: str, slot_id: str) -> None:
        """Give a slot back: Kupe certainly did not dial."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook: most stores hold nothing to close
        """Release connections; the server calls it when it stops."""


@dataclass(frozen=True)
class StateKeys:
    """Keys derived from ``KUPE_STATE_SECRET`` (or a random per-process secret when it is unset).

    Tokens are stored under an HMAC of their value, so a copy of the store holds nothing
    redeemable; the SDK's ``requestState`` is sealed with a key derived from the same secret,
    so any replica can resume another's elicitation round.

    ``previous`` are secrets being rotated out (``KUPE_STATE_SECRET_PREVIOUS``): nothing is written under
    them, but what was written under them is still found (``token_ids``, ``digests``), so a rotation does not
    forget an idempotency key (a retry would dial again), a confirmation token or an OAuth grant.
    """

    secret: bytes
    from_operator: bool
    previous: tuple[bytes, ...] = ()

    @classmethod
    def from_secret(cls, secret: str | None, previous: tuple[str, ...] = ()) -> StateKeys:
        if secret:
            return cls(secret.encode(), True, tuple(p.encode() for p in previous if p and p != secret))
        return cls(os.urandom(32), False)

    @property
    def all_secrets(self) -> tuple[bytes, ...]:
        """The current secret first, then those being rotated out."""
        return (self.secret, *self.previous)

    def token_id(self, token: str) -> str:
        return self.token_ids(token)[0]

    def token_ids(self, token: str) -> tuple[str, ...]:
        """Where ``token`` may be stored: under the current secret first, then under each previous one."""
        return tuple(_hmac_id(key, f"token:{token}") for key in self.all_secrets)

    def digest(self, kind: str, value: str) -> str:
        """A keyed digest of a secret (an approval card's nonce): what the store keeps in its place."""
        return self.digests(kind, value)[0]

    def digests(self, kind: str, value: str) -> tuple[str, ...]:
        """``digest`` under the current secret first, then under each previous one (for lookups only)."""
        return tuple(_hmac_id(key, f"{kind}:{value}") for key in self.all_secrets)

    def request_state_keys(self) -> list[bytes]:
        """The SDK's ``requestState`` keys: the first seals, every one opens (a round begun before a rotation)."""
        return [hmac.new(key, b"kupe-app-mcp/request-state", hashlib.sha256).digest() for key in self.all_secrets]

    @staticmethod
    def new_token() -> str:
        token = secrets.token_urlsafe(24)
        _redact.remember(token)  # shown to the client once; redacted from every log line
        return token

    def __repr__(self) -> str:
        return f"StateKeys(from_operator={self.from_operator}, previous={len(self.previous)})"


def _hmac_id(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:40]


def redacted_url(url: str) -> str:
    """``url`` without a password (``redis://:secret@host`` -> ``redis://***@host``)."""
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit((parts.scheme, f"***@{host}{port}", parts.path, parts.query, parts.fragment))


def default_state_url(transport: Literal["stdio", "http"], environ: Mapping[str, str]) -> str:
    """stdio: a SQLite file in ``$XDG_STATE_HOME`` (or ``~/.local/state``)/kupe-app-mcp; HTTP: ``memory:``."""
    if transport == "http":
        return "memory:"
    base = environ.get("XDG_STATE_HOME", "").strip()
    root = Path(base) if base else Path.home() / ".local" / "state"
    return f"sqlite://{root / 'kupe-app-mcp' / 'call-safety.sqlite3'}"


def open_store(url: str, *, secret_set: bool, retention_days: float = 30.0) -> StateStore:
    """The store ``KUPE_STATE_URL`` names: the one place a URL becomes an implementation.

    Raises ConfigError for an unknown scheme, a shared store without KUPE_STATE_SECRET, or
    ``redis://`` without the ``redis`` package.
    """
    retention = timedelta(days=retention_days)
    value = url.strip()
    if value in {"memory:", "memory://", "memory"}:
        from kupe_mcp.safety.state._memory import MemoryStore

        return MemoryStore(retention=retention)
    if value.startswith("sqlite://"):
        path = value[len("sqlite://") :]
        if not path:
            raise ConfigError("KUPE_STATE_URL=sqlite:// names no file: use e.g. sqlite:///var/lib/kupe/state.sqlite3.")
        from kupe_mcp.safety.state._sqlite import SqliteStore

        return SqliteStore(Path(path).expanduser(), retention=retention)
    if value.startswith(("redis://", "rediss://", "unix://")):
        if not secret_set:
            raise ConfigError(
                "KUPE_STATE_URL is shared (redis) but KUPE_STATE_SECRET is not set: set the same random secret "
                "(32+ characters) on every replica."
            )
        try:
            from kupe_mcp.safety.state._redis import RedisStore
        except ImportError:
            raise ConfigError(
                "KUPE_STATE_URL is redis:// but the redis package is not installed: pip install 'kupe-app-mcp[redis]'."
            ) from None
        return RedisStore(value, retention=retention)
    raise ConfigError(
        f"KUPE_STATE_URL={redacted_url(value)!r} is not a state store: use memory:, sqlite:///path/to/file "
        "or redis://host:6379/0."
    )


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)
