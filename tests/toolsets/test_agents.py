"""Toolset ``agents`` against the sandbox: catalog codes checked first, no orphans, whole transcriber configs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from mcp.client import Client
from starlette.responses import JSONResponse

from kupe_mcp.client import KupeClient
from kupe_mcp.config import Settings
from kupe_mcp.sandbox._seed import DEMO_AGENT_ID
from kupe_mcp.serve.server import create_server
from kupe_mcp.toolsets import agents
from tests._mcp import call, fail
from tests.conftest import SANDBOX_URL
from tests.toolsets.conftest import Serve, api_key

pytestmark = pytest.mark.anyio

Scope = MutableMapping[str, Any]
ASGI = Callable[[Scope, Any, Any], Awaitable[None]]


def agent_count(sandbox_app: Any) -> int:
    return len(sandbox_app.state.sandbox.store.list("agent"))


def writes(sandbox_app: Any) -> list[tuple[str, str]]:
    return [(m, p) for m, p in sandbox_app.state.sandbox.request_log if m != "GET"]


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        pytest.param({"model_name": "gpt-4.1-mni"}, ["Unknown LLM model 'gpt-4.1-mni'", "closest valid: gpt-4.1-mini"]),
        pytest.param({"tts_model_name": "bulbul:v3"}, ["Unknown TTS model", "closest valid: bulbul:v2"]),
        pytest.param(
            {"transcriber_model_name": "saarika:25", "transcriber_language": "hi-IN"},
            ["Unknown speech-to-text model", "saarika:2.5"],
        ),
        pytest.param({"voice_name": "Anushkaa"}, ["Unknown voice 'Anushkaa'", "closest valid: Anushka"]),
        # Rachel is an ElevenLabs voice: the default TTS model (bulbul:v2) has no such voice.
        pytest.param({"voice_name": "Rachel"}, ["Unknown voice 'Rachel' in voice_name for TTS model bulbul:v2"]),
    ],
)
async def test_create_agent_with_an_unknown_code_is_refused_with_the_closest_names_and_creates_nothing(
    serve: Serve, sandbox_app: Any, arguments: dict[str, Any], words: list[str]
) -> None:
    before = agent_count(sandbox_app)
    async with serve(agents) as mcp:
        text = await fail(mcp, "create_agent", name="Typo bot", **arguments)
    for word in words:
        assert word in text
    assert "nothing was changed" in text
    assert agent_count(sandbox_app) == before
    assert writes(sandbox_app) == []


async def test_create_agent_accepts_a_voice_of_the_tts_model_it_names(serve: Serve) -> None:
    async with serve(agents) as mcp:
        agent = await call(
            mcp, "create_agent", name="Rachel bot", tts_model_name="eleven_flash_v2_5", voice_name="rachel"
        )
    assert agent["configurations"]["tts_config"]["voice_name"] == "Rachel"


async def test_update_agent_refuses_an_unknown_voice_before_any_write(serve: Serve, sandbox_app: Any) -> None:
    async with serve(agents) as mcp:
        text = await fail(mcp, "update_agent", agent_id=DEMO_AGENT_ID, voice_name="Abhilas", force_update=True)
    assert "closest valid: Abhilash" in text
    assert writes(sandbox_app) == []


def failing(app: ASGI, method: str, status: int, detail: str) -> ASGI:
    """The sandbox, except that ``method`` on an agent route answers ``status``."""

    async def wrapped(scope: Scope, receive: Any, send: Any) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] == "http" and scope["method"] == method and path.startswith("/api/v1/agents/"):
            await JSONResponse({"detail": detail}, status_code=status)(scope, receive, send)
            return
        await app(scope, receive, send)

    return wrapped


@asynccontextmanager
async def on(app: ASGI, client_mode: str) -> AsyncIterator[Client]:
    kupe = KupeClient(base_url=SANDBOX_URL, credentials=api_key(), transport=httpx2.ASGITransport(app=app))
    server = create_server(Settings(toolsets=("agents",), calling_hours="off"), kupe)
    async with Client(server, mode=client_mode) as client:
        yield client


async def test_create_agent_whose_settings_step_fails_deletes_the_agent_again(
    sandbox_app: Any, client_mode: str
) -> None:
    before = agent_count(sandbox_app)
    async with on(failing(sandbox_app, "PUT", 400, "tts_config.language: unsupported locale"), client_mode) as mcp:
        text = await fail(mcp, "create_agent", name="Half made", tts_language="xx-XX")
    assert "unsupported locale" in text
    assert "was deleted again and nothing was left behind" in text
    assert agent_count(sandbox_app) == before


async def test_create_agent_that_cannot_clean_up_names_the_agent_left_and_how_to_finish_it(
    sandbox_app: Any, client_mode: str
) -> None:
    app = failing(failing(sandbox_app, "PUT", 400, "unsupported locale"), "DELETE", 403, "Forbidden: no delete scope")
    async with on(app, client_mode) as mcp:
        text = await fail(mcp, "create_agent", name="Half made", tts_language="xx-XX")
    (left,) = [a for a in sandbox_app.state.sandbox.store.list("agent") if a["agent"]["name"] == "Half made"]
    assert f"Agent {left['id']} was created with platform defaults" in text
    assert f"update_agent with agent_id {left['id']}" in text
    assert "force=true" in text


async def test_create_agent_that_cannot_clean_up_keeps_both_causes_short_enough_to_read(
    sandbox_app: Any, client_mode: str
) -> None:
    """Two long Kupe sentences once made a 700-character error; each cause is now its status and clipped detail."""
    long_detail = "tts_config.language: " + "unsupported locale; " * 30
    app = failing(failing(sandbox_app, "PUT", 400, long_detail), "DELETE", 503, "upstream " * 60)
    async with on(app, client_mode) as mcp:
        text = await fail(mcp, "create_agent", name="Half made", tts_language="xx-XX")
    assert 'applying the settings failed (400: "tts_config.language: unsupported locale;' in text
    assert 'deleting it failed too (503: "upstream' in text
    assert len(text) <= 600
    assert "\n" not in text


async def test_update_agent_with_only_a_transcriber_language_sends_the_whole_config(
    serve: Serve, sandbox_app: Any
) -> None:
    """Kupe's TranscriberConfig requires transcriber_model_name and language; the stored model fills the gap."""
    async with serve(agents) as mcp:
        before = await call(mcp, "get_agent", agent_id=DEMO_AGENT_ID)
        model = before["configurations"]["transcriber_config"]["transcriber_model_name"]
        await call(mcp, "update_agent", agent_id=DEMO_AGENT_ID, transcriber_language="ta-IN", force_update=True)
        after = await call(mcp, "get_agent", agent_id=DEMO_AGENT_ID)
    stt = after["configurations"]["transcriber_config"]
    assert (stt["transcriber_model_name"], stt["language"]) == (model, "ta-IN")


