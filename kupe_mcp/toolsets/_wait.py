"""Waiting for something on Kupe to finish: polling with backoff, progress in words, a deadline.

``wait_for_call`` and ``wait_for_batch`` share one loop. It reads the object, tells the
client where it stands through MCP progress notifications, and sleeps a little longer
each round (1 s growing to 10 s, jittered so many waiters do not poll in step) until
the object is in a final state or the deadline passes. Time comes from a ``Pacing``
the server carries, so tests move a fake clock instead of sleeping.

Cancellation is never caught here: anyio's cancellation is a BaseException, so a
cancelled wait stops at its current sleep or request and sends nothing more.
Kupe errors that may pass (timeouts, resets, 5xx, 429) are retried until the deadline;
a 4xx that will not pass (404 unknown id, 401, 403) ends the wait at once.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Generic, TypeVar

import anyio
from mcp.server.mcpserver import Context

from kupe_mcp.errors import KupeAPIError, KupeError
from kupe_mcp.text.untrusted import quoted

__all__ = [
    "FINAL_STATUSES",
    "Pacing",
    "WaitOutcome",
    "clock_words",
    "epoch_of",
    "is_final",
    "poll_until",
    "status_words",
]

logger = logging.getLogger("kupe_mcp.tools")

T = TypeVar("T")

FINAL_STATUSES = frozenset(
    {
        "completed",
        "complete",
        "finished",
        "done",
        "ended",
        "hangup",
        "hung_up",
        "failed",
        "failure",
        "error",
        "errored",
        "no_answer",
        "not_answered",
        "unanswered",
        "missed",
        "busy",
        "rejected",
        "declined",
        "unreachable",
        "canceled",
        "cancelled",
        "aborted",
        "stopped",
        "timeout",
        "timed_out",
        "expired",
        "voicemail",
    }
)
_RETRYABLE_4XX = frozenset({408, 425, 429})


_STATUS_WORD = re.compile(r"[a-z][a-z0-9_]{0,39}")


def _norm(status: object) -> str:
    return "_".join(str(status or "").strip().lower().replace("-", " ").split())


def is_final(status: object) -> bool:
    """Whether a call or batch status means it is over (liberal: every spelling Kupe or a carrier might use)."""
    return _norm(status) in FINAL_STATUSES


def status_words(status: object) -> str:
    """A status as a person would say it: ``in_progress`` -> ``in progress``.

    It goes into progress messages and our sentences, so anything but a short status word is shown quoted (data).
    """
    norm = _norm(status)
    if not norm:
        return "unknown"
    return norm.replace("_", " ") if _STATUS_WORD.fullmatch(norm) else quoted(status)


def clock_words(seconds: float) -> str:
    """``42`` -> ``0:42``; ``3725`` -> ``1:02:05``."""
    whole = max(int(seconds), 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def epoch_of(stamp: object) -> float | None:
    """Epoch seconds of an ISO 8601 timestamp (naive means UTC), or None."""
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


@dataclass
class Pacing:
    """How a wait spends time; tests inject ``sleep``, ``clock`` and ``wall`` (and a seeded ``rng``).

    ``clock`` measures the wait; ``wall`` (epoch seconds) is compared with Kupe's timestamps.
    """

    sleep: Callable[[float], Awaitable[None]] = anyio.sleep
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    first_s: float = 1.0
    max_s: float = 10.0
    growth: float = 1.5
    jitter: float = 0.2
    rng: random.Random = field(default_factory=random.Random)

    def delays(self) -> Iterator[float]:
        """1 s, 1.5 s, 2.25 s … up to 10 s, each moved by up to ±20 %."""
        delay = self.first_s
        while True:
            yield max(delay * (1 + self.rng.uniform(-self.jitter, self.jitter)), 0.0)
            delay = min(delay * self.growth, self.max_s)


@dataclass
class WaitOutcome(Generic[T]):
    """The last state read, whether it was final, and how long the wait took."""

    last: T
    done: bool
    waited_s: float


def _fatal(exc: KupeError) -> bool:
    return isinstance(exc, KupeAPIError) and 400 <= exc.status < 500 and exc.status not in _RETRYABLE_4XX


async def poll_until(
    ctx: Context,
    pacing: Pacing,
    *,
    timeout_s: float,
    read: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    describe: Callable[[T, float], str],
) -> WaitOutcome[T]:
    """Read until ``done`` or the deadline, reporting ``describe(state, elapsed)`` as progress after each read.

    Raises the Kupe error when it cannot pass, or when no read succeeded before the deadline.
    """
    start = pacing.clock()
    deadline = start + timeout_s
    delays = pacing.delays()
    seen: tuple[T] | None = None  # the last state read, boxed so a None state still counts
    error: KupeError | None = None
    rounds = 0
    while True:
        try:
            seen, error = (await read(),), None
        except KupeError as exc:
            if _fatal(exc):
                raise
            logger.info("Polling failed, will retry until the deadline: %s", exc)
            error = exc
        elapsed = pacing.clock() - start
        if seen is not None and error is None:
            rounds += 1
            await ctx.report_progress(rounds, None, describe(seen[0], elapsed))
            if done(seen[0]):
                return WaitOutcome(seen[0], True, round(elapsed, 1))
        if deadline - pacing.clock() <= 0:
            if seen is None:
                assert error is not None
                raise error
            return WaitOutcome(seen[0], False, round(elapsed, 1))
        await pacing.sleep(min(next(delays), max(deadline - pacing.clock(), 0.0)))
