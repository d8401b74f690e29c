"""Toolset ``knowledge``: uploads are checked against Kupe's formats before they are sent; search hits keep scores."""

from __future__ import annotations

from uuid import UUID

import httpx2
import pytest
from mcp.server.mcpserver.exceptions import ToolError

from kupe_mcp.errors import KupeError
from kupe_mcp.toolsets.knowledge import search_knowledge, upload_knowledge_file
from tests.unit._kupe import Kupe, tool_context

pytestmark = pytest.mark.anyio

AGENT = UUID("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee")
FORMATS = {"GET /api/v1/files/supported-formats": {"data": {"extensions": [".md", ".pdf"], "mime_types": []}}}


async def test_upload_with_both_a_path_and_content_is_refused_before_kupe_is_asked() -> None:
    kupe = Kupe(FORMATS)
    with pytest.raises(ToolError, match="either path, or content with filename"):
        await upload_knowledge_file(tool_context(kupe), path="/tmp/faq.md", content="# FAQ", filename="faq.md")
    assert kupe.sent == []


async def test_upload_of_a_type_kupe_does_not_accept_is_refused_without_sending_the_file() -> None:
    kupe = Kupe(FORMATS)
    with pytest.raises(KupeError, match=r"\"notes\.exe\" is not a file type .* use one of \.md, \.pdf"):
        await upload_knowledge_file(tool_context(kupe), content="MZ", filename="notes.exe")
    assert kupe.sent == ["GET /api/v1/files/supported-formats"]


async def test_upload_of_content_sends_it_as_the_named_file_tagged_for_the_agent() -> None:
    def stored(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json={"data": {"id": "file-1", "status": "processing"}})

    kupe = Kupe({**FORMATS, "POST /api/v1/files/upload": stored})
    uploaded = await upload_knowledge_file(
        tool_context(kupe), content="Open 9am-7pm.", filename="hours.md", agent_id=AGENT
    )
    assert kupe.sent == ["GET /api/v1/files/supported-formats", "POST /api/v1/files/upload"]
    sent = kupe.requests[-1].content.decode()
    assert 'filename="hours.md"' in sent
    assert "Open 9am-7pm." in sent
    assert str(AGENT) in sent
    # Kupe left the name out of its answer: the tool fills in the one it sent.
    assert (uploaded.id, uploaded.original_filename) == ("file-1", "hours.md")


async def test_hybrid_search_asks_the_hybrid_route_for_the_agent_and_pairs_each_chunk_with_its_score() -> None:
    kupe = Kupe(
        {
            "POST /api/v1/search/hybrid": {
                "data": ["Cleaning costs $40.", "Whitening costs $90."],
                "scores": [{"keyword": 0.9, "semantic": 0.7}, {"keyword": 0.2, "semantic": 0.6}],
            }
        }
    )
    found = await search_knowledge(tool_context(kupe), agent_id=AGENT, query="price", limit=2, mode="hybrid")
    assert kupe.requests[0].url.params["agent_id"] == str(AGENT)
    assert kupe.body() == {"query": "price", "limit": 2}
    assert [(h.text, h.score) for h in found.hits] == [
        ("Cleaning costs $40.", {"keyword": 0.9, "semantic": 0.7}),
        ("Whitening costs $90.", {"keyword": 0.2, "semantic": 0.6}),
    ]
    assert (found.mode, found.count) == ("hybrid", 2)
