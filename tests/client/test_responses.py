"""How the client reads Kupe's answers: models, aliases, envelopes, exports."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from kupe_mcp.client import BatchRecipient, CompleteAgent, PhoneNumber
from kupe_mcp.errors import UnexpectedResponse

from ._support import FakeKupe, kupe_client

LINE = {"id": "phone-1", "phone_number": "+15550001111", "is_active": True, "provider": "twilio"}


def test_complete_agent_reads_the_welcome_line_under_either_name() -> None:
    for key in ("first_response_message", "welcome_message"):
        agent = CompleteAgent.model_validate({"agent": {"id": "agent-1", key: "Hi, how can I help?"}})
        assert agent.to_json()["agent"]["first_response_message"] == "Hi, how can I help?"
        assert agent.agent_id == "agent-1"


def test_complete_agent_keeps_unknown_fields_and_the_model_config_section() -> None:
    agent = CompleteAgent.model_validate(
        {
            "agent": {"id": "agent-1", "voice_tier": "premium"},
            "configurations": {"model_config": {"model_name": "gpt-4.1-mini"}, "tools": [{"id": "t"}]},
        }
    )
    assert agent.configurations is not None
    assert agent.configurations.llm_config == {"model_name": "gpt-4.1-mini"}
    dumped = agent.to_json()
    assert dumped["agent"]["voice_tier"] == "premium"
    assert dumped["configurations"]["model_config"] == {"model_name": "gpt-4.1-mini"}


def test_complete_agent_accepts_a_success_envelope() -> None:
    agent = CompleteAgent.model_validate({"message": "created", "data": {"agent": {"id": "agent-9"}}})
    assert agent.agent_id == "agent-9"


@pytest.mark.anyio
@pytest.mark.parametrize(
    "body",
    [
        pytest.param([LINE], id="bare-list"),
        pytest.param({"success": True, "phone_numbers": [LINE]}, id="phone_numbers"),
        pytest.param({"data": [LINE]}, id="data"),
        pytest.param({"success": True, "data": {"phone_numbers": [LINE]}}, id="nested"),
    ],
)
async def test_list_phone_numbers_tolerates_a_bare_list_or_an_envelope(body: Any) -> None:
    async with kupe_client(FakeKupe(httpx2.Response(200, json=body))) as client:
        lines = await client.list_phone_numbers()
    assert lines == [PhoneNumber.model_validate(LINE)]
    assert lines[0].model_extra == {"provider": "twilio"}


@pytest.mark.anyio
async def test_list_phone_numbers_with_no_list_is_an_unexpected_response() -> None:
    async with kupe_client(FakeKupe(httpx2.Response(200, json={"success": True}))) as client:
        with pytest.raises(UnexpectedResponse, match="GET /api/v1/phone"):
            await client.list_phone_numbers()


@pytest.mark.anyio
@pytest.mark.parametrize(
    "body",
    [
        pytest.param([{"to_phonenumber": "15551234567", "status": "no_answer"}], id="bare-list"),
        pytest.param({"success": True, "data": [{"to_phonenumber": "15551234567", "status": "no_answer"}]}, id="data"),
    ],
)
async def test_list_batch_data_reads_recipients(body: Any) -> None:
    async with kupe_client(FakeKupe(httpx2.Response(200, json=body))) as client:
        rows = await client.list_batch_data("batch-1")
    assert rows == [BatchRecipient(to_phonenumber="15551234567", status="no_answer")]
    assert rows[0].to_phonenumber == "+15551234567"  # Kupe's digits, read back as the E.164 we sent


@pytest.mark.parametrize(
    ("stored", "read"),
    [
        ("14155550142", "+14155550142"),
        ("+919876543210", "+919876543210"),
        (" 4930123456 ", "+4930123456"),
        ("not a number", "not a number"),  # left for the call-safety rules to refuse
        ("", ""),
    ],
)
def test_a_recipient_number_kupe_stores_as_digits_is_read_as_international(stored: str, read: str) -> None:
    assert BatchRecipient(to_phonenumber=stored).to_phonenumber == read


@pytest.mark.anyio
async def test_batch_status_exposes_the_counts() -> None:
    body = {"success": True, "data": {"batch": {"status": "in_progress"}, "status_counts": {"failed": 2, "total": 9}}}
    async with kupe_client(FakeKupe(httpx2.Response(200, json=body))) as client:
        status = await client.get_batch_status("batch-1")
    assert status.data is not None
    assert status.data.status_counts is not None
    assert (status.data.status_counts.failed, status.data.status_counts.total) == (2, 9)


@pytest.mark.anyio
async def test_search_result_keeps_hybrid_score_objects_and_treats_null_as_empty() -> None:
    body = {"success": True, "data": ["a"], "scores": [{"combined_score": 0.9, "distance": 0.1}]}
    async with kupe_client(FakeKupe(httpx2.Response(200, json=body), httpx2.Response(200, json={"data": None}))) as c:
        hybrid = await c.search_hybrid("agent-1", "fee")
        empty = await c.search_semantic("agent-1", "nothing")
    assert hybrid.scores == [{"combined_score": 0.9, "distance": 0.1}]
    assert (empty.data, empty.scores) == ([], [])


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        pytest.param(httpx2.Response(200, content=b"PK\x03\x04zip"), b"PK\x03\x04zip", id="zip-bytes"),
        pytest.param(httpx2.Response(200, content=b"a,b\n1,2\n"), b"a,b\n1,2\n", id="csv-bytes"),
        pytest.param(httpx2.Response(200, content=b"42"), b"42", id="json-scalar-stays-bytes"),
        pytest.param(httpx2.Response(200, json={"message": "emailed"}), {"message": "emailed"}, id="json-ack"),
    ],
)
async def test_exports_return_the_file_or_the_json_acknowledgement(reply: httpx2.Response, expected: Any) -> None:
    async with kupe_client(FakeKupe(reply, reply)) as client:
        for got in (await client.export_call_analytics(request_id="req-1"), await client.export_billing_usage()):
            assert (got.content if got.ack is None else got.ack.to_json()) == expected


@pytest.mark.anyio
async def test_create_call_failure_without_a_reason_still_raises() -> None:
    from kupe_mcp.errors import CallInitiationFailed

    reply = httpx2.Response(200, json={"status": "FAILED", "request_id": "req-3"})
    async with kupe_client(FakeKupe(reply)) as client:
        with pytest.raises(CallInitiationFailed, match="no reason given") as caught:
            await client.create_call("+15551234567", agent_id="agent-1")
    assert caught.value.request_id == "req-3"
    assert caught.value.call_session_id is None


SESSION = {"request_id": "req-1", "status": "completed", "transcript": [{"role": "agent", "text": "Hello."}]}


@pytest.mark.anyio
@pytest.mark.parametrize(
    "body",
    [
        pytest.param(SESSION, id="bare"),
        pytest.param({"success": True, "data": SESSION}, id="data-object"),
        pytest.param([SESSION], id="one-item-list"),
        pytest.param({"data": [SESSION]}, id="data-list"),
        pytest.param({"sessions": [SESSION], "total": 1}, id="sessions"),
    ],
)
async def test_one_call_session_is_found_in_every_envelope_kupe_uses(body: Any) -> None:
    async with kupe_client(FakeKupe(httpx2.Response(200, json=body))) as client:
        session = await client.call_session("req-1")
    assert session is not None
    assert (session.request_id, session.status) == ("req-1", "completed")
    assert session.transcript == SESSION["transcript"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    "body",
    [
        pytest.param([{**SESSION, "request_id": "req-2"}], id="another-call"),
        pytest.param({"total": 0}, id="an-empty-page-object"),
        pytest.param({"data": []}, id="no-rows"),
    ],
)
async def test_an_answer_without_the_asked_session_is_none_not_another_call(body: Any) -> None:
    async with kupe_client(FakeKupe(httpx2.Response(200, json=body))) as client:
        assert await client.call_session("req-1") is None


@pytest.mark.anyio
async def test_a_lone_session_that_does_not_echo_its_request_id_is_still_read() -> None:
    lone = {k: v for k, v in SESSION.items() if k != "request_id"}
    async with kupe_client(FakeKupe(httpx2.Response(200, json={"data": lone}))) as client:
        session = await client.call_session("req-1")
    assert session is not None
    assert session.status == "completed"


@pytest.mark.anyio
@pytest.mark.parametrize(
    "body",
    [
        pytest.param([{"id": "agent-1", "name": "Support"}], id="array-as-documented"),
        pytest.param({"agents": [{"id": "agent-1", "name": "Support"}]}, id="agents-object"),
        pytest.param({"data": [{"id": "agent-1", "name": "Support"}]}, id="data-envelope"),
    ],
)
async def test_list_agents_reads_the_documented_array_and_the_object_forms(body: Any) -> None:
    async with kupe_client(FakeKupe(httpx2.Response(200, json=body))) as client:
        agents = await client.list_agents()
    assert [(a.id, a.name) for a in agents] == [("agent-1", "Support")]


@pytest.mark.anyio
@pytest.mark.parametrize("status", [200, 204])
async def test_an_empty_2xx_answer_is_an_empty_result_not_an_error(status: int) -> None:
    replies = [httpx2.Response(status) for _ in range(3)]
    async with kupe_client(FakeKupe(*replies)) as client:
        deleted = await client.delete_agent("agent-1")
        rules = await client.list_analysis_rules()
        mapping = await client.get_phone_mapping("phone-1")
    assert deleted.to_json() == {}
    assert rules == []
    assert mapping.agent_id is None


@pytest.mark.anyio
async def test_410_gone_names_the_route_kupe_documents_instead() -> None:
    from kupe_mcp.errors import Gone

    reply = httpx2.Response(410, json={"detail": "This endpoint has been removed"})
    async with kupe_client(FakeKupe(reply)) as client:
        with pytest.raises(Gone) as caught:
            await client.request("POST", "/organizations/{org_id}/billing/assign-credits", path_params={"org_id": "o1"})
    message = str(caught.value)
    assert "410 Gone" in message
    assert "use POST /api/v1/wallets/{wallet_id}/grants instead" in message


@pytest.mark.anyio
async def test_410_on_a_route_without_a_documented_successor_says_where_to_look() -> None:
    from kupe_mcp.errors import Gone

    async with kupe_client(FakeKupe(httpx2.Response(410, json={"detail": "gone"}))) as client:
        with pytest.raises(Gone, match="check Kupe's API docs for the route that replaced it"):
            await client.get_agent("agent-1")


@pytest.mark.anyio
async def test_exports_ask_for_the_file_types_they_download() -> None:
    fake = FakeKupe(httpx2.Response(200, content=b"PK\x03\x04"), httpx2.Response(200, content=b"a,b\n"))
    async with kupe_client(fake) as client:
        await client.export_call_analytics(request_id="req-1")
        await client.export_billing_usage()
    zip_accept, csv_accept = (r.headers["accept"] for r in fake.requests)
    assert "application/zip" in zip_accept
    assert "text/csv" in csv_accept


@pytest.mark.anyio
async def test_json_routes_still_ask_for_json() -> None:
    fake = FakeKupe(httpx2.Response(200, json={"user_id": "u1", "auth": "api_key"}))
    async with kupe_client(fake) as client:
        await client.me()
    assert fake.requests[0].headers["accept"] == "application/json"


def test_a_noise_asset_without_its_name_is_refused_as_the_spec_requires_both() -> None:
    from pydantic import ValidationError

    from kupe_mcp.client import NoiseAsset

    with pytest.raises(ValidationError):
        NoiseAsset.model_validate({"id": "rain.wav"})
