"""A clock tests can set and advance, for the time rules (calling hours, repeat window, hourly cap, token expiry)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    """Callable like ``CallGuards.clock``; starts at ``start`` (UTC) and moves only when told."""

    def __init__(self, start: datetime = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def set(self, hour: int, minute: int = 0) -> None:
        self.now = self.now.replace(hour=hour, minute=minute, second=0, microsecond=0)
