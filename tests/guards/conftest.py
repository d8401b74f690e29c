"""Unit fixtures for the call-safety rules: guards built from Settings, on a fake clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kupe_mcp.config import Settings
from kupe_mcp.safety.rules import CallGuards
from tests._clock import FakeClock

MakeGuards = Callable[..., CallGuards]


@pytest.fixture
def clock() -> FakeClock:
    """08:00 UTC on 10 March 2026: 13:30 in India, 01:00 in California (PDT), 09:00 in Berlin."""
    return FakeClock()


@pytest.fixture
def make_guards(clock: FakeClock) -> MakeGuards:
    """``make_guards(**settings)``: CallGuards from Settings fields, on the fake clock; calling hours off by default."""

    def factory(**settings: Any) -> CallGuards:
        settings.setdefault("calling_hours", "off")
        return CallGuards.from_settings(Settings(**settings), clock=clock)

    return factory
