"""A call-safety rig shared by the protocol tests: a server on the in-process sandbox, its guards on a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

from mcp.client import Client
from mcp.client.session import ElicitationFnT
from pydantic import SecretStr

from kupe_mcp._loopback import LoopbackServer
from kupe_mcp.config import Credentials, Settings
from kupe_mcp.sandbox import DEMO_API_KEY, SandboxServer, SandboxSettings
from kupe_mcp.serve.server import KupeServer, build_client, create_server
from kupe_mcp.serve.transports import http_app
from tests._approvals import FORM_ONLY, declared_elicitation
from tests._clock import FakeClock
from tests._mcp import plain_demo_agent

CREATE_CALL = ("POST", "/api/call/create_call")


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


def safety_setup(make_server: Callable[..., KupeServer], app: Any, mode: str) -> Callable[..., Setup]:
    """``setup(**settings)``: a server (calling hours off unless given) whose guards run on a fake clock."""

    def build(**overrides: Any) -> Setup:
        plain_demo_agent(app)
        server = make_server(**overrides)
        clock = FakeClock()
        server.runtime.guards.clock = clock
        return Setup(server, app, mode, clock)

    return build


@contextmanager
def calls_over_http(**overrides: Any) -> Iterator[tuple[KupeServer, SandboxServer, str]]:
    """The calls toolset over streamable HTTP (single tenant, loopback) on a sandbox that listens on loopback too.

    Yields the server, the sandbox and the server's base URL (the MCP endpoint is ``/mcp`` under it);
    ``overrides`` are further settings (e.g. ``approval_proof``).
    """
    with SandboxServer(SandboxSettings(call_step_s=0)) as sandbox:
        config = Settings(
            base_url=sandbox.base_url,
            credentials=Credentials(api_key=SecretStr(DEMO_API_KEY)),
            toolsets=("calls",),
            calling_hours="off",
            **overrides,
        )
        server = create_server(config, build_client(config))
        with LoopbackServer(http_app(server, config, host="127.0.0.1", multi_tenant=False), lifespan="on") as srv:
            yield server, sandbox, srv.base_url
