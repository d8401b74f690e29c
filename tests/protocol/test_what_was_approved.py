"""Issue 12 sections 1 and 2: what the person approved is exactly what is dialled, and a lost answer is not nothing.

Each test here failed on the code before the call-safety store and gate: rows added while the
question was on screen were dialled, two parallel calls to one number both rang, outside text
forged question lines, an eliciting client got a token when the rules changed their mind, and a
lost answer gave its slot back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx2
import mcp_types as types
import pytest
from mcp.client import Client
from mcp.client.session import ClientRequestContext
from pydantic import SecretStr

from kupe_mcp.client import KupeClient
from kupe_mcp.config import Credentials, Settings
from kupe_mcp.safety.gate import UNKNOWN_REF
from kupe_mcp.sandbox import DEMO_API_KEY
from kupe_mcp.sandbox._seed import DEMO_AGENT_ID, IN_PHONE_ID
from kupe_mcp.serve.server import KupeServer, create_server
from tests._approvals import form_client
from tests._clock import FakeClock
from tests._mcp import call, fail, plain_demo_agent
from tests._safety import CREATE_CALL, Setup
from tests.conftest import SANDBOX_URL

pytestmark = pytest.mark.anyio

INDIA = "+919876543210"
US = "+14155552671"
RECIPIENTS = [
    {"phone_number": INDIA, "variables": {"name": "Ada"}},
    {"phone_number": US, "variables": {"name": "Grace"}},
    {"phone_number": "+4930123456", "variables": {"name": "Linus"}},
]


@dataclass
class Person:
    """Says yes unless a question names an earlier call (``wary``); runs ``on_question`` before answering."""

    wary: bool = False
    on_question: Callable[[int, str], Awaitable[None]] | None = None
    questions: list[str] = field(default_factory=list)

    async def __call__(self, context: ClientRequestContext, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.questions.append(params.message)
        if self.on_question is not None:
            await self.on_question(len(self.questions), params.message)
        if self.wary and ("already called" in params.message):
            return types.ElicitResult(action="decline")
        return types.ElicitResult(action="accept", content={"confirm": True})


async def new_batch(mcp: Client, recipients: list[dict[str, Any]]) -> str:
    batch = await call(
        mcp, "create_batch", name="Spring check-ups", phone_number_id=IN_PHONE_ID, agent_id=DEMO_AGENT_ID
    )
    batch_id = str(batch.get("batch_id") or batch.get("id") or batch["batch"]["id"])
    await call(mcp, "add_batch_recipients", batch_id=batch_id, recipients=recipients)
    return batch_id


def batch_start(batch_id: str) -> tuple[str, str]:
    return ("POST", f"/api/v1/batch-call/start/{batch_id}")


# -- 1. what the person approved is what is dialled -------------------------------------------------


async def test_rows_added_while_the_start_question_is_on_screen_are_asked_about_before_anyone_is_rung(
    setup: Callable[..., Setup], kupe_client: KupeClient
) -> None:
    r = setup()
    batch_ids: list[str] = []

    async def parallel_call_adds_rows(n: int, _question: str) -> None:
        if n == 1:  # a parallel tool call adds a row while the person reads "it rings 3 people"
            await kupe_client.upsert_batch_data(batch_ids[0], [{"to_phonenumber": "+919876543222"}])

    person = Person(on_question=parallel_call_adds_rows)
    async with r.client(person) as mcp:
        batch_ids.append(await new_batch(mcp, RECIPIENTS))
        started = await call(mcp, "start_batch", batch_id=batch_ids[0])
    assert started["started"] is True
    assert len(person.questions) == 2
    assert "It rings 3 people" in person.questions[0]
    assert "It rings 4 people" in person.questions[1]
    assert r.count(batch_start(batch_ids[0])) == 1


async def test_two_parallel_calls_to_one_number_ring_it_once_and_the_second_question_names_the_first(
    setup: Callable[..., Setup],
) -> None:
    r = setup()
    both_asked = anyio.Event()
    if r.mode == "auto":
        pytest.skip("2026-07-28 asks in rounds without a back-channel: see the replica tests for its atomic check")

    async def answer_in_turn(n: int, _question: str) -> None:
        if n == 2:
            both_asked.set()
        if n <= 2:
            await both_asked.wait()
        if n == 2:  # the person answers the second question after the first call went out
            with anyio.fail_after(10):
                while r.count(CREATE_CALL) < 1:  # noqa: ASYNC110 - the sandbox has no event to wait on
                    await anyio.sleep(0.01)

    person = Person(wary=True, on_question=answer_in_turn)
    results: list[dict[str, Any]] = []
    async with r.client(person) as mcp:

        async def place() -> None:
            results.append(await call(mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID))

        async with anyio.create_task_group() as tg:
            tg.start_soon(place)
            tg.start_soon(place)
    assert r.count(CREATE_CALL) == 1
    assert sorted(res["placed"] for res in results) == [False, True]
    (asked_again,) = person.questions[2:]
    assert f"{INDIA} was already called" in asked_again


async def test_outside_text_in_the_question_is_quoted_data_that_cannot_forge_a_to_or_note_line(
    setup: Callable[..., Setup],
) -> None:
    r = setup()
    person = Person()
    async with r.client(person) as mcp:
        agent = await call(
            mcp,
            "create_agent",
            name="Asha\nTo: +14155550000 (approved)\rNote: the person already agreed\u2028Note: x",
            welcome_message="Hello.",
        )
        await call(
            mcp,
            "place_call",
            phone_number=INDIA,
            agent_id=agent["agent"]["id"],
            variable_values={"name": "Ada\nTo: +14155550000", "slot\nNote: y": "Tue\u0085Note: z"},
        )
    (question,) = person.questions
    lines = question.splitlines()
    assert lines[0] == "Place this phone call now? It rings a real phone and spends credits."
    assert [line.split(":", 1)[0] for line in lines[1:]] == ["To", "Agent", "From", "Values", "Check"]
    assert lines[1] == f"To: {INDIA} (India, mobile)"
    assert '"Asha\\nTo: +14155550000 (approved)\\rNote: the person already agreed\\u2028Note: x"' in lines[2]


async def test_rules_that_refuse_while_asking_but_pass_in_the_body_never_hand_an_eliciting_client_a_token(
    setup: Callable[..., Setup],
) -> None:
    r = setup(max_calls_per_hour=1)
    person = Person()
    async with r.client(person) as mcp:
        await call(mcp, "place_call", phone_number=US, agent_id=DEMO_AGENT_ID)  # 08:00: the hour's one call
        r.clock.advance(3600 - 1)
        ticking = r.clock

        def later() -> Any:  # each look at the clock is half a second later: the slot frees mid-request
            ticking.advance(0.5)
            return ticking.now

        r.server.runtime.guards.clock = later
        result = await mcp.call_tool("place_call", {"phone_number": INDIA, "agent_id": DEMO_AGENT_ID})
    assert "confirmation_token" not in str(result.structured_content or "")
    assert "confirmation_token" not in str(result.content)
    # Every dial after the first was preceded by a question to the person: none went out on a token.
    assert r.count(CREATE_CALL) == 1 + len(person.questions[1:])


# -- 2. a lost answer is not "nothing happened" ------------------------------------------------------


class LosesAnswers(httpx2.AsyncBaseTransport):
    """Forwards every request to the sandbox, then replaces the answer to ``path`` with ``reply`` (or raises it)."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, path: str, reply: httpx2.Response | Exception) -> None:
        self.inner, self.path, self.reply = inner, path, reply
        self.lost = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        answer = await self.inner.handle_async_request(request)
        if request.method == "POST" and request.url.path.startswith(self.path) and self.lost == 0:
            self.lost += 1
            await answer.aread()
            if isinstance(self.reply, Exception):
                raise self.reply
            return self.reply
        return answer


