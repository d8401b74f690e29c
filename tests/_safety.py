"""A call-safety rig shared by the protocol tests: a server on the in-process sandbox, its guards on a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
from mcp.client import Client
from mcp.client.session import ElicitationFnT
from mcp.client.streamable_http import streamable_http_client
from pydantic import SecretStr

from kupe_mcp._loopback import LoopbackServer
from kupe_mcp.config import Credentials, Settings
from kupe_mcp.sandbox import DEMO_API_KEY, SandboxServer, SandboxSettings
from kupe_mcp.sandbox._seed import DEMO_AGENT_ID
from kupe_mcp.serve.server import KupeServer, build_client, create_server
from kupe_mcp.serve.transports import http_app
from tests._approvals import FORM_ONLY, declared_elicitation
from tests._clock import FakeClock
from tests._mcp import call, fail, plain_demo_agent

CREATE_CALL = ("POST", "/api/call/create_call")
# place_call's arguments for one ordinary call: Ada, on the demo agent, to an Indian mobile.
ADA_CALL: dict[str, Any] = {
    "phone_number": "+919876543210",
    "agent_id": DEMO_AGENT_ID,
    "variable_values": {"name": "Ada", "appointment_date": "Friday"},
}


@dataclass
class Setup:
    """A server on the sandbox with a fake clock, and how to connect to it with or without a person."""

    server: KupeServer
    app: Any
    mode: str
    clock: FakeClock

    @asynccontextmanager
    async def client(self, person: ElicitationFnT | None = None) -> AsyncIterator[Client]:
        """A client whose ``person`` (if any) answers form questions: it declares form elicitation only."""
        with declared_elicitation(FORM_ONLY if person is not None else None):
            async with Client(self.server, mode=self.mode, elicitation_callback=person) as client:
                yield client

    @property
    def log(self) -> list[tuple[str, str]]:
        """Every request the sandbox has received, as (method, path)."""
        return list(self.app.state.sandbox.request_log)

    def count(self, request: tuple[str, str]) -> int:
        return self.log.count(request)

    def calls_placed(self) -> int:
        return self.count(CREATE_CALL)

    def writes_since(self, mark: int) -> list[tuple[str, str]]:
        return [(m, p) for m, p in self.log[mark:] if m != "GET"]

    async def refused_before_kupe(self, mcp: Client, tool: str, /, **args: Any) -> str:
        """``fail`` for a call that must be refused before it reaches Kupe: the sandbox receives nothing. Its text."""
        mark = len(self.log)
        text = await fail(mcp, tool, **args)
        assert self.log[mark:] == []
        return text


def safety_setup(make_server: Callable[..., KupeServer], app: Any, mode: str) -> Callable[..., Setup]:
    """``setup(**settings)``: a server (calling hours off unless given) whose guards run on a fake clock."""

    def build(**overrides: Any) -> Setup:
        plain_demo_agent(app)
        server = make_server(**overrides)
        clock = FakeClock()
        server.runtime.guards.clock = clock
        return Setup(server, app, mode, clock)

    return build


def calls_settings(sandbox: SandboxServer, **overrides: Any) -> Settings:
    """Settings for the calls toolset with calling hours off, on ``sandbox`` with its demo key; ``overrides`` win."""
    defaults: dict[str, Any] = {"toolsets": ("calls",), "calling_hours": "off"}
    return Settings(
        base_url=sandbox.base_url,
        credentials=Credentials(api_key=SecretStr(DEMO_API_KEY)),
        **{**defaults, **overrides},
    )


@contextmanager
def calls_over_http(**overrides: Any) -> Iterator[tuple[KupeServer, SandboxServer, str]]:
    """The calls toolset over streamable HTTP (single tenant, loopback) on a sandbox that listens on loopback too.

    Yields the server, the sandbox and the server's base URL (the MCP endpoint is ``/mcp`` under it);
    ``overrides`` are further settings (e.g. ``approval_proof``, or ``toolsets`` for more than the calls).
    """
    with SandboxServer(SandboxSettings(call_step_s=0)) as sandbox:
        config = calls_settings(sandbox, **overrides)
        server = create_server(config, build_client(config))
        with LoopbackServer(http_app(server, config, host="127.0.0.1", multi_tenant=False), lifespan="on") as srv:
            yield server, sandbox, srv.base_url


@dataclass
class Served:
    """A calls server on a loopback sandbox, as a model's client and a person's browser reach it."""

    server: KupeServer
    sandbox: SandboxServer
    mcp_url: str | None  # None: the model's client talks to the server in-process (stdio's page listener)

    def calls_placed(self) -> int:
        return list(self.sandbox.sandbox.request_log).count(CREATE_CALL)

    async def ask(self, tool: str = "place_call", /, **args: Any) -> dict[str, Any]:
        """One tool call from a client with no elicitation: the person's only way in is the link."""
        if self.mcp_url is None:
            async with Client(self.server) as mcp:
                return await call(mcp, tool, **args)
        async with (
            httpx2.AsyncClient(timeout=30) as http,
            Client(streamable_http_client(self.mcp_url, http_client=http)) as mcp,
        ):
            return await call(mcp, tool, **args)


@asynccontextmanager
async def calls_on(transport: str, **overrides: Any) -> AsyncIterator[Served]:
    """The calls toolset (``overrides`` as for ``calls_over_http``) as ``transport`` serves it.

    ``"stdio"``: the model's client runs in-process and the person uses the server's loopback page listener
    (closed afterwards, as the HTTP app's lifespan closes it). ``"http"``: streamable HTTP, which the person (and so
    the link) reaches as localhost, since WebAuthn needs a domain.
    """
    if transport == "http":
        with calls_over_http(**overrides) as (server, sandbox, base_url):
            yield Served(server, sandbox, f"{base_url.replace('127.0.0.1', 'localhost')}/mcp")
        return
    with SandboxServer(SandboxSettings(call_step_s=0)) as sandbox:
        config = calls_settings(sandbox, **overrides)
        server = create_server(config, build_client(config))
        try:
            yield Served(server, sandbox, None)
        finally:
            await server.runtime.aclose()  # the page listener and the Kupe client
