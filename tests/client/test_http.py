"""The one request path: error mapping, retries, write safety and URL quoting."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx2
import pytest

from kupe_mcp.client import CallStarted, CompleteAgent, KupeClient
from kupe_mcp.errors import (
    AuthenticationFailed,
    CallInitiationFailed,
    CallOutcomeUnknown,
    Conflict,
    InsufficientCredits,
    InvalidRequest,
    KupeAPIError,
    KupeConnectionError,
    KupeError,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    UnexpectedResponse,
)

from ._support import CALL_OK, CREDENTIALS, FakeKupe, Sleeps, kupe_client, query_of, raw_path

AGENT = {"agent": {"id": "agent-1", "name": "Support"}, "configurations": {}}
HTML_502 = httpx2.Response(
    502, content=b"<html><body><h1>502 Bad Gateway</h1></body></html>", headers={"content-type": "text/html"}
)


def detail(status: int, text: Any, **headers: str) -> httpx2.Response:
    return httpx2.Response(status, json={"detail": text}, headers=headers)


US_NUMBER = "+15551234567"

# -- error mapping ---------------------------------------------------------------------------------


E = TypeVar("E", bound=KupeError)


async def raised(
    expected: type[E],
    fake: FakeKupe,
    request: Callable[[KupeClient], Awaitable[object]],
    sleeps: Sleeps | None = None,
) -> E:
    """Send ``request`` on a client of ``fake`` (backing off into ``sleeps``): the error it raised, which must be
    exactly ``expected``."""
    async with kupe_client(fake, sleep=sleeps) as client:
        with pytest.raises(expected) as caught:
            await request(client)
    assert type(caught.value) is expected
    return caught.value


ERROR_CASES = [
    pytest.param(
        detail(400, "Agent name is required"), InvalidRequest, ["invalid", "Agent name is required"], id="400"
    ),
    pytest.param(detail(401, "Invalid API key"), AuthenticationFailed, ["Invalid API key", "KUPE_API_KEY"], id="401"),
    pytest.param(detail(402, "Insufficient credits"), InsufficientCredits, ["out of credits", "top up"], id="402"),
    pytest.param(
        detail(403, "Invalid origin"), PermissionDenied, ["Origin", "without an Origin header"], id="403-origin"
    ),
    pytest.param(detail(404, "Agent not found"), NotFound, ["Agent not found", "check the id"], id="404"),
    pytest.param(detail(409, "Batch already started"), Conflict, ["object's state", "Batch already started"], id="409"),
    # An active agent: the spec answers 400, the sandbox used to answer 409; both name force_update.
    pytest.param(
        detail(400, "Invalid state: agent is active, use force_update=true"),
        Conflict,
        ["because the agent is active", "pass force_update=true"],
        id="400-active-agent",
    ),
    pytest.param(
        detail(409, "Agent is active; pass force_update=true to change its configuration"),
        Conflict,
        ["because the agent is active", "pass force_update=true"],
        id="409-active-agent",
    ),
    pytest.param(
        detail(
            422,
            [
                {"loc": ["body", "name"], "msg": "Field required", "type": "missing"},
                {"loc": ["query", "force_update"], "msg": "Input should be a valid boolean", "type": "bool"},
            ],
        ),
        InvalidRequest,
        ["name: Field required; query.force_update: Input should be a valid boolean"],
        id="422-list-detail",
    ),
    pytest.param(
        detail(429, "Too many requests", **{"Retry-After": "30"}), RateLimited, ["rate limiting", "30s"], id="429"
    ),
    pytest.param(
        detail(500, "Telephony configuration error", **{"x-request-id": "req-500"}),
        ServerError,
        ["req-500", "Telephony configuration error", "Kupe's side"],
        id="500",
    ),
    pytest.param(HTML_502, UnexpectedResponse, ["HTML error page", "502"], id="502-html"),
    pytest.param(
        httpx2.Response(200, content=b'{"agent": {"id": "agent-1", "na', headers={"content-type": "application/json"}),
        UnexpectedResponse,
        ["not valid JSON"],
        id="200-truncated-json",
    ),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("reply", "error", "fragments"), ERROR_CASES)
async def test_error_statuses_map_to_one_actionable_error(
    reply: httpx2.Response, error: type[KupeError], fragments: list[str]
) -> None:
    fake = FakeKupe(reply)
    failure = await raised(error, fake, lambda client: client.create_agent_simple("Support"))
    message = str(failure)
    # Every error names the route, except a rejected credential: that is about the whole account, not one call.
    assert ("/api/v1/agents/simple" in message) is (error is not AuthenticationFailed)
    for fragment in fragments:
        assert fragment in message
    assert len(fake.requests) == 1


@pytest.mark.anyio
async def test_error_carries_status_detail_route_and_request_id() -> None:
    fake = FakeKupe(detail(500, "boom", **{"x-request-id": "req-9"}))
    failure = await raised(ServerError, fake, lambda client: client.get_batch("batch-1"))
    assert (failure.status, failure.detail, failure.method, failure.path, failure.request_id) == (
        500,
        "boom",
        "GET",
        "/api/v1/batch-call/batch-1",
        "req-9",
    )


@pytest.mark.anyio
async def test_missing_scope_names_the_route_and_the_scope() -> None:
    fake = FakeKupe(detail(403, "Forbidden: API Key does not have required scopes"))
    failure = await raised(PermissionDenied, fake, lambda client: client.list_model_providers())
    message = str(failure)
    assert "lacks the scope for GET /api/v1/providers/model" in message
    assert "does not have required scopes" in message
    assert len(fake.requests) == 1


@pytest.mark.anyio
async def test_rate_limit_exposes_retry_after_seconds() -> None:
    fake = FakeKupe(detail(429, "slow down", **{"Retry-After": "30"}))
    failure = await raised(RateLimited, fake, lambda client: client.create_agent_simple("Support"))
    assert failure.retry_after == 30.0


@pytest.mark.anyio
async def test_answer_that_does_not_fit_the_model_is_unexpected_response_naming_the_field() -> None:
    fake = FakeKupe(httpx2.Response(200, json={"message": "ok", "email": "a@example.com"}))
    failure = await raised(UnexpectedResponse, fake, lambda client: client.me())
    assert "GET /api/v1/me" in str(failure)
    assert "user_id is missing" in str(failure)


# -- retries -------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_get_survives_one_503() -> None:
    fake = FakeKupe(detail(503, "busy"), httpx2.Response(200, json=AGENT))
    sleeps = Sleeps()
    async with kupe_client(fake, sleep=sleeps) as client:
        agent = await client.get_agent("agent-1")
    assert agent.agent_id == "agent-1"
    assert len(fake.requests) == 2
    [delay] = sleeps
    assert 0.125 <= delay <= 0.25


@pytest.mark.anyio
async def test_get_survives_a_dropped_connection() -> None:
    fake = FakeKupe(httpx2.ReadError("connection reset"), httpx2.Response(200, json=AGENT))
    sleeps = Sleeps()
    async with kupe_client(fake, sleep=sleeps) as client:
        assert isinstance(await client.get_agent("agent-1"), CompleteAgent)
    assert len(fake.requests) == 2
    assert len(sleeps) == 1


@pytest.mark.anyio
async def test_get_honours_retry_after_on_429() -> None:
    fake = FakeKupe(detail(429, "slow down", **{"Retry-After": "2"}), httpx2.Response(200, json=AGENT))
    sleeps = Sleeps()
    async with kupe_client(fake, sleep=sleeps) as client:
        await client.get_agent("agent-1")
    assert sleeps == [2.0]
    assert len(fake.requests) == 2


@pytest.mark.anyio
async def test_retry_after_beyond_the_budget_is_not_waited_for() -> None:
    fake = FakeKupe(detail(429, "slow down", **{"Retry-After": "60"}), httpx2.Response(200, json=AGENT))
    sleeps = Sleeps()
    async with kupe_client(fake, sleep=sleeps) as client:
        with pytest.raises(RateLimited) as caught:
            await client.get_agent("agent-1")
    assert caught.value.retry_after == 60.0
    assert sleeps == []
    assert len(fake.requests) == 1


@pytest.mark.anyio
async def test_retries_stop_after_three_attempts() -> None:
    fake = FakeKupe(detail(503, "still busy"))
    sleeps = Sleeps()
    async with kupe_client(fake, sleep=sleeps) as client:
        with pytest.raises(ServerError):
            await client.get_agent("agent-1")
    assert len(fake.requests) == 3
    first, second = sleeps
    assert 0.125 <= first <= 0.25
    assert 0.25 <= second <= 0.5  # exponential back-off with jitter


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("call", "method"),
    [
        pytest.param(lambda c: c.update_agent("agent-1", {"agent": {"name": "X"}}), "PUT", id="PUT"),
        pytest.param(lambda c: c.delete_agent("agent-1"), "DELETE", id="DELETE"),
    ],
)
@pytest.mark.parametrize(
    "first",
    [pytest.param(HTML_502, id="502"), pytest.param(httpx2.ReadTimeout("slow"), id="read-timeout")],
)
async def test_put_and_delete_are_retried(call: Any, method: str, first: httpx2.Response | Exception) -> None:
    fake = FakeKupe(first, httpx2.Response(200, json=AGENT))
    sleeps = Sleeps()
    async with kupe_client(fake, sleep=sleeps) as client:
        await call(client)
    assert [r.method for r in fake.requests] == [method, method]
    assert len(sleeps) == 1


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("reply", "error"),
    [
        pytest.param(detail(500, "Telephony configuration error"), CallOutcomeUnknown, id="500"),
        pytest.param(detail(503, "busy"), CallOutcomeUnknown, id="503"),
        pytest.param(detail(504, "gateway timeout"), CallOutcomeUnknown, id="504-json"),
        pytest.param(httpx2.Response(502, content=b"<html>Bad Gateway</html>"), CallOutcomeUnknown, id="502-html"),
        pytest.param(httpx2.Response(200, content=b""), CallOutcomeUnknown, id="empty-2xx"),
        pytest.param(httpx2.Response(200, content=b"{not json"), CallOutcomeUnknown, id="malformed-2xx"),
        pytest.param(detail(429, "slow down", **{"Retry-After": "1"}), KupeAPIError, id="429"),
        pytest.param(detail(402, "no credits"), KupeAPIError, id="402"),
        pytest.param(httpx2.Response(200, json={"status": "failed"}), CallInitiationFailed, id="200-failed"),
    ],
)
async def test_create_call_reaches_kupe_exactly_once_and_a_lost_answer_is_an_unknown_outcome(
    reply: httpx2.Response, error: type[Exception]
) -> None:
    fake = FakeKupe(reply, httpx2.Response(200, json=CALL_OK))
    sleeps = Sleeps()
    async with kupe_client(fake, sleep=sleeps) as client:
        with pytest.raises(error) as caught:
            await client.create_call("+15551234567", agent_id="agent-1")
    if error is CallOutcomeUnknown:
        assert "the outcome is unknown: check get_call_analytics before calling again" in str(caught.value)
    assert len(fake.requests) == 1
    assert sleeps == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(httpx2.Response(502, content=b"<html>Bad Gateway</html>"), id="502-html"),
        pytest.param(detail(500, "boom"), id="500"),
        pytest.param(httpx2.Response(504, json={"detail": "upstream timeout"}), id="504-json"),
    ],
)
async def test_a_batch_start_whose_answer_was_lost_is_an_unknown_outcome(reply: httpx2.Response) -> None:
    fake = FakeKupe(reply)
    failure = await raised(CallOutcomeUnknown, fake, lambda client: client.start_batch("batch-1"))
    assert "POST /api/v1/batch-call/start/batch-1 was lost" in str(failure)
    assert "check get_batch before calling again" in str(failure)
    assert len(fake.requests) == 1


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("failure", "error"),
    [
        pytest.param(httpx2.ReadTimeout("timed out"), "timed out", id="read-timeout"),
        pytest.param(httpx2.RemoteProtocolError("Server disconnected"), "the connection dropped", id="dropped"),
        pytest.param(httpx2.ReadError("connection reset by peer"), "the connection dropped", id="reset"),
    ],
)
async def test_create_call_after_sending_is_not_retried_and_says_the_call_may_be_placed(
    failure: Exception, error: str
) -> None:
    fake = FakeKupe(failure, httpx2.Response(200, json=CALL_OK))
    sleeps = Sleeps()
    lost = await raised(
        CallOutcomeUnknown, fake, lambda client: client.create_call("+15551234567", agent_id="agent-1"), sleeps
    )
    assert lost.may_have_reached is True
    assert f"was lost ({error}), so the call may have been placed: the outcome is unknown" in str(lost)
    assert (lost.method, lost.path) == ("POST", "/api/call/create_call")
    assert len(fake.requests) == 1
    assert sleeps == []


@pytest.mark.anyio
async def test_post_is_retried_when_the_connection_could_not_be_opened() -> None:
    fake = FakeKupe(httpx2.ConnectError("connection refused"), httpx2.Response(200, json=CALL_OK))
    sleeps = Sleeps()
    async with kupe_client(fake, sleep=sleeps) as client:
        started = await client.create_call("+15551234567", agent_id="agent-1")
    assert isinstance(started, CallStarted)
    assert started.call_session_id == "sess-1"
    assert len(fake.requests) == 2
    assert len(sleeps) == 1


@pytest.mark.anyio
async def test_post_that_never_connected_says_it_did_not_reach_kupe() -> None:
    fake = FakeKupe(httpx2.ConnectError("connection refused"))
    failure = await raised(
        KupeConnectionError, fake, lambda client: client.create_call("+15551234567", agent_id="agent-1")
    )
    assert failure.may_have_reached is False
    assert "may have been placed" not in str(failure)
    assert "KUPE_BASE_URL" in str(failure)
    assert len(fake.requests) == 3


@pytest.mark.anyio
async def test_call_initiation_failed_carries_the_ids() -> None:
    failed = {
        "status": "failed",
        "request_id": "req-7",
        "call_session_id": "sess-7",
        "user_id": "user-1",
        "telephony_provider": "pstn",
        "target_number": "+15551234567",
        "detail": "Destination number is not reachable",
    }
    fake = FakeKupe(httpx2.Response(200, json=failed))
    failure = await raised(
        CallInitiationFailed, fake, lambda client: client.create_call("+15551234567", agent_id="agent-1")
    )
    assert (failure.request_id, failure.call_session_id) == ("req-7", "sess-7")
    assert failure.detail == "Destination number is not reachable"
    assert "req-7" in str(failure)
    assert "sess-7" in str(failure)
    assert len(fake.requests) == 1


# -- URL quoting and tenants -----------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("agent_id", "sent"),
    [
        pytest.param("../x", "..%2Fx", id="parent-then-segment"),
        pytest.param("a/b", "a%2Fb", id="slash"),
        pytest.param("x?force_delete=true#f", "x%3Fforce_delete%3Dtrue%23f", id="query-and-fragment"),
        pytest.param("%2e%2e", "%252e%252e", id="pre-encoded"),
        pytest.param("agent 1", "agent%201", id="space"),
    ],
)
async def test_path_params_are_url_quoted_and_cannot_change_the_route(agent_id: str, sent: str) -> None:
    fake = FakeKupe()
    async with kupe_client(fake) as client:
        await client.delete_agent(agent_id)
    [request] = fake.requests
    assert request.method == "DELETE"
    assert raw_path(request) == f"/api/v1/agents/{sent}"
    assert query_of(request) == {}


@pytest.mark.anyio
async def test_every_path_param_of_a_route_is_quoted() -> None:
    fake = FakeKupe()
    async with kupe_client(fake) as client:
        await client.detach_file("../agents", "x/../../y")
    assert raw_path(fake.requests[0]) == "/api/v1/agent-files-mappings/agent/..%2Fagents/file/x%2F..%2F..%2Fy"


@pytest.mark.anyio
@pytest.mark.parametrize("agent_id", ["..", "."])
async def test_dot_segment_ids_are_refused_before_any_request(agent_id: str) -> None:
    fake = FakeKupe()
    async with kupe_client(fake) as client:
        with pytest.raises(ValueError, match="agent_id"):
            await client.delete_agent(agent_id)
    assert fake.requests == []


@pytest.mark.anyio
async def test_with_credentials_view_authenticates_as_the_other_tenant() -> None:
    fake = FakeKupe(httpx2.Response(200, json={"user_id": "user-2"}))
    async with kupe_client(fake) as client:
        tenant = client.with_credentials(CREDENTIALS["bearer"])
        await tenant.request("GET", "/api/v1/me")
        await client.request("GET", "/api/v1/me")
    first, second = fake.requests
    assert first.headers["authorization"].startswith("Bearer ")
    assert "x-api-key" not in first.headers
    assert "authorization" not in second.headers
    assert "x-api-key" in second.headers


@pytest.mark.anyio
async def test_a_redirect_is_an_unexpected_response_naming_the_base_url_setting() -> None:
    fake = FakeKupe(httpx2.Response(301, headers={"location": "https://api.kupe.in/api/v1/me"}))
    async with kupe_client(fake) as client:
        with pytest.raises(UnexpectedResponse) as err:
            await client.me()
    assert "KUPE_BASE_URL" in str(err.value)
    assert len(fake.requests) == 1


@pytest.mark.anyio
async def test_an_odd_value_is_left_out_and_logged_by_field_and_type_and_the_rest_is_read(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = {"success": True, "data": {"id": "b-1", "batch_name": "Reminders", "batch_size": {"max": 5}}}
    async with kupe_client(FakeKupe(httpx2.Response(200, json=body))) as client:
        with caplog.at_level(logging.WARNING, logger="kupe_mcp.client"):
            batch = await client.get_batch("b-1")
    assert (batch.id, batch.batch_name, batch.batch_size) == ("b-1", "Reminders", None)
    [record] = [r for r in caplog.records if r.name == "kupe_mcp.client"]
    assert "batch_size (got an object)" in record.getMessage()
    assert "max" not in record.getMessage()


@pytest.mark.anyio
async def test_an_unreadable_answer_to_a_write_says_the_change_was_made() -> None:
    fake = FakeKupe(httpx2.Response(200, json=["saved"]))
    async with kupe_client(fake) as client:
        with pytest.raises(UnexpectedResponse) as caught:
            await client.update_agent("agent-1", {"agent": {"name": "x"}})
    assert "the body got a list" in str(caught.value)
    assert "the change was made" in str(caught.value)
    assert "report this" not in str(caught.value)
