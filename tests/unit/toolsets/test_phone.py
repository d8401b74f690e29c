"""Toolset ``phone``: lines are paged locally, and a mapping names exactly one target before Kupe is asked."""

from __future__ import annotations

from uuid import UUID

import pytest
from mcp.server.mcpserver.exceptions import ToolError

from kupe_mcp.toolsets.phone import get_phone_mapping, list_phone_numbers, map_phone
from tests.unit._kupe import Kupe, tool_context

pytestmark = pytest.mark.anyio

LINE = UUID("11111111-2222-4333-8444-555555555555")
AGENT = UUID("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee")
WORKFLOW = UUID("99999999-8888-4777-8666-555555555555")


async def test_list_phone_numbers_pages_kupes_lines_and_points_to_the_next_page() -> None:
    lines = [{"id": f"line-{i}", "phone_number": f"+1415555010{i}"} for i in range(3)]
    kupe = Kupe({"GET /api/v1/phone": {"phone_numbers": lines}})
    first = await list_phone_numbers(tool_context(kupe), page=1, page_size=2)
    assert [line.id for line in first.items] == ["line-0", "line-1"]
    assert (first.total, first.next_page) == (3, 2)


@pytest.mark.parametrize("targets", [{}, {"agent_id": AGENT, "workflow_id": WORKFLOW}])
async def test_map_phone_without_exactly_one_target_is_refused_before_kupe_is_asked(targets: dict[str, UUID]) -> None:
    kupe = Kupe()
    with pytest.raises(ToolError, match=f"Pass exactly one of agent_id or workflow_id \\(got {len(targets)}\\)"):
        await map_phone(tool_context(kupe), phone_number_id=LINE, **targets)
    assert kupe.sent == []


async def test_map_phone_posts_the_line_and_the_one_agent_and_returns_kupes_mapping() -> None:
    kupe = Kupe({"POST /api/v1/phone/mapping": {"data": {"phone_number_id": str(LINE), "agent_id": str(AGENT)}}})
    mapping = await map_phone(tool_context(kupe), phone_number_id=LINE, agent_id=AGENT)
    assert kupe.body() == {"phone_number_id": str(LINE), "agent_id": str(AGENT)}
    assert mapping.agent_id == str(AGENT)


async def test_get_phone_mapping_by_agent_asks_the_agent_route_and_lists_its_lines() -> None:
    rows = [
        {"phone_number_id": "line-a", "agent_id": str(AGENT)},
        {"phone_number_id": "line-b", "agent_id": str(AGENT)},
    ]
    kupe = Kupe({f"GET /api/v1/phone/mapping/agent/{AGENT}": {"data": rows}})
    found = await get_phone_mapping(tool_context(kupe), agent_id=AGENT)
    assert [m.phone_number_id for m in found.mappings] == ["line-a", "line-b"]
    assert kupe.sent == [f"GET /api/v1/phone/mapping/agent/{AGENT}"]
