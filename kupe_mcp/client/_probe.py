"""The start-up check: is ``KUPE_BASE_URL`` really Kupe, and does it accept the credentials?

A wrong base URL or key otherwise looks fine until the first tool call (MCP's ``initialize``
never reaches Kupe), and that call then reads as "404: check the id". The check asks
``GET /health`` (no credentials) and ``GET /api/v1/me``: a host where neither answers as
Kupe does is not Kupe; a 401 from ``/me`` is a refused key. What it finds is logged at once
and, while it stands, is the answer to every request (so the first tool result says it).
A connection failure proves nothing about the URL or key (the network may be down a
moment) and is only logged; a problem found is checked again after ``recheck_s``.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import anyio

from kupe_mcp.errors import (
    AuthenticationFailed,
    KupeAPIError,
    KupeConnectionError,
    KupeError,
    NotFound,
    UnexpectedResponse,
)
from kupe_mcp.text.redact import redact_url

__all__ = ["BackendCheck", "Probed", "probing"]

logger = logging.getLogger("kupe_mcp.client")

# Set while the check's own requests are in flight, so they are not held behind the check itself.
probing: contextvars.ContextVar[bool] = contextvars.ContextVar("kupe_probing", default=False)


class Probed(Protocol):
    """What the check needs of the client: its URL and two reads. A protocol, so this module imports nothing above
    it (the client imports the check, and the check must not import the client back)."""

    @property
    def base_url(self) -> str: ...

    def health(self) -> Awaitable[Any]: ...

    def me(self) -> Awaitable[Any]: ...


class BackendCheck:
    """Runs the check once (single flight), remembers a problem, and checks again once it is stale."""

    def __init__(
        self, client: Probed, *, recheck_s: float = 30.0, clock: Callable[[], float] = anyio.current_time
    ) -> None:
        self._client = client
        self._recheck_s = recheck_s
        self._clock = clock
        self._lock = anyio.Lock()
        self._checked_at: float | None = None
        self._problem: str | None = None

    async def problem(self) -> str | None:
        """The sentence saying what is wrong with the URL or credentials, or None when Kupe answers as Kupe."""
        async with self._lock:
            stale = self._problem is not None and self._clock() - (self._checked_at or 0.0) >= self._recheck_s
            if self._checked_at is None or stale:
                token = probing.set(True)
                try:
                    self._problem = await self._check()
                finally:
                    probing.reset(token)
                self._checked_at = self._clock()
            return self._problem

    async def _check(self) -> str | None:
        where = redact_url(self._client.base_url)
        try:
            await self._client.health()
            health = None
        except KupeConnectionError as exc:
            logger.warning("Start-up check: %s", exc)
            return None
        except (NotFound, UnexpectedResponse, KupeAPIError) as exc:
            health = _answered(exc)
        try:
            me = await self._client.me()
        except AuthenticationFailed as exc:
            return _logged(
                f"Kupe at {where} refused the credentials ({exc.status}: {exc.detail or 'no detail'}): "
                "set KUPE_API_KEY (or KUPE_BEARER_TOKEN) to a valid, unrevoked key and restart kupe-app-mcp."
            )
        except KupeConnectionError as exc:
            logger.warning("Start-up check: %s", exc)
            return None
        except (NotFound, UnexpectedResponse) as exc:
            if health is None:  # /health answers as Kupe does: a deployment without /me, not a wrong host
                logger.warning("Start-up check: %s", exc)
                return None
            return _logged(
                f"KUPE_BASE_URL {where} is not Kupe's API: GET /health answered {health} and GET /api/v1/me "
                f"answered {_answered(exc)}: set KUPE_BASE_URL to https://api.kupe.in (or your Kupe "
                "deployment's API origin) and restart kupe-app-mcp."
            )
        except KupeError as exc:  # 403, 5xx...: Kupe answered as Kupe; the tools will say what it said
            logger.warning("Start-up check: %s", exc)
            return None
        logger.info("Start-up check: Kupe at %s answers and accepts the credentials (%s).", where, me.auth or "auth")
        return None


def _answered(exc: KupeError) -> str:
    if isinstance(exc, UnexpectedResponse):
        return f"HTTP {exc.status} with a body that is not Kupe's JSON"
    if isinstance(exc, KupeAPIError):
        return f"HTTP {exc.status}"
    return type(exc).__name__


def _logged(problem: str) -> str:
    logger.error("Start-up check: %s", problem)
    return problem
