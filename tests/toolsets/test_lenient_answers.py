"""Answers Kupe's spec allows but the sandbox never gives: each defect of issue 18, as a tool sees it.

The server talks to an ``httpx2.MockTransport`` that answers each route with a fixed, spec-valid body;
every test here failed before issue 18 (the data was lost, the figure wrong, or the tool failed).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from mcp.client import Client
from pydantic import SecretStr

from kupe_mcp.client import KupeClient
from kupe_mcp.config import Credentials, Settings
from kupe_mcp.serve.server import create_server
from tests._mcp import call, fail

pytestmark = pytest.mark.anyio

RID = "7d0e9b3a-4c1f-4a8e-9a55-2b8f0c6d1e20"
AGENT_ID = "0b7c3a52-8d0e-4f4e-9a0e-3b5f6c7d8e9f"
BATCH_ID = "5a1f9c2e-3b4d-4e6f-8a7b-9c0d1e2f3a4b"
PHONE_ID = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
USER_ID = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"
SESSION = {"request_id": RID, "status": "completed", "duration": 42, "summary": "Confirmed Tuesday."}

Routes = Mapping[tuple[str, str], Any]


@asynccontextmanager
async def serving(
    routes: Routes, sent: list[httpx2.Request] | None = None, *, bearer: bool = False
) -> AsyncIterator[Client]:
    """An MCP client on a server whose Kupe answers ``routes[(method, path)]``: a body, a Response or a function."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        if sent is not None:
            sent.append(request)
        answer = routes.get((request.method, request.url.path))
        if answer is None:
            return httpx2.Response(404, json={"detail": f"no route {request.method} {request.url.path}"})
        body = answer(request) if callable(answer) else answer
        return body if isinstance(body, httpx2.Response) else httpx2.Response(200, json=body)

    credentials = (
        Credentials(bearer_token=SecretStr("kupe_test_token"))
        if bearer
        else Credentials(api_key=SecretStr("kupe_test_key"))
    )
    kupe = KupeClient(base_url="http://127.0.0.1:9", credentials=credentials, transport=httpx2.MockTransport(handler))
    settings = Settings(toolsets=("all",), calling_hours="off")
    async with Client(create_server(settings, kupe)) as mcp:
        yield mcp


def get(path: str, body: Any) -> Routes:
    return {("GET", path): body}


async def test_the_call_log_reports_kupes_total_not_the_page_length() -> None:
    page = {"items": [SESSION, {**SESSION, "request_id": "other"}], "total": 41, "page": 1, "page_size": 2}
    async with serving(get("/api/v1/call-analytics", page)) as mcp:
        out = await call(mcp, "get_call_analytics", page_size=2)
    assert (out["total"], out["next_page"], len(out["items"])) == (41, 2, 2)


async def test_the_call_log_total_is_kept_inside_a_data_envelope_too() -> None:
    page = {"success": True, "data": {"items": [SESSION], "total": 41}}
    async with serving(get("/api/v1/call-analytics", page)) as mcp:
        out = await call(mcp, "get_call_analytics", page_size=1)
    assert (out["total"], out["next_page"]) == (41, 2)


async def test_an_extra_top_level_key_does_not_hide_a_knowledge_file_list() -> None:
    files = [{"id": "f-1", "original_filename": "faq.pdf"}, {"id": "f-2", "original_filename": "menu.pdf"}]
    body = {"success": True, "message": "ok", "data": files, "count": 2, "timestamp": "2026-12-04T10:00:00Z"}
    async with serving(get("/api/v1/files/user/me", body)) as mcp:
        out = await call(mcp, "list_knowledge_files")
    assert [(i["id"], i["original_filename"]) for i in out["items"]] == [("f-1", "faq.pdf"), ("f-2", "menu.pdf")]


async def test_an_extra_top_level_key_does_not_hide_a_phone_mapping() -> None:
    body = {"success": True, "data": {"phone_number_id": PHONE_ID, "agent_id": AGENT_ID}, "timestamp": "now"}
    async with serving({("POST", "/api/v1/phone/mapping"): body}) as mcp:
        out = await call(mcp, "map_phone", phone_number_id=PHONE_ID, agent_id=AGENT_ID)
    assert (out["phone_number_id"], out["agent_id"]) == (PHONE_ID, AGENT_ID)


@asynccontextmanager
async def kupe_answering(body: Any, status: int = 200) -> AsyncIterator[KupeClient]:
    """A bare client whose Kupe answers every request with ``body``."""
    kupe = KupeClient(
        base_url="http://127.0.0.1:9",
        credentials=Credentials(api_key=SecretStr("kupe_test_key")),
        transport=httpx2.MockTransport(lambda _: httpx2.Response(status, json=body)),
    )
    async with kupe:
        yield kupe


async def test_an_extra_top_level_key_does_not_hide_a_created_batch() -> None:
    batch = {"id": BATCH_ID, "batch_name": "Reminders", "status": "draft", "agent_id": AGENT_ID}
    async with kupe_answering({"success": True, "message": "Batch created", "data": batch, "count": 1}, 201) as kupe:
        created = await kupe.create_batch({"batch_name": "Reminders"})
    assert (created.id, created.batch_name, created.status) == (BATCH_ID, "Reminders", "draft")


async def test_an_extra_top_level_key_does_not_hide_what_adding_recipients_did() -> None:
    body = {"success": True, "data": {"inserted": 2, "updated": 0, "failed": 1}, "timestamp": "now"}
    async with kupe_answering(body) as kupe:
        wrote = await kupe.upsert_batch_data(BATCH_ID, [{"to_phonenumber": "+15551234567"}])
    assert (wrote.inserted, wrote.updated, wrote.failed) == (2, 0, 1)


