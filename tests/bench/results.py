"""How big tool results are: the scripted tour (kupe_mcp/dist/demo.py) plus a 100-recipient campaign.

Sizes are bytes of a result's text content, what the model reads. ``make bench`` reports them and
tests/e2e/test_result_budget.py holds every one to ``RESULT_BUDGET_BYTES``.
"""

from __future__ import annotations

from typing import Any

import mcp_types as types
from mcp.client import Client

from kupe_mcp.dist.demo import run_demo, server_on_sandbox
from kupe_mcp.sandbox import SandboxSettings
from kupe_mcp.sandbox import _seed as seed

__all__ = ["campaign_sizes", "tour_sizes"]

RECIPIENTS = 100


def _text_bytes(result: types.CallToolResult) -> int:
    if result.is_error:
        raise RuntimeError("".join(getattr(c, "text", "") for c in result.content))
    return sum(len(c.text.encode()) for c in result.content if isinstance(c, types.TextContent))


async def tour_sizes() -> dict[str, int]:
    """The largest result of each tool in the scripted tour."""
    return await run_demo(lambda _text: None, call_step_s=0)


async def campaign_sizes(recipients: int = RECIPIENTS) -> dict[str, int]:
    """Result sizes of the heavy cases: adding ``recipients`` rows, their default page, the whole catalog."""
    sizes: dict[str, int] = {}
    server = server_on_sandbox(SandboxSettings(call_step_s=0))
    async with Client(server) as mcp:

        async def call(tool: str, **args: Any) -> dict[str, Any]:
            result = await mcp.call_tool(tool, args)
            sizes[f"{tool}"] = max(sizes.get(tool, 0), _text_bytes(result))
            return result.structured_content or {}

        batch = await call(
            "create_batch",
            name="Size check",
            phone_number_id=seed.IN_PHONE_ID,
            agent_id=seed.DEMO_AGENT_ID,
            variable_names=["name", "appointment_date"],
        )
        rows = [
            {
                "phone_number": f"+91 98765 {40000 + i:05d}",
                "variables": {"name": f"Person {i}", "appointment_date": "Tue 10am"},
            }
            for i in range(recipients)
        ]
        await call("add_batch_recipients", batch_id=batch["id"], recipients=rows)
        await call("list_batch_recipients", batch_id=batch["id"])
        await call("list_providers", kind="all")
        await call("get_call_analytics")
        await call("list_voices")
    return sizes
