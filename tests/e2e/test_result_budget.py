"""Every result of the scripted tour, and of the heavy campaign cases, fits the context budget (8 KB of text)."""

from __future__ import annotations

import pytest

from kupe_mcp.toolsets._shape import RESULT_BUDGET_BYTES
from tests.bench.results import RECIPIENTS, campaign_sizes, tour_sizes

pytestmark = pytest.mark.anyio


async def test_every_result_in_the_demo_tour_is_within_the_budget() -> None:
    sizes = await tour_sizes()
    assert len(sizes) >= 15
    over = {tool: size for tool, size in sizes.items() if size > RESULT_BUDGET_BYTES}
    assert over == {}


async def test_a_hundred_recipient_campaign_and_the_catalogs_stay_within_the_budget() -> None:
    sizes = await campaign_sizes()
    over = {tool: size for tool, size in sizes.items() if size > RESULT_BUDGET_BYTES}
    assert over == {}
    # Adding 100 rows answers with counts, not the rows back (48 KB before).
    assert sizes["add_batch_recipients"] < 1024
    assert RECIPIENTS == 100