async def test_create_agent_with_only_a_transcriber_model_keeps_the_default_language(serve: Serve) -> None:
    async with serve(agents) as mcp:
        agent = await call(mcp, "create_agent", name="Nova", transcriber_model_name="nova-2")
    stt = agent["configurations"]["transcriber_config"]
    assert (stt["transcriber_model_name"], stt["language"]) == ("nova-2", "en-IN")


async def test_a_transcriber_half_is_sent_with_the_other_half_on_the_wire(sandbox_app: Any, client_mode: str) -> None:
    bodies: list[bytes] = []

    async def spy(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "PUT":
            chunks, more = [], True
            while more:
                message = await receive()
                chunks.append(message.get("body", b""))
                more = bool(message.get("more_body"))
            bodies.append(b"".join(chunks))
            sent = False

            async def replay() -> Any:
                nonlocal sent
                if sent:
                    return await receive()
                sent = True
                return {"type": "http.request", "body": bodies[-1], "more_body": False}

            await sandbox_app(scope, replay, send)
            return
        await sandbox_app(scope, receive, send)

    async with on(spy, client_mode) as mcp:
        await call(mcp, "update_agent", agent_id=DEMO_AGENT_ID, transcriber_model_name="nova-3", force_update=True)
    sent = bodies[0].replace(b" ", b"")
    assert b'"transcriber_config":{"transcriber_model_name":"nova-3","language":"en-IN"}' in sent


async def test_update_agent_on_an_active_agent_says_to_pass_force_update(serve: Serve) -> None:
    async with serve(agents) as mcp:
        text = await fail(mcp, "update_agent", agent_id=DEMO_AGENT_ID, temperature=0.2)
    assert "because the agent is active" in text
    assert "pass force_update=true" in text
