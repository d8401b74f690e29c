"""Toolset ``integrations`` against the sandbox: tool definitions and the tools an agent may call."""

from __future__ import annotations

from typing import Any

import pytest

from kupe_mcp.sandbox._seed import DEMO_AGENT_ID
from kupe_mcp.toolsets import integrations
from tests._mcp import HTTP_TOOL, MCP_TOOL, call, fail
from tests.toolsets.conftest import Serve, refused_before_kupe

pytestmark = pytest.mark.anyio


async def test_http_tool_definition_round_trip(serve: Serve) -> None:
    async with serve(integrations) as mcp:
        created = await call(mcp, "create_http_tool", definition=HTTP_TOOL)
        tool_id = created["id"]
        listed = await call(mcp, "list_http_tools")
        updated = await call(mcp, "update_http_tool", tool_id=tool_id, definition={**HTTP_TOOL, "method": "POST"})
        got = await call(mcp, "get_http_tool", tool_id=tool_id)
        await call(mcp, "delete_http_tool", tool_id=tool_id)
        gone = await fail(mcp, "get_http_tool", tool_id=tool_id)
    assert tool_id in {t["id"] for t in listed["items"]}
    assert updated["method"] == "POST"
    assert got["url"] == HTTP_TOOL["url"]
    assert got["method"] == "POST"
    assert "404" in gone


async def test_mcp_tool_definitions_are_a_separate_family(serve: Serve) -> None:
    async with serve(integrations) as mcp:
        created = await call(mcp, "create_mcp_tool", definition=MCP_TOOL)
        mcp_list = await call(mcp, "list_mcp_tools")
        http_list = await call(mcp, "list_http_tools")
        got = await call(mcp, "get_mcp_tool", tool_id=created["id"])
    assert created["id"] in {t["id"] for t in mcp_list["items"]}
    assert created["id"] not in {t["id"] for t in http_list["items"]}
    assert got["server_url"] == MCP_TOOL["server_url"]


async def test_attached_tool_is_listed_on_the_agent_and_can_be_detached(serve: Serve) -> None:
    async with serve(integrations) as mcp:
        http_id = (await call(mcp, "create_http_tool", definition=HTTP_TOOL))["id"]
        mcp_id = (await call(mcp, "create_mcp_tool", definition=MCP_TOOL))["id"]
        await call(mcp, "attach_tools_to_agent", agent_id=DEMO_AGENT_ID, tools=[{"tool_id": http_id}])
        attached = await call(mcp, "list_agent_tools", agent_id=DEMO_AGENT_ID)
        await call(
            mcp,
            "replace_agent_tools",
            agent_id=DEMO_AGENT_ID,
            tools=[{"tool_id": mcp_id, "tool_type": "mcp"}],
            force_update=True,
        )
        replaced = await call(mcp, "list_agent_tools", agent_id=DEMO_AGENT_ID)
        await call(mcp, "detach_tool_from_agent", agent_id=DEMO_AGENT_ID, tool_id=mcp_id)
        detached = await call(mcp, "list_agent_tools", agent_id=DEMO_AGENT_ID)
    assert http_id in {t["tool_id"] for t in attached["items"]}
    assert {t["tool_id"] for t in replaced["items"]} == {mcp_id}
    assert detached["items"] == []


async def test_invalid_tool_arguments_name_the_field_and_never_reach_kupe(serve: Serve, sandbox_app: Any) -> None:
    wrong_type = [{"tool_id": DEMO_AGENT_ID, "tool_type": "x"}]
    async with serve(integrations) as mcp:
        await refused_before_kupe(
            mcp,
            sandbox_app,
            ("get_mcp_tool", {"tool_id": "42"}, "tool_id"),
            ("attach_tools_to_agent", {"agent_id": DEMO_AGENT_ID, "tools": wrong_type}, "tool_type"),
            ("attach_tools_to_agent", {"agent_id": DEMO_AGENT_ID, "tools": []}, "tools"),
        )


def test_both_definition_families_are_declared_with_their_own_names_docs_and_hints() -> None:
    specs = {s.name: s for s in integrations.toolset.tools}
    for kind, label in (("http", "HTTP"), ("mcp", "MCP server")):
        names = {f"list_{kind}_tools", f"get_{kind}_tool", f"create_{kind}_tool", f"update_{kind}_tool"}
        names.add(f"delete_{kind}_tool")
        assert names <= set(specs)
        for name in names:
            assert label in specs[name].description, name
            assert specs[name].fn.__name__ == name
        assert specs[f"list_{kind}_tools"].read_only
        assert not specs[f"create_{kind}_tool"].idempotent
        assert specs[f"delete_{kind}_tool"].destructive
        assert not specs[f"update_{kind}_tool"].destructive
    assert specs["replace_agent_tools"].destructive
    assert not specs["attach_tools_to_agent"].destructive
