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
        assert agent.agent.first_response_message == "Hi, how can I help?"
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
        assert await client.export_call_analytics(request_id="req-1") == expected
        assert await client.export_billing_usage() == expected


@pytest.mark.anyio
async def test_create_call_failure_without_a_reason_still_raises() -> None:
    from kupe_mcp.errors import CallInitiationFailed

    reply = httpx2.Response(200, json={"status": "FAILED", "request_id": "req-3"})
    async with kupe_client(FakeKupe(reply)) as client:
        with pytest.raises(CallInitiationFailed, match="no reason given") as caught:
            await client.create_call("+15551234567", agent_id="agent-1")
    assert caught.value.request_id == "req-3"
    assert caught.value.call_session_id is None
