"""Toolset ``analysis`` against the sandbox: rules and the rules attached to an agent."""

from __future__ import annotations

from typing import Any

import pytest

from kupe_mcp.sandbox._seed import DEMO_AGENT_ID, DEMO_RULE_ID
from kupe_mcp.toolsets import analysis
from tests._mcp import call, fail
from tests.toolsets.conftest import Serve, requests_to_kupe

pytestmark = pytest.mark.anyio

RULE = {
    "name": "Callback wanted",
    "prompt": "Did the callee ask for a callback?",
    "output_schema": {"type": "object", "properties": {"callback": {"type": "boolean"}}},
}


async def test_rule_attached_to_an_agent_is_listed_for_that_agent(serve: Serve) -> None:
    async with serve(analysis) as mcp:
        rule_id = (await call(mcp, "create_analysis_rule", definition=RULE))["id"]
        await call(mcp, "set_agent_analysis_rules", agent_id=DEMO_AGENT_ID, rule_ids=[DEMO_RULE_ID, rule_id])
        attached = await call(mcp, "list_agent_analysis_rules", agent_id=DEMO_AGENT_ID)
        await call(mcp, "set_agent_analysis_rules", agent_id=DEMO_AGENT_ID, rule_ids=[])
        none_left = await call(mcp, "list_agent_analysis_rules", agent_id=DEMO_AGENT_ID)
    assert {r["id"] for r in attached["items"]} == {DEMO_RULE_ID, rule_id}
    assert none_left["items"] == []


async def test_rule_crud_and_duplicate(serve: Serve) -> None:
    async with serve(analysis) as mcp:
        rule_id = (await call(mcp, "create_analysis_rule", definition=RULE))["id"]
        await call(mcp, "update_analysis_rule", rule_id=rule_id, definition={"name": "Callback requested"})
        got = await call(mcp, "get_analysis_rule", rule_id=rule_id)
        copy_ = await call(mcp, "duplicate_analysis_rule", rule_id=rule_id)
        listed = await call(mcp, "list_analysis_rules")
        await call(mcp, "delete_analysis_rule", rule_id=rule_id)
        gone = await fail(mcp, "get_analysis_rule", rule_id=rule_id)
    assert got["name"] == "Callback requested"
    assert got["prompt"] == RULE["prompt"]
    assert copy_["id"] != rule_id
    assert {rule_id, copy_["id"], DEMO_RULE_ID} <= {r["id"] for r in listed["items"]}
    assert "404" in gone


async def test_agent_post_analysis_config_is_saved_for_the_agent(serve: Serve) -> None:
    async with serve(analysis) as mcp:
        saved = await call(
            mcp, "set_agent_post_analysis", agent_id=DEMO_AGENT_ID, config={"prompt": "Summarise the call."}
        )
        got = await call(mcp, "get_agent_post_analysis", agent_id=DEMO_AGENT_ID)
    assert saved["agent_id"] == DEMO_AGENT_ID
    assert got["agent_id"] == DEMO_AGENT_ID
    assert [row["prompt"] for row in got["post_analysis"]] == ["Summarise the call."]


async def test_bad_rule_ids_name_the_field_and_never_reach_kupe(serve: Serve, sandbox_app: Any) -> None:
    async with serve(analysis) as mcp:
        before = requests_to_kupe(sandbox_app)
        text = await fail(mcp, "set_agent_analysis_rules", agent_id=DEMO_AGENT_ID, rule_ids=["not-a-uuid"])
        assert requests_to_kupe(sandbox_app) == before
    assert "rule_ids" in text


async def test_attaching_an_unknown_rule_is_an_actionable_not_found(serve: Serve) -> None:
    async with serve(analysis) as mcp:
        text = await fail(mcp, "set_agent_analysis_rules", agent_id=DEMO_AGENT_ID, rule_ids=[DEMO_AGENT_ID])
    assert "404" in text
