"""Tools read Kupe's answers the same way whatever envelope a route wraps them in.

The server talks to an ``httpx2.MockTransport`` that answers one fixed body per route, in the
envelopes Kupe's docs show (``{data: {...}}``, a one-item list, the bare array).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from mcp.client import Client
from pydantic import SecretStr

from kupe_mcp.client import KupeClient
from kupe_mcp.config import Credentials, Settings
from kupe_mcp.serve.server import create_server
from tests._mcp import call

pytestmark = pytest.mark.anyio

RID = "7d0e9b3a-4c1f-4a8e-9a55-2b8f0c6d1e20"
SESSION = {
    "request_id": RID,
    "status": "completed",
    "duration": 42,
    "summary": "Confirmed Tuesday.",
    "transcript": [{"role": "agent", "text": "Hello, Asha here."}, {"role": "user", "text": "Hi!"}],
}


@asynccontextmanager
async def serving(answer: Callable[[httpx2.Request], Any]) -> AsyncIterator[Client]:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json=answer(request))

    kupe = KupeClient(
        base_url="http://127.0.0.1:9",
        credentials=Credentials(api_key=SecretStr("kupe_test_key")),
        transport=httpx2.MockTransport(handler),
    )
    async with Client(create_server(Settings(), kupe)) as mcp:
        yield mcp


ENVELOPES = [
    pytest.param({"success": True, "data": SESSION}, id="data-object"),
    pytest.param([SESSION], id="one-item-list"),
    pytest.param({"data": [SESSION]}, id="data-list"),
    pytest.param(SESSION, id="bare"),
]


@pytest.mark.parametrize("body", ENVELOPES)
async def test_get_call_transcript_reads_the_session_in_any_envelope(body: Any) -> None:
    async with serving(lambda _: body) as mcp:
        out = await call(mcp, "get_call_transcript", request_id=RID)
    assert out["lines"] == ["Agent: Hello, Asha here.", "Caller: Hi!"]
    assert out["summary"] == "Confirmed Tuesday."


@pytest.mark.parametrize("body", ENVELOPES)
async def test_get_call_analytics_of_one_call_reads_it_in_any_envelope(body: Any) -> None:
    async with serving(lambda _: body) as mcp:
        out = await call(mcp, "get_call_analytics", request_id=RID)
    assert [(i["request_id"], i["status"], i["summary"]) for i in out["items"]] == [
        (RID, "completed", "Confirmed Tuesday.")
    ]


@pytest.mark.parametrize("body", ENVELOPES)
async def test_wait_for_call_reads_the_session_in_any_envelope(body: Any) -> None:
    async with serving(lambda _: body) as mcp:
        out = await call(mcp, "wait_for_call", request_id=RID, timeout_s=5)
    assert (out["done"], out["status"]) == (True, "completed")
    assert out["transcript_excerpt"].startswith("Agent: Hello, Asha here.")


async def test_a_long_transcript_comes_back_whole_across_pages() -> None:
    turns = [{"role": "agent" if i % 2 else "user", "text": f"turn {i} " + "x" * 190} for i in range(200)]
    async with serving(lambda _: [{**SESSION, "transcript": turns}]) as mcp:
        first = await call(mcp, "get_call_transcript", request_id=RID)
        lines = list(first["lines"])
        page = first
        while "next_page" in page:
            page = await call(mcp, "get_call_transcript", request_id=RID, page=page["next_page"])
            lines += page["lines"]
    assert first["pages"] > 1
    assert page["page"] == first["pages"]
    assert [line.split(": ", 1)[1].split()[1] for line in lines] == [str(i) for i in range(200)]
    assert all(not line.endswith("more characters") for line in lines)


async def test_a_transcript_page_past_the_end_is_an_error_naming_the_pages() -> None:
    async with serving(lambda _: SESSION) as mcp:
        result = await mcp.call_tool("get_call_transcript", {"request_id": RID, "page": 3})
    assert result.is_error
    assert "has 1 page(s)" in result.content[0].text  # type: ignore[union-attr]


async def test_result_text_is_compact_json_without_nulls_and_matches_the_structured_content() -> None:
    import json

    async with serving(lambda _: SESSION) as mcp:
        result = await mcp.call_tool("get_call_transcript", {"request_id": RID})
    text = result.content[0].text  # type: ignore[union-attr]
    assert json.loads(text) == result.structured_content
    assert ": " not in text.replace("Agent: ", "").replace("Caller: ", "")
    assert "\n" not in text
    assert "null" not in text
