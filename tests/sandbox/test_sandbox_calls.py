"""Outbound calls: validation, lazy progression, billing, analytics and export."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import httpx2
import pytest

from kupe_mcp.sandbox import NO_CREDIT_API_KEY, Sandbox
from kupe_mcp.sandbox._seed import HISTORY_CALLS

from .conftest import ClientFactory, FakeClock, demo_agent_id, phone_ids

pytestmark = pytest.mark.anyio


async def _call(client: httpx2.AsyncClient, number: str = "+15551234567", **kwargs: Any) -> httpx2.Response:
    agent_id = await demo_agent_id(client)
    params = {"phoneNumber": number, "agent_id": agent_id, **kwargs.pop("params", {})}
    return await client.post("/api/call/create_call", params=params, **kwargs)


async def _session(client: httpx2.AsyncClient, request_id: str) -> dict[str, Any]:
    response = await client.get("/api/v1/call-analytics", params={"request_id": request_id})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def _balance(client: httpx2.AsyncClient) -> float:
    value: float = (await client.get("/api/v1/billing/credit-balance")).json()["balance_usd"]
    return value


async def test_create_call_answers_success_with_ids_and_lines(client: httpx2.AsyncClient) -> None:
    body = (await _call(client)).json()
    assert body["status"] == "success"
    assert set(body) == {
        "status",
        "request_id",
        "call_session_id",
        "user_id",
        "telephony_provider",
        "target_number",
        "from_phone_number",
        "telephony_leg_id",
    }
    assert body["telephony_provider"] == "pstn"
    assert body["target_number"] == "+15551234567"


async def test_create_call_to_a_number_ending_0000_answers_200_with_status_failed(client: httpx2.AsyncClient) -> None:
    response = await _call(client, "+15551230000")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "failed"
    assert body["detail"] == "Destination unreachable: carrier rejected the number"
    assert {"request_id", "call_session_id", "user_id", "telephony_provider", "target_number"} <= set(body)
    assert (await _session(client, body["request_id"]))["status"] == "failed"


@pytest.mark.parametrize("number", ["15551234567", "+1555", "+1555123456789012", "+1-555-abc-4567", " 15551234567"])
async def test_create_call_rejects_numbers_that_are_not_e164_with_400(client: httpx2.AsyncClient, number: str) -> None:
    response = await _call(client, number)
    assert response.status_code == 400
    assert "E.164" in response.json()["detail"]


async def test_create_call_without_phone_number_is_a_422(client: httpx2.AsyncClient) -> None:
    response = await client.post("/api/call/create_call", params={"agent_id": await demo_agent_id(client)})
    assert response.status_code == 422


async def test_create_call_honours_the_origin_allow_list(client: httpx2.AsyncClient) -> None:
    denied = await _call(client, headers={"origin": "https://evil.example"})
    assert (denied.status_code, denied.json()) == (403, {"detail": "Origin not allowed"})
    assert (await _call(client, headers={"origin": "https://app.kupe.in"})).status_code == 200


async def test_create_call_without_credit_is_402(make_client: ClientFactory) -> None:
    async with make_client(**{"x-api-key": NO_CREDIT_API_KEY}) as broke:
        agent = (await broke.post("/api/v1/agents/simple", json={"name": "Broke"})).json()["agent"]["id"]
        response = await broke.post("/api/call/create_call", params={"phoneNumber": "+15551234567", "agent_id": agent})
    assert response.status_code == 402
    assert response.json()["detail"].startswith("Insufficient credits")


async def test_create_call_checks_the_phone_line_belongs_to_the_caller(
    client: httpx2.AsyncClient, make_client: ClientFactory
) -> None:
    async with make_client(**{"x-api-key": NO_CREDIT_API_KEY}) as other:
        foreign = (await phone_ids(other))["US"]
    assert (await _call(client, params={"phone_number_id": foreign})).status_code == 403
    own = (await phone_ids(client))["US"]
    placed = (await _call(client, params={"phone_number_id": own})).json()
    assert placed["from_phone_number"] == "+14155550123"


async def test_call_progresses_lazily_and_bills_exactly_once(client: httpx2.AsyncClient, clock: FakeClock) -> None:
    before = await _balance(client)
    placed = (await _call(client, json={"variable_values": {"name": "Alex", "appointment_date": "Monday"}})).json()
    seen = []
    for _ in range(4):
        seen.append((await _session(client, placed["request_id"]))["status"])
        clock.advance(2.0)
    assert seen == ["queued", "ringing", "in_progress", "completed"]
    session = await _session(client, placed["request_id"])
    assert session["transcript"][0] == {
        "role": "assistant",
        "text": "Hi Alex, this is Asha from Sunrise Dental Clinic. Is this a good time to talk?",
        "timestamp": session["transcript"][0]["timestamp"],
    }
    assert {t["role"] for t in session["transcript"]} == {"assistant", "user"}
    assert session["duration"] > 0
    assert session["recording_url"].startswith("https://sandbox.kupe.local/")
    assert "Alex" in session["summary"]
    [analysis] = session["post_call_analysis_results"]
    assert {"rule_id", "rule_name", "structured_json"} <= set(analysis)
    clock.advance(60)
    await _session(client, placed["request_id"])
    assert await _balance(client) == pytest.approx(before - session["cost"])
    usage = (await client.get(f"/api/v1/billing/usage/sessions/{placed['call_session_id']}")).json()
    assert usage["total_cost_usd"] == pytest.approx(session["cost"])


async def test_zero_step_completes_calls_immediately(sandbox: Sandbox, client: httpx2.AsyncClient) -> None:
    sandbox.settings.call_step_s = 0
    placed = (await _call(client)).json()
    assert (await _session(client, placed["request_id"]))["status"] == "completed"


async def test_call_analytics_pages_filters_and_lists(client: httpx2.AsyncClient) -> None:
    for _ in range(3):
        await _call(client)
    paged = (await client.get("/api/v1/call-analytics", params={"page": 1, "page_size": 2})).json()
    assert set(paged) == {"items", "total", "page", "page_size", "total_pages"}
    seeded = 1 + HISTORY_CALLS
    assert (paged["total"], len(paged["items"]), paged["total_pages"]) == (seeded + 3, 2, (seeded + 4) // 2)
    everything = (await client.get("/api/v1/call-analytics")).json()
    assert isinstance(everything, list)
    assert len(everything) == seeded + 3
    rid = everything[0]["request_id"]
    filtered = (await client.get("/api/v1/call-analytics", params={"filter": rid[:8]})).json()
    assert [s["request_id"] for s in filtered] == [rid]
    missing = await client.get("/api/v1/call-analytics", params={"request_id": "nope"})
    assert missing.status_code == 404


async def test_export_is_a_zip_for_one_call_and_queued_for_a_range(client: httpx2.AsyncClient) -> None:
    rid = (await client.get("/api/v1/call-analytics")).json()[0]["request_id"]
    single = await client.get("/api/v1/call-analytics/export", params={"request_id": rid})
    assert single.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(single.content)).namelist()
    assert "transcript.txt" in names
    bulk = await client.get(
        "/api/v1/call-analytics/export", params={"start_date": "2025-12-01", "end_date": "2026-01-31"}
    )
    assert bulk.json()["success"] is True
    assert bulk.json()["sessions"] == 1 + HISTORY_CALLS
    assert (await client.get("/api/v1/call-analytics/export")).status_code == 400
