"""The scripted tour (`make demo`) runs end to end and reads like a walkthrough."""

from __future__ import annotations

import pytest

from kupe_mcp.dist.demo import run_demo

pytestmark = pytest.mark.anyio


async def test_demo_tours_agent_knowledge_phone_call_and_campaign_with_confirmations() -> None:
    lines: list[str] = []
    await run_demo(lines.append, call_step_s=0)
    text = "\n".join(lines)
    for step in ("create_agent(", "search_knowledge(", "map_phone(", "place_call(", "wait_for_call(", "start_batch("):
        assert step in text
    # The call and the campaign: the SDK client declares URL elicitation, so the person is sent to the approval page.
    assert text.count("? The client opens the approval page:") == 2
    assert "status completed" in text
    assert "Agent: Hello Priya, this is Asha from Acme Dental." in text
    assert '"completed": 3' in text
