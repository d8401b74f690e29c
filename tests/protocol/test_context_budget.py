"""What the default tools cost in the model's context, measured apart from their output schemas.

The model reads each tool's name, title, description and inputSchema; output schemas are read by
clients to check ``structuredContent``. Both are capped, separately: model-facing bytes at the
figure they had before output schemas were typed (549 bytes a tool), output schemas on their own.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from kupe_mcp.config import Settings
from kupe_mcp.serve.server import create_server

MODEL_FACING = ("name", "title", "description", "inputSchema")
MODEL_FACING_BYTES_PER_TOOL = 550
OUTPUT_SCHEMA_BYTES_PER_TOOL = 600

pytestmark = pytest.mark.anyio


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")))


async def _default_tools() -> list[dict[str, Any]]:
    tools = await create_server(Settings()).list_tools()
    return [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]


async def test_the_default_tools_model_facing_bytes_stay_within_todays_figure() -> None:
    tools = await _default_tools()
    total = sum(_size({k: t[k] for k in MODEL_FACING if k in t}) for t in tools)
    assert total / len(tools) <= MODEL_FACING_BYTES_PER_TOOL


async def test_the_default_tools_output_schemas_stay_compact() -> None:
    tools = await _default_tools()
    total = sum(_size(t["outputSchema"]) for t in tools)
    assert total / len(tools) <= OUTPUT_SCHEMA_BYTES_PER_TOOL


async def test_output_schemas_carry_no_titles_or_defaults() -> None:
    def keys(value: Any) -> set[str]:
        if isinstance(value, dict):
            return set(value) | {k for v in value.values() for k in keys(v)} - {"properties"}
        if isinstance(value, list):
            return {k for v in value for k in keys(v)}
        return set()

    for tool in await _default_tools():
        found = keys(tool["outputSchema"]) & {"title", "default"}
        assert not found, (tool["name"], found)


async def test_every_tool_publishes_an_output_schema_with_named_fields() -> None:
    tools = await create_server(Settings(toolsets=("all",))).list_tools()
    empty = [t.name for t in tools if not (t.output_schema or {}).get("properties")]
    assert empty == []
