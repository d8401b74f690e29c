"""A clock tests can set and advance: every ``Clock`` in call safety and the OAuth grants (``kupe_mcp.safety.clock``)
can be this one, so calling hours, caps, windows and every expiry are tested without sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    """A ``Clock`` (an aware UTC datetime per call); starts at ``start`` and moves only when told."""

    def __init__(self, start: datetime = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def set(self, hour: int, minute: int = 0) -> None:
        self.now = self.now.replace(hour=hour, minute=minute, second=0, microsecond=0)
