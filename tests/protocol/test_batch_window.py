"""start_batch refuses a campaign whose rows cannot all be dialled before calling hours end (both protocol modes)."""

from __future__ import annotations

from typing import Any

import pytest
from mcp.client import Client

from tests._clock import FakeClock
from tests._mcp import call, fail, new_batch
from tests._safety import Setup
from tests.conftest import ServerFactory
from tests.protocol.test_call_safety import Person, batch_starts

pytestmark = pytest.mark.anyio


def indian_rows(count: int) -> list[dict[str, Any]]:
    return [
        {"phone_number": f"+9198765432{i:02d}", "variables": {"name": f"P{i}", "appointment_date": "2 May"}}
        for i in range(count)
    ]


@pytest.fixture
def late(make_server: ServerFactory, sandbox_app: Any, client_mode: str) -> Setup:
    """A server with calling hours 09:00-21:00 whose clock reads 20:30 in India: 30 minutes of calling left."""
    s = Setup(make_server(calling_hours="09:00-21:00"), sandbox_app, client_mode, FakeClock())
    s.server.runtime.guards.clock = s.clock
    s.clock.set(15, 0)
    return s


async def batch_of(mcp: Client, name: str, rows: int, **options: Any) -> str:
    """A campaign of ``rows`` Indian recipients, created and filled but not started; its id."""
    return await new_batch(mcp, name, indian_rows(rows), **options)


async def test_a_batch_that_would_ring_past_calling_hours_is_refused_before_anything_is_sent(late: Setup) -> None:
    async with late.client(Person()) as mcp:
        batch_id = await batch_of(mcp, "Late", 11)
        text = await fail(mcp, "start_batch", batch_id=batch_id)
        dry = await fail(mcp, "start_batch", batch_id=batch_id, dry_run=True)
    assert f"Refused to start batch {batch_id}: dialled 1 at a time" in text
    assert "its 11 rows need about 33 min" in text
    assert "in 30 min" in text
    assert dry == text
    assert batch_starts(late) == []


async def test_the_same_rows_start_when_they_fit_in_the_window(late: Setup) -> None:
    async with late.client(Person()) as mcp:
        batch_id = await batch_of(mcp, "Fits", 11, batch_size=2)
        started = await call(mcp, "start_batch", batch_id=batch_id)
    assert started["started"] is True
    assert len(batch_starts(late)) == 1
