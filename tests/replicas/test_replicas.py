"""Issue 12 section 7: three replicas of kupe-app-mcp behind a round-robin balancer, one Redis, one truth.

Three HTTP servers (separate ``KupeServer`` objects with their own stores and caches, each on
its own loopback port and event loop) share a real redis-server and ``KUPE_STATE_SECRET``. The
client's transport sends each HTTP request of one conversation to the next replica, as a
round-robin load balancer would; both protocol generations are driven.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx2
import mcp_types as types
import pytest
from mcp.client import Client
from mcp.client.session import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client
from pydantic import SecretStr

from kupe_mcp._loopback import LoopbackServer
from kupe_mcp.config import Settings
from kupe_mcp.safety.state import open_store
from kupe_mcp.sandbox import DEMO_API_KEY, NO_CREDIT_API_KEY, SandboxServer, SandboxSettings
from kupe_mcp.sandbox._seed import DEMO_AGENT_ID
from kupe_mcp.serve.server import build_client, create_server
from kupe_mcp.serve.transports import http_app
from tests._approvals import FORM_ONLY, answer_page, declared_elicitation
from tests._redis import RedisServer

pytestmark = pytest.mark.anyio

SECRET = "replica-test-secret-0123456789abcdef"
CREATE_CALL = ("POST", "/api/call/create_call")
VALUES = {"name": "Ada", "appointment_date": "Friday"}  # every {{placeholder}} of the demo agent
INDIA = "+919876543210"


class RoundRobin(httpx2.AsyncBaseTransport):
    """Sends each request to the next replica's port, whatever URL the client asked for."""

    def __init__(self, ports: list[int]) -> None:
        self._next = itertools.cycle(ports)
        self._inner = httpx2.AsyncHTTPTransport()
        self.sent: list[int] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        port = next(self._next)
        self.sent.append(port)
        request.url = request.url.copy_with(port=port)
        request.headers["host"] = f"127.0.0.1:{port}"
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass
class Person:
    questions: list[str] = field(default_factory=list)

    async def __call__(self, context: ClientRequestContext, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.questions.append(params.message)
        return types.ElicitResult(action="accept", content={"confirm": True})


@dataclass
class Fleet:
    sandbox: SandboxServer
    redis: RedisServer
    ports: list[int]
    mode: str

    def placed(self) -> int:
        return list(self.sandbox.sandbox.request_log).count(CREATE_CALL)

    @asynccontextmanager
    async def client(
        self, key: str = DEMO_API_KEY, *, person: Person | None = None, ports: list[int] | None = None
    ) -> AsyncIterator[Client]:
        transport = RoundRobin(ports or self.ports)
        async with (
            httpx2.AsyncClient(timeout=30, headers={"x-api-key": key}, transport=transport) as http,
            Client(
                streamable_http_client(f"http://127.0.0.1:{self.ports[0]}/mcp", http_client=http),
                mode=self.mode,
                elicitation_callback=person,
            ) as mcp,
        ):
            yield mcp


@pytest.fixture
def fleet(tmp_path: Path, client_mode: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """``fleet(**settings)``: a sandbox, a fresh redis-server and three replicas sharing it (multi-tenant HTTP)."""
    with ExitStack() as stack:
        redis = RedisServer(tmp_path)
        redis.start()
        stack.callback(redis.stop)
        sandbox = stack.enter_context(SandboxServer(SandboxSettings(call_step_s=0)))

        def build(**overrides: Any) -> Fleet:
            settings = Settings(
                base_url=sandbox.base_url,
                toolsets=("calls",),
                calling_hours="off",
                approval_proof="client",  # a page POST approves here; passkeys across replicas: tests/browser
                state_url=redis.url,
                state_secret=SecretStr(SECRET),
                **overrides,
            )
            ports = []
            for _ in range(3):
                store = open_store(redis.url, secret_set=True)
                server = create_server(settings, build_client(settings), multi_tenant=True, state=store)
                app = http_app(server, settings, host="127.0.0.1", multi_tenant=True)
                srv = stack.enter_context(LoopbackServer(app, lifespan="on"))
                ports.append(int(srv.base_url.rsplit(":", 1)[1]))
            return Fleet(sandbox, redis, ports, client_mode)

        yield build


async def test_an_approval_asked_on_one_replica_and_given_on_another_dials_once(fleet: Any) -> None:
    f: Fleet = fleet()
    person = Person()
    # A person who ticks the form: the client declares form elicitation only (URL elicitation would rank first).
    with declared_elicitation(FORM_ONLY):  # capabilities are built as the client connects, inside this block
        async with f.client(person=person) as mcp:
            if f.mode == "auto":  # 2026-07-28: the question's round and its answer's round land on different replicas
                result = await mcp.call_tool(
                    "place_call", {"phone_number": INDIA, "agent_id": DEMO_AGENT_ID, "variable_values": VALUES}
                )
                assert len(person.questions) == 1
            else:  # 2025-11-25 over stateless HTTP: an approval link from one replica, answered on another's page
                first = await mcp.call_tool(
                    "place_call", {"phone_number": INDIA, "agent_id": DEMO_AGENT_ID, "variable_values": VALUES}
                )
                out = first.structured_content or {}
                assert "confirmation_token" not in out
                assert f.placed() == 0
                other = f.ports[1] if f"127.0.0.1:{f.ports[0]}/" in out["approval_url"] else f.ports[0]
                await answer_page(f"http://127.0.0.1:{other}/approvals/{out['approval_id']}", "approve")
                waited = await mcp.call_tool("wait_for_approval", {"approval_id": out["approval_id"], "timeout_s": 10})
                assert not waited.is_error, waited.content
                result = types.CallToolResult(
                    content=[], structured_content=(waited.structured_content or {}).get("result") or {}
                )
    assert not result.is_error, result.content
    assert (result.structured_content or {})["placed"] is True
    assert f.placed() == 1


async def test_one_token_redeemed_on_three_replicas_at_once_dials_once(fleet: Any) -> None:
    f: Fleet = fleet(confirm_fallback="token")
    args = {"phone_number": INDIA, "agent_id": DEMO_AGENT_ID, "variable_values": VALUES}
    async with f.client() as mcp:  # no elicitation: the token flow
        token = (await mcp.call_tool("place_call", args)).structured_content["confirmation_token"]
    outcomes: list[types.CallToolResult] = []

    async def redeem(port: int) -> None:
        async with f.client(ports=[port]) as mcp:
            outcomes.append(await mcp.call_tool("place_call", {**args, "confirmation_token": token}))

    async with anyio.create_task_group() as tg:
        for port in f.ports:
            tg.start_soon(redeem, port)
    assert f.placed() == 1
    assert sorted(o.is_error for o in outcomes) == [False, True, True]


async def place_at_once(f: Fleet, numbers: list[str]) -> list[types.CallToolResult]:
    """Each number placed from its own client on the next replica, all at once: they race for the same slots."""
    outcomes: list[types.CallToolResult] = []

    async def place(number: str) -> None:
        async with f.client() as mcp:
            args = {"phone_number": number, "agent_id": DEMO_AGENT_ID, "variable_values": VALUES}
            outcomes.append(await mcp.call_tool("place_call", args))

    async with anyio.create_task_group() as tg:
        for number in numbers:
            tg.start_soon(place, number)
    return outcomes


async def test_a_cap_of_three_across_replicas_places_three_and_tenant_b_keeps_its_own(fleet: Any) -> None:
    f: Fleet = fleet(max_calls_per_hour=3, confirm_calls=False, allowed_destinations=("+91",))
    numbers = [f"+9198765432{i:02d}" for i in range(10, 16)]
    outcomes = await place_at_once(f, numbers)
    refused = [o.content[0].text for o in outcomes if o.is_error]  # type: ignore[union-attr]
    assert f.placed() == 3
    assert len(refused) == 3
    assert all("KUPE_MAX_CALLS_PER_HOUR is 3" in text for text in refused)
    async with f.client(NO_CREDIT_API_KEY) as other:
        dry = await other.call_tool(
            "place_call", {"phone_number": numbers[0], "workflow_id": str(uuid.uuid4()), "dry_run": True}
        )
    assert not dry.is_error, dry.content
    preview = dry.structured_content or {}
    assert preview["calls_left_this_hour"] == 2
    assert "notes" not in preview["preview"]  # tenant B cannot learn that A called this number


async def test_with_redis_down_calls_are_refused_in_one_sentence_and_nothing_is_dialled(fleet: Any) -> None:
    f: Fleet = fleet(confirm_calls=False, allowed_destinations=("+91",))
    async with f.client() as mcp:
        placed = await mcp.call_tool(
            "place_call", {"phone_number": INDIA, "agent_id": DEMO_AGENT_ID, "variable_values": VALUES}
        )
        assert not placed.is_error
        f.redis.stop()
        down = await mcp.call_tool(
            "place_call", {"phone_number": "+919876543211", "agent_id": DEMO_AGENT_ID, "variable_values": VALUES}
        )
        f.redis.start()
        back = await mcp.call_tool(
            "place_call", {"phone_number": "+919876543212", "agent_id": DEMO_AGENT_ID, "variable_values": VALUES}
        )
    assert down.is_error
    text = down.content[0].text  # type: ignore[union-attr]
    assert "Refused: the call-safety state store (redis://127.0.0.1:" in text
    assert "cannot be reached" in text
    assert "nothing was dialled" in text
    assert not back.is_error
    assert f.placed() == 2


async def test_the_operator_cap_across_replicas_places_exactly_that_many(fleet: Any) -> None:
    """KUPE_MAX_CALLS_PER_HOUR_TOTAL: the gate has the Redis hold judge everyone's slots, not only the tenant's."""
    f: Fleet = fleet(max_calls_per_hour_total=2, confirm_calls=False, allowed_destinations=("+91",))
    outcomes = await place_at_once(f, [f"+9198765433{i:02d}" for i in range(4)])
    refused = [o.content[0].text for o in outcomes if o.is_error]  # type: ignore[union-attr]
    assert f.placed() == 2
    assert len(refused) == 2
    assert all("KUPE_MAX_CALLS_PER_HOUR_TOTAL (for the whole server) is 2" in text for text in refused)
