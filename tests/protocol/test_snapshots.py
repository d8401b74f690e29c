"""Tool schema snapshots: a schema change must be deliberate (UPDATE_SNAPSHOTS=1 rewrites them)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kupe_mcp.config import Settings
from kupe_mcp.dist.docs import BEGIN, END, render_tool_table
from kupe_mcp.serve.server import create_server

pytestmark = pytest.mark.anyio

SNAPSHOTS = Path(__file__).parent.parent / "snapshots" / "tools"
README = Path(__file__).parent.parent.parent / "README.md"


async def test_every_tool_schema_matches_its_snapshot() -> None:
    tools = await create_server(Settings(toolsets=("all",))).list_tools()
    update = os.environ.get("UPDATE_SNAPSHOTS") == "1"
    seen: set[str] = set()
    changed: list[str] = []
    for tool in tools:
        dumped = tool.model_dump(mode="json", by_alias=True, exclude_none=True)
        text = json.dumps(dumped, indent=2, sort_keys=True) + "\n"
        path = SNAPSHOTS / f"{tool.name}.json"
        seen.add(path.name)
        if update:
            path.write_text(text)
        elif not path.exists() or path.read_text() != text:
            changed.append(tool.name)
    stale = sorted(p.name for p in SNAPSHOTS.glob("*.json") if p.name not in seen)
    if update:
        for name in stale:
            (SNAPSHOTS / name).unlink()
        return
    assert not changed, f"schemas changed without a snapshot update (UPDATE_SNAPSHOTS=1): {changed}"
    assert not stale, f"snapshots for tools that no longer exist: {stale}"


def test_readme_tool_table_is_current() -> None:
    text = README.read_text()
    assert BEGIN in text
    assert END in text
    current = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert current == render_tool_table().strip(), "README tool table is stale: run python -m kupe_mcp.dist.docs"