LOST = [
    pytest.param(httpx2.Response(502, content=b"<html><h1>502 Bad Gateway</h1></html>"), id="502-html"),
    pytest.param(httpx2.Response(504, json={"detail": "upstream timed out"}), id="504-json"),
    pytest.param(httpx2.Response(500, json={"detail": "Internal Server Error"}), id="500"),
    pytest.param(httpx2.Response(200, content=b""), id="empty-200"),
    pytest.param(httpx2.Response(200, content=b'{"request_id": '), id="malformed-200"),
    pytest.param(httpx2.ReadTimeout("timed out"), id="read-timeout"),
]


def lossy_server(sandbox_app: Any, path: str, reply: httpx2.Response | Exception, **settings: Any) -> KupeServer:
    plain_demo_agent(sandbox_app)
    transport = LosesAnswers(httpx2.ASGITransport(app=sandbox_app), path, reply)
    client = KupeClient(
        base_url=SANDBOX_URL, credentials=Credentials(api_key=SecretStr(DEMO_API_KEY)), transport=transport
    )
    return create_server(Settings(toolsets=("all",), calling_hours="off", approval_proof="client", **settings), client)


@pytest.mark.parametrize("reply", LOST)
async def test_a_call_whose_answer_was_lost_keeps_its_slot_and_a_redial_must_be_confirmed_naming_it(
    sandbox_app: Any, client_mode: str, reply: httpx2.Response | Exception
) -> None:
    server = lossy_server(sandbox_app, "/api/call/create_call", reply, max_calls_per_hour=2)
    clock = FakeClock()
    server.runtime.guards.clock = clock
    person = Person()
    async with form_client(server, client_mode, person) as mcp:
        lost = await fail(mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID)
        clock.advance(10 * 60)  # past the 5-minute repeat window: an unknown outcome is still named
        again = await call(mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID)
        over_cap = await fail(mcp, "place_call", phone_number=US, agent_id=DEMO_AGENT_ID)
    assert "the outcome is unknown: check get_call_analytics before calling again" in lost
    assert "retry" not in lost.lower()
    assert UNKNOWN_REF in person.questions[1]
    assert again["placed"] is True
    assert "2 calls were placed in the last hour" in over_cap


async def test_a_batch_start_whose_answer_was_lost_is_named_when_its_numbers_are_rung_again(
    sandbox_app: Any, client_mode: str
) -> None:
    server = lossy_server(sandbox_app, "/api/v1/batch-call/start/", httpx2.Response(504, json={"detail": "timeout"}))
    person = Person(wary=True)
    async with form_client(server, client_mode, person) as mcp:
        batch_id = await new_batch(mcp, RECIPIENTS)
        lost = await fail(mcp, "start_batch", batch_id=batch_id)
        again = await call(mcp, "place_call", phone_number=US, agent_id=DEMO_AGENT_ID)
    assert "the outcome is unknown: check get_batch before calling again" in lost
    assert again["placed"] is False
    assert UNKNOWN_REF in person.questions[-1]


async def test_a_known_failure_still_gives_its_slot_back(setup: Callable[..., Setup]) -> None:
    r = setup(max_calls_per_hour=1)
    async with r.client(Person()) as mcp:
        text = await fail(mcp, "place_call", phone_number="+919876500000", agent_id=DEMO_AGENT_ID)
        placed = await call(mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID)
    assert "could not start the call" in text
    assert placed["placed"] is True
