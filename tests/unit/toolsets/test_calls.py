"""Toolset ``calls``, its reads: the call log, one call, and a transcript in pages."""

from __future__ import annotations

import pytest
from mcp.server.mcpserver.exceptions import ToolError

from kupe_mcp.toolsets.calls import get_call_analytics, get_call_transcript
from tests.unit._kupe import Kupe, tool_context

pytestmark = pytest.mark.anyio

RID = "0b7d3c2a-1e4f-4a5b-9c6d-7e8f9a0b1c2d"
OTHER = "5d2e1f0a-9b8c-4d7e-8f6a-5b4c3d2e1f0a"
SESSION = {
    "request_id": str(RID),
    "status": "completed",
    "duration": 42,
    "summary": "The caller booked a cleaning for Monday.",
    "transcript": [{"role": "assistant", "text": "Hello!"}, {"role": "user", "text": "Hi, I need a cleaning."}],
}


async def test_the_call_log_passes_paging_and_filter_to_kupe_and_leaves_summaries_out() -> None:
    kupe = Kupe({"GET /api/v1/call-analytics": {"sessions": [SESSION, {**SESSION, "request_id": OTHER}]}})
    page = await get_call_analytics(tool_context(kupe), page=2, page_size=2, filter="outbound")
    params = kupe.requests[0].url.params
    assert (params["page"], params["page_size"], params["filter"]) == ("2", "2", "outbound")
    assert [c.request_id for c in page.items] == [str(RID), OTHER]
    assert [c.summary for c in page.items] == [None, None]
    assert page.next_page == 3  # a full page from Kupe's own paging: there may be more


async def test_one_call_by_request_id_carries_its_summary() -> None:
    kupe = Kupe({"GET /api/v1/call-analytics": {"data": SESSION}})
    page = await get_call_analytics(tool_context(kupe), request_id=RID)
    assert kupe.requests[0].url.params["request_id"] == str(RID)
    assert [(c.request_id, c.summary) for c in page.items] == [(str(RID), "The caller booked a cleaning for Monday.")]


async def test_a_transcript_names_the_speakers_and_carries_the_calls_facts() -> None:
    kupe = Kupe({"GET /api/v1/call-analytics": {"data": SESSION}})
    transcript = await get_call_transcript(tool_context(kupe), request_id=RID)
    assert transcript.lines == ["Agent: Hello!", "Caller: Hi, I need a cleaning."]
    assert (transcript.status, transcript.pages, transcript.next_page) == ("completed", 1, None)
    assert transcript.summary == "The caller booked a cleaning for Monday."


async def test_a_transcript_page_past_the_last_says_how_many_pages_there_are() -> None:
    kupe = Kupe({"GET /api/v1/call-analytics": {"data": SESSION}})
    with pytest.raises(ToolError, match=f"The transcript of {RID} has 1 page\\(s\\): ask for page 1 to 1"):
        await get_call_transcript(tool_context(kupe), request_id=RID, page=2)


async def test_a_transcript_of_a_call_kupe_does_not_know_is_an_error_naming_the_id() -> None:
    kupe = Kupe({"GET /api/v1/call-analytics": {"sessions": []}})
    with pytest.raises(ToolError, match=f"no session for request_id {RID}: check the id"):
        await get_call_transcript(tool_context(kupe), request_id=RID)
