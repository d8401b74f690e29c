"""Wall time for call safety and the OAuth grants: one type, a timezone-aware UTC ``datetime``.

Every rule, record and expiry in the safety package reads the time through a ``Clock`` (``utc_now`` unless a
test injects its own), so no module mixes epoch floats with datetimes. Time leaves and enters records only here:

* ``to_json``: the ISO 8601 UTC text a record keeps (``2026-03-10T08:00:00Z``, microseconds when there are any).
* ``from_json``: reads that text, and also the epoch seconds (numbers, or numbers as text) earlier versions
  wrote, so approvals, passkeys and grants already in a SQLite file or a Redis keep working after an upgrade.
* ``shown_time`` (``14:02 UTC``, in sentences) and ``listed_time`` (``2026-03-10T08:00:00Z``, in listings): the
  two ways a time is written for people and the model, each in one place.

Stores that need numbers (SQLite's expiry columns, Redis scores and TTLs) convert at their own boundary.
Durations a wait measures (``time.monotonic``) are not wall time and stay out of here.

Standard library only: the safety package's start-up imports must stay cheap.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["Clock", "from_json", "listed_time", "shown_time", "to_json", "utc_now"]

Clock = Callable[[], datetime]
"""Returns the current time as an aware UTC datetime; injectable so every time rule is testable."""


def utc_now() -> datetime:
    """The default ``Clock``: the system's wall time, in UTC."""
    return datetime.now(UTC)


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r}: call safety only handles aware UTC times")
    return at.astimezone(UTC)


def to_json(at: datetime) -> str:
    """``at`` as a record keeps it: ISO 8601 in UTC with a ``Z`` (exact to the microsecond, so it reads back equal)."""
    return _utc(at).isoformat().replace("+00:00", "Z")


def from_json(raw: object) -> datetime:
    """A time a record kept, as an aware UTC datetime.

    Lenient on purpose: ISO 8601 text (a naive one is taken as UTC), and the epoch seconds earlier versions
    stored (an int, a float, or either as text, as the Redis slot bodies kept them). Anything else is a
    ValueError rather than a guess.
    """
    if isinstance(raw, datetime):
        return _as_utc(raw)
    if isinstance(raw, bool):  # a bool is an int to Python, never a time
        raise ValueError(f"not a time: {raw!r}")
    if isinstance(raw, int | float):
        return _from_epoch(float(raw))
    if isinstance(raw, str):
        text = raw.strip()
        try:
            seconds = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(f"not a time: {raw!r}") from None
            return _as_utc(parsed)
        return _from_epoch(seconds)
    raise ValueError(f"not a time: {raw!r}")


def _as_utc(at: datetime) -> datetime:
    """A kept time in UTC; a naive one was written as UTC (records never keep local times)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _from_epoch(seconds: float) -> datetime:
    if not math.isfinite(seconds):
        raise ValueError(f"not a time: {seconds!r}")
    return datetime.fromtimestamp(seconds, UTC)


def shown_time(at: datetime) -> str:
    """``at`` in a sentence for people (the approval page, a refusal): ``14:02 UTC``."""
    return f"{_utc(at):%H:%M} UTC"


def listed_time(at: datetime) -> str:
    """``at`` in a listing the model or a terminal reads (approvals, passkeys): ``2026-03-10T08:00:00Z``, to the
    second (a record keeps microseconds; nobody reading a list needs them)."""
    return f"{_utc(at):%Y-%m-%dT%H:%M:%SZ}"
