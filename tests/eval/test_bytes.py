"""Rewriting descriptions must not grow the context: model-facing bytes per tool stay within the recorded baseline.

Model-facing = name + title + description + inputSchema as ``tools/list`` sends them (compact UTF-8
JSON); output schemas and annotations are measured by ``make bench``. The baseline is the figures
recorded by ``make eval`` before the descriptions were rewritten (``tests/eval/baseline.json``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from kupe_mcp.config import Credentials, Settings
from kupe_mcp.serve.server import create_server
from tests.eval.scoring import model_facing_bytes

pytestmark = pytest.mark.anyio

BASELINE = json.loads((Path(__file__).parent / "baseline.json").read_text())["bytes"]["per_tool"]
# Issue #19 rewrote names, titles and first sentences for tool search: not a byte more than when it began.
START = json.loads((Path(__file__).parent / "baseline-issue19.json").read_text())["bytes"]["per_tool"]


async def listed(toolsets: tuple[str, ...]) -> dict[str, int]:
    settings = Settings(toolsets=toolsets, credentials=Credentials(bearer_token=SecretStr("t")))
    tools = await create_server(settings).list_tools()
    return {t.name: model_facing_bytes(t.model_dump(mode="json", by_alias=True, exclude_none=True)) for t in tools}


@pytest.fixture(params=[("all",), Settings().toolsets], ids=["all", "default"])
def toolsets(request: pytest.FixtureRequest) -> tuple[str, ...]:
    """Each test measures both ways the server is run: with every toolset, and with the default ones."""
    chosen: tuple[str, ...] = request.param
    return chosen


async def mean_bytes(toolsets: tuple[str, ...], then: dict[str, int]) -> tuple[float, float]:
    """Model-facing bytes per tool on average, now and in the figures ``then``, over the tools ``then`` measured.

    Like with like: a tool added since (e.g. the opt-in tune_agent, whose two dozen settings are its job) is not a
    rewrite; the default toolsets' own cap is test_context_budget's.
    """
    now = await listed(toolsets)
    kept = [name for name in now if name in then]
    return sum(now[name] for name in kept) / len(kept), sum(then[name] for name in kept) / len(kept)


async def test_model_facing_bytes_per_tool_stay_within_the_baseline_before_the_rewrite(
    toolsets: tuple[str, ...],
) -> None:
    now, before = await mean_bytes(toolsets, BASELINE)
    assert now <= before


async def test_model_facing_bytes_per_tool_stay_within_what_they_were_before_the_tool_search_rewrite(
    toolsets: tuple[str, ...],
) -> None:
    now, before = await mean_bytes(toolsets, START)
    assert now <= before
