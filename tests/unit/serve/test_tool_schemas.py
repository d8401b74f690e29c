"""Stored tool schemas: the first tools/list is answered from them, and a stored tool runs exactly as the SDK's own."""

from __future__ import annotations

import json
import logging
from importlib.resources import files
from typing import Any

import httpx2
import pytest
from mcp.client import Client
from mcp.server.mcpserver.tools import base as sdk_tools
from mcp.server.mcpserver.utilities.func_metadata import func_metadata
from pydantic import SecretStr

from kupe_mcp.client import KupeClient
from kupe_mcp.config import Credentials, Settings
from kupe_mcp.serve import tool_schemas
from kupe_mcp.serve._sdk import put_tool, tool_manager
from kupe_mcp.serve.server import KupeServer, create_server
from kupe_mcp.serve.tool_schemas import StoredTool, build_store, sdk_tool, stored_schemas
from kupe_mcp.toolsets import APP_TOOLS, TOOLSETS, ToolSpec
from tests.unit._kupe import API_KEY, BASE_URL, Kupe

pytestmark = pytest.mark.anyio

STORED = json.loads((files("kupe_mcp.serve") / "tool_schemas.json").read_text(encoding="utf-8"))


def kupe_server() -> KupeServer:
    client = KupeClient(
        base_url=BASE_URL,
        credentials=Credentials(api_key=SecretStr(API_KEY)),
        transport=httpx2.MockTransport(Kupe({"GET /api/v1/agents": {"agents": [], "total": 0}})),
    )
    return create_server(Settings(calling_hours="off"), client)


def spec_named(name: str) -> ToolSpec:
    return next(s for ts in (*TOOLSETS, APP_TOOLS) for s in ts.tools if s.name == name)


def test_the_stored_schemas_are_what_the_sdk_builds_for_every_tool_today() -> None:
    fresh = build_store()
    drifted = sorted(
        n for n in fresh["tools"].keys() | STORED["tools"].keys() if fresh["tools"].get(n) != STORED["tools"].get(n)
    )
    assert not drifted, f"stored schemas out of date for {', '.join(drifted)}: run `make schemas`"
    assert STORED["sdk"] == fresh["sdk"], "stored schemas were written by another SDK version: run `make schemas`"


async def test_the_first_tools_list_builds_no_tool_model(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []

    def counting(fn: Any, *args: Any, **kwargs: Any) -> Any:
        built.append(fn.__name__)
        return func_metadata(fn, *args, **kwargs)

    monkeypatch.setattr(sdk_tools, "func_metadata", counting)
    made = kupe_server()
    async with Client(made) as mcp:
        listed = await mcp.list_tools()
    assert len(listed.tools) > 20
    assert built == []
    assert all(isinstance(t, StoredTool) for t in tool_manager(made).list_tools())


async def test_a_listed_tool_shows_the_schemas_the_sdk_would_have_built() -> None:
    stored = kupe_server()
    async with Client(stored) as mcp:
        listed = {t.name: t for t in (await mcp.list_tools()).tools}
    for name in ("place_call", "list_agents", "wait_for_call"):
        eager = sdk_tool(spec_named(name))
        tool = next(t for t in tool_manager(stored).list_tools() if t.name == name)
        assert (tool.parameters, tool.output_schema) == (eager.parameters, eager.output_schema)
        assert listed[name].input_schema["properties"].keys() == eager.parameters["properties"].keys()


async def test_a_stored_tool_refuses_bad_arguments_in_the_same_sentence_as_a_built_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers = []
    for schemas in (stored_schemas(), {}):
        monkeypatch.setattr(tool_schemas, "stored_schemas", lambda schemas=schemas: schemas)
        made = kupe_server()
        async with Client(made) as mcp:
            result = await mcp.call_tool("get_agent", {"agent_id": 12})
        assert result.is_error
        answers.append(result.content[0].text)  # type: ignore[union-attr]
        kinds = {type(t) for t in tool_manager(made).list_tools()}
        assert kinds == ({StoredTool} if schemas else {sdk_tools.Tool})
    assert answers[0] == answers[1]
    assert answers[0].startswith("Invalid arguments for get_agent (agent_id:")


def test_a_store_written_by_another_sdk_version_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    assert stored_schemas()  # today's file is read
    monkeypatch.setattr(tool_schemas, "_sdk_version", lambda: "0.0.1")
    assert stored_schemas() == {}


async def test_a_stored_tool_whose_schema_drifted_says_so_when_first_called(caplog: pytest.LogCaptureFixture) -> None:
    spec = spec_named("list_agents")
    eager = sdk_tool(spec)
    stale = StoredTool.of(spec, {"input": {**eager.parameters, "title": "stale"}, "output": eager.output_schema})
    made = kupe_server()
    tool_manager(made).list_tools()  # registers the selected tools first, as the first tools/list does
    put_tool(tool_manager(made), stale)
    with caplog.at_level(logging.WARNING, logger="kupe_mcp"):
        async with Client(made) as mcp:
            await mcp.call_tool("list_agents", {})
            await mcp.call_tool("list_agents", {})
    warned = [r.getMessage() for r in caplog.records if "out of date" in r.getMessage()]
    assert warned == ["The stored schemas of list_agents are out of date: run `make schemas`."]
