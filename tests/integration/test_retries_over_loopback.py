"""Retries and write safety over a real socket, driven by the sandbox's fault injection.

Back-offs go through an injected ``sleep`` that records the delay instead of waiting;
where a test needs "fail once, then succeed" that same callback switches the sandbox's
faults off, so the second attempt is deterministic. Attempts are counted from the
sandbox's request log, i.e. from what really arrived on the server socket.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import pytest

from kupe_mcp.client import KupeClient, RetryPolicy
from kupe_mcp.errors import (
    CallOutcomeUnknown,
    KupeConnectionError,
    RateLimited,
    ServerError,
    UnexpectedResponse,
)
from kupe_mcp.sandbox import SandboxServer, SandboxSettings
from kupe_mcp.sandbox._seed import DEMO_AGENT_ID, DEMO_USER_ID

from .conftest import Sleeps, make_client

pytestmark = pytest.mark.anyio

CALL_PATH = "/api/call/create_call"
ME_PATH = "/api/v1/me"


def _faults(server: SandboxServer, kind: str, rate: float = 1.0) -> None:
    server.sandbox.settings.fault_kinds = (kind,)
    server.sandbox.settings.fault_rate = rate


def _attempts(server: SandboxServer, method: str, path: str) -> int:
    return server.sandbox.request_log.count((method, path))


E = TypeVar("E", bound=Exception)


async def raised_by(
    target: SandboxServer | str,
    expected: type[E],
    request: Callable[[KupeClient], Awaitable[object]],
    *,
    timeout_s: float = 10.0,
    retry: RetryPolicy | None = None,
) -> tuple[E, Sleeps]:
    """Send ``request`` on a fresh client to ``target``: the error it raised, and the back-offs it took."""
    sleeps = Sleeps()
    async with make_client(target, sleep=sleeps, timeout_s=timeout_s, retry=retry) as kupe:
        with pytest.raises(expected) as caught:
            await request(kupe)
    return caught.value, sleeps


async def fails_under(
    server: SandboxServer, kind: str, expected: type[E], request: Callable[[KupeClient], Awaitable[object]]
) -> tuple[E, Sleeps]:
    """Fault every request with ``kind``, send ``request`` on a fresh client: the error it raised, and the back-offs."""
    _faults(server, kind)
    return await raised_by(server, expected, request)


class ScriptedFaults(Sleeps):
    """Back-offs recorded, never waited for; each one sets whether the next attempt meets a 503.

    The script is one tuple per call, one entry per attempt the sandbox should see:
    ``"503"`` for a fault, ``"ok"`` for an answer. The client's retry loop is then observed
    against a sequence the test states, not one it recomputes.
    """

    def __init__(self, server: SandboxServer) -> None:
        super().__init__()
        self.server = server
        self.pending: list[str] = []

    def start(self, attempts: tuple[str, ...]) -> None:
        self.pending = list(attempts)
        self._next()

    def _next(self) -> None:
        fault = self.pending.pop(0) if self.pending else "ok"
        self.server.sandbox.settings.fault_rate = 1.0 if fault == "503" else 0.0

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)
        self._next()


async def test_gets_ride_out_scripted_503s_with_exactly_the_attempts_the_script_allows() -> None:
    script = [("503", "ok"), ("ok",), ("503", "503", "503"), ("503", "503", "ok"), ("ok",), ("503", "503", "503")]
    # (attempts seen by the server, succeeded): the third 503 in a row is the last try.
    expected = [(2, True), (1, True), (3, False), (3, True), (1, True), (3, False)]
    settings = SandboxSettings(call_step_s=0, fault_rate=0.0, fault_kinds=("503",))
    outcomes: list[tuple[int, bool]] = []
    with SandboxServer(settings) as server:
        faults = ScriptedFaults(server)
        async with make_client(server, sleep=faults) as kupe:
            for attempts in script:
                faults.start(attempts)
                before = _attempts(server, "GET", ME_PATH)
                try:
                    me = await kupe.me()
                except ServerError:
                    outcomes.append((_attempts(server, "GET", ME_PATH) - before, False))
                else:
                    assert me.user_id == DEMO_USER_ID
                    outcomes.append((_attempts(server, "GET", ME_PATH) - before, True))
        assert server.sandbox.faults_injected == 9
    assert outcomes == expected
    assert len(faults) == 7  # one back-off before every retry, none after the last try
    assert all(0 < delay <= 0.5 for delay in faults)


@pytest.mark.parametrize("kind", ["503", "429", "html", "reset"])
async def test_a_get_recovers_from_one_injected_fault_on_the_second_attempt(server: SandboxServer, kind: str) -> None:
    _faults(server, kind)
    sleeps = Sleeps(server.sandbox)
    async with make_client(server, sleep=sleeps) as kupe:
        agents = await kupe.list_agents()
    assert DEMO_AGENT_ID in {agent.id for agent in agents}
    assert _attempts(server, "GET", "/api/v1/agents") == 2
    assert server.sandbox.faults_injected == 1
    assert len(sleeps) == 1


async def test_a_429_on_a_get_waits_exactly_the_retry_after_it_names(server: SandboxServer) -> None:
    _faults(server, "429")
    sleeps = Sleeps(server.sandbox)
    async with make_client(server, sleep=sleeps) as kupe:
        me = await kupe.me()
    assert me.user_id == DEMO_USER_ID
    assert sleeps == [1.0]  # the sandbox answers Retry-After: 1; no jittered back-off instead
    assert _attempts(server, "GET", ME_PATH) == 2


async def test_an_idempotent_put_is_retried_through_a_503_and_applied(server: SandboxServer) -> None:
    _faults(server, "503")
    sleeps = Sleeps(server.sandbox)
    async with make_client(server, sleep=sleeps) as kupe:
        updated = await kupe.update_agent(DEMO_AGENT_ID, {"agent": {"description": "retried PUT"}})
    assert updated.to_json()["agent"]["description"] == "retried PUT"
    assert _attempts(server, "PUT", f"/api/v1/agents/{DEMO_AGENT_ID}") == 2
    assert len(sleeps) == 1


@pytest.mark.parametrize(
    ("kind", "expected", "read", "path", "sentence", "attributes"),
    [
        pytest.param(
            "503",
            ServerError,
            KupeClient.me,
            ME_PATH,
            'Kupe failed to handle GET /api/v1/me (503: "Service Unavailable (sandbox fault)"): '
            "this is on Kupe's side; retry later, or report it to Kupe support with the request id.",
            {"status": 503},
            id="503",
        ),
        pytest.param(
            "html",
            UnexpectedResponse,
            KupeClient.list_agents,
            "/api/v1/agents",
            "Kupe answered GET /api/v1/agents with HTTP 502 and an HTML error page instead of JSON "
            "(a gateway or proxy failure): retry in a minute.",
            {"status": 502},
            id="html-502",
        ),
        pytest.param(
            "reset",
            KupeConnectionError,
            KupeClient.me,
            ME_PATH,
            "No answer from Kupe for GET /api/v1/me: the connection was dropped. "
            "Check KUPE_BASE_URL and the network, then retry.",
            {"may_have_reached": True},
            id="reset",
        ),
    ],
)
async def test_a_get_fault_that_never_clears_gives_up_after_three_attempts_with_growing_back_off(
    server: SandboxServer,
    kind: str,
    expected: type[Exception],
    read: Callable[[KupeClient], Awaitable[object]],
    path: str,
    sentence: str,
    attributes: dict[str, object],
) -> None:
    error, sleeps = await fails_under(server, kind, expected, read)
    assert str(error) == sentence
    assert {name: getattr(error, name) for name in attributes} == attributes
    assert _attempts(server, "GET", path) == 3
    assert len(sleeps) == 2
    assert 0.125 <= sleeps[0] <= 0.25
    assert 0.25 <= sleeps[1] <= 0.5


async def test_a_500_is_not_retried_even_on_a_get(server: SandboxServer) -> None:
    error, sleeps = await fails_under(server, "500", ServerError, lambda kupe: kupe.me())
    assert str(error) == (
        'Kupe failed to handle GET /api/v1/me (500: "Internal Server Error (sandbox fault)"): '
        "this is on Kupe's side; retry later, or report it to Kupe support with the request id."
    )
    assert _attempts(server, "GET", ME_PATH) == 1
    assert sleeps == []


async def test_a_429_on_a_post_is_rate_limited_at_once_with_the_retry_after_hint(server: SandboxServer) -> None:
    error, sleeps = await fails_under(
        server, "429", RateLimited, lambda kupe: kupe.create_call("+14155556006", agent_id=DEMO_AGENT_ID)
    )
    assert str(error) == (
        "Kupe is rate limiting POST /api/call/create_call "
        '(429: "Too Many Requests: rate limit exceeded (sandbox fault)"): retry after 1s.'
    )
    assert error.retry_after == 1.0
    assert _attempts(server, "POST", CALL_PATH) == 1
    assert sleeps == []


async def test_an_html_502_fails_a_post_at_once_as_unexpected_response(server: SandboxServer) -> None:
    _faults(server, "html")
    sleeps = Sleeps()
    async with make_client(server, sleep=sleeps) as kupe:
        with pytest.raises(UnexpectedResponse) as caught:
            await kupe.create_agent_simple("Never created")
        server.sandbox.settings.fault_rate = 0.0
        names = [agent.name for agent in await kupe.list_agents()]
    assert str(caught.value) == (
        "Kupe answered POST /api/v1/agents/simple with HTTP 502 and an HTML error page instead of JSON "
        "(a gateway or proxy failure): retry in a minute."
    )
    assert caught.value.status == 502
    assert _attempts(server, "POST", "/api/v1/agents/simple") == 1
    assert sleeps == []
    assert "Never created" not in names


@pytest.mark.parametrize(
    ("kind", "timeout_s", "lost"),
    [
        pytest.param("reset", 10.0, "the connection dropped", id="reset"),
        pytest.param("stall", 0.3, "timed out", id="stall"),
    ],
)
async def test_a_create_call_whose_answer_is_lost_is_sent_once_and_reported_as_maybe_placed(
    server: SandboxServer, kind: str, timeout_s: float, lost: str
) -> None:
    server.sandbox.settings.stall_s = 1.0  # a stall outlasts the client's wait, then lets the server shut down
    _faults(server, kind)
    error, sleeps = await raised_by(
        server,
        CallOutcomeUnknown,
        lambda kupe: kupe.create_call("+14155557007", agent_id=DEMO_AGENT_ID),
        timeout_s=timeout_s,
    )
    assert error.may_have_reached is True
    assert (error.method, error.path) == ("POST", CALL_PATH)
    assert str(error) == (
        f"Kupe's answer to POST /api/call/create_call was lost ({lost}), so the call may have been placed: "
        "the outcome is unknown: check get_call_analytics before calling again (a redial needs a fresh "
        "confirmation that names this attempt)."
    )
    assert _attempts(server, "POST", CALL_PATH) == 1
    assert sleeps == []


def stalling(stall_s: float = 1.0) -> SandboxServer:
    """A sandbox that holds every answer back for ``stall_s``, longer than each test client waits."""
    return SandboxServer(SandboxSettings(call_step_s=0, fault_rate=1.0, fault_kinds=("stall",), stall_s=stall_s))


async def test_a_stalled_get_times_out_and_is_retried() -> None:
    with stalling() as server:
        sleeps = Sleeps(server.sandbox)
        async with make_client(server, sleep=sleeps, timeout_s=0.3) as kupe:
            me = await kupe.me()
        assert me.user_id == DEMO_USER_ID
        assert _attempts(server, "GET", ME_PATH) == 2
        assert len(sleeps) == 1


async def test_a_refused_connection_is_retried_even_for_create_call_because_nothing_was_sent() -> None:
    with socket.socket() as probe:  # a loopback port with nothing listening on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error, sleeps = await raised_by(
        f"http://127.0.0.1:{port}",
        KupeConnectionError,
        lambda kupe: kupe.create_call("+14155559009", agent_id=DEMO_AGENT_ID),
        retry=RetryPolicy(attempts=3),
    )
    assert error.may_have_reached is False
    assert str(error) == (
        "No answer from Kupe for POST /api/call/create_call: the connection was refused or the host was not found. "
        "Check KUPE_BASE_URL and the network, then retry."
    )
    assert len(sleeps) == 2  # three attempts: a connect error proves the request never left


async def test_faults_never_touch_health_so_a_client_can_still_probe(server: SandboxServer) -> None:
    _faults(server, "500")
    async with make_client(server) as kupe:
        health = await kupe.health()
    assert health.status == "healthy"
    assert server.sandbox.faults_injected == 0


async def test_a_create_call_the_client_gave_up_on_is_still_placed_when_the_stalled_server_catches_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="uvicorn.error")
    with stalling(0.5) as server:
        async with make_client(server, timeout_s=0.2) as kupe:
            with pytest.raises(CallOutcomeUnknown):
                await kupe.create_call("+14155558118", agent_id=DEMO_AGENT_ID)
            server.sandbox.settings.fault_rate = 0.0
            placed: list[str] = []
            with anyio.fail_after(5):
                # Until the stalled handler has either placed the call or died on the client's hang-up.
                while not placed and not any("ClientDisconnect" in (r.exc_text or "") for r in caplog.records):
                    await anyio.sleep(0.05)
                    for record in caplog.records:
                        if record.exc_info and not record.exc_text:
                            record.exc_text = logging.Formatter().formatException(record.exc_info)
                    sessions = [s.to_json() for s in (await kupe.call_analytics()).items]
                    placed = [s["id"] for s in sessions if s["target_number"] == "+14155558118"]
    assert len(placed) == 1