async def test_an_agent_answer_with_tools_as_an_object_is_read() -> None:
    body = {
        "agent": {"id": AGENT_ID, "name": "Asha", "extra_flag": True},
        "configurations": {"tools": {"http": [], "mcp": []}, "model_config": {"model_name": "gpt-4.1-mini"}},
        "validation_status": "valid",
    }
    async with serving(get(f"/api/v1/agents/{AGENT_ID}", body)) as mcp:
        out = await call(mcp, "get_agent", agent_id=AGENT_ID)
    assert out["agent"] == {"id": AGENT_ID, "name": "Asha", "extra_flag": True}
    assert out["configurations"]["tools"] == {"http": [], "mcp": []}


async def test_an_agent_answer_without_the_agent_row_is_read() -> None:
    async with serving(get(f"/api/v1/agents/{AGENT_ID}", {"validation_status": "valid"})) as mcp:
        out = await call(mcp, "get_agent", agent_id=AGENT_ID)
    assert out == {"validation_status": "valid"}


async def test_create_agent_keeps_the_agent_when_kupe_accepted_the_settings_with_an_odd_answer() -> None:
    created = {"agent": {"id": AGENT_ID, "name": "Asha", "is_active": False}, "configurations": {}}
    stored = {"agent": {"id": AGENT_ID, "name": "Asha"}, "configurations": {"model_config": {"system_prompt": "Hi"}}}
    sent: list[httpx2.Request] = []
    routes: dict[tuple[str, str], Any] = {
        ("POST", "/api/v1/agents/simple"): created,
        ("PUT", f"/api/v1/agents/{AGENT_ID}"): ["saved"],  # 200, but not an agent object
        ("GET", f"/api/v1/agents/{AGENT_ID}"): stored,
    }
    async with serving(routes, sent) as mcp:
        out = await call(mcp, "create_agent", name="Asha", system_prompt="Hi")
    assert [r.method for r in sent] == ["POST", "PUT", "GET"]  # never a DELETE
    assert out["configurations"]["model_config"]["system_prompt"] == "Hi"


@pytest.mark.parametrize(("asked", "stored"), [("call-abc-123", "call-abc-123"), (RID, RID.upper())])
async def test_a_request_id_is_a_plain_string_matched_as_kupe_matches_it(asked: str, stored: str) -> None:
    body = [{**SESSION, "request_id": stored}]
    async with serving(get("/api/v1/call-analytics", body)) as mcp:
        analytics = await call(mcp, "get_call_analytics", request_id=asked)
        transcript = await call(mcp, "get_call_transcript", request_id=asked)
        waited = await call(mcp, "wait_for_call", request_id=asked, timeout_s=5)
    assert [i["request_id"] for i in analytics["items"]] == [stored]
    assert transcript["summary"] == "Confirmed Tuesday."
    assert (waited["done"], waited["status"]) == (True, "completed")


async def test_a_request_id_longer_than_128_characters_is_refused_before_kupe_is_asked() -> None:
    """The cap is checked in code, not listed as maxLength (bytes every listing pays for)."""
    sent: list[httpx2.Request] = []
    async with serving(get("/api/v1/call-analytics", [SESSION]), sent) as mcp:
        text = await fail(mcp, "get_call_transcript", request_id="r" * 129)
    assert "request_id is at most 128 characters" in text
    assert sent == []


async def test_wait_for_call_finishes_on_a_session_that_names_its_state_call_status() -> None:
    session = {"request_id": RID, "call_status": "completed", "call_duration": 42, "summary": "Done."}
    async with serving(get("/api/v1/call-analytics", session)) as mcp:
        out = await call(mcp, "wait_for_call", request_id=RID, timeout_s=5)
    assert (out["done"], out["status"], out["duration"]) == (True, "completed", 42)


async def test_a_null_or_an_object_in_by_service_does_not_fail_the_usage_summary() -> None:
    body = {"success": True, "data": {"by_service": {"llm": 1.5, "tts": None, "stt": {"usd": 2}}, "currency": "USD"}}
    async with serving(get("/api/v1/billing/usage/summary", body)) as mcp:
        out = await call(mcp, "get_usage_summary")
    assert out["by_service"] == {"llm": 1.5}  # results leave nulls out
    assert out["currency"] == "USD"


async def test_update_feature_flags_is_not_reported_failed_for_an_odd_flag_in_the_answer() -> None:
    flags = {"outbound": True, "beta": None, "limits": {"calls": 3}}
    body = {"success": True, "data": {"user_id": USER_ID, "feature_flags": flags}}
    sent: list[httpx2.Request] = []
    async with serving({("PUT", f"/api/v1/feature-flags/{USER_ID}"): body}, sent, bearer=True) as mcp:
        out = await call(mcp, "update_feature_flags", user_id=USER_ID, flags={"outbound": True})
    assert out["feature_flags"] == {"outbound": True}  # results leave nulls out
    assert [r.method for r in sent] == ["PUT"]


async def test_a_502_from_test_outgoing_points_at_the_agents_url_not_at_retrying_kupe() -> None:
    failed = httpx2.Response(502, json={"detail": "POST https://crm.example/kupe answered 404"})
    async with serving({("POST", f"/api/v1/webhooks/agents/{AGENT_ID}/test-outgoing"): failed}) as mcp:
        text = await fail(mcp, "test_agent_webhook", agent_id=AGENT_ID)
    assert "call-ended URL" in text
    assert "set_agent_webhook" in text
    assert "retry later" not in text
