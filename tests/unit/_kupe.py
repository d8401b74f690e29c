"""A routed fake Kupe on ``httpx2.MockTransport``, and a tool ``Context`` on a server wired to it.

Tool functions are called directly with that ``Context``: no MCP session, no protocol, so a
test sees exactly what one tool asks Kupe and what it makes of the answer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any, cast

import httpx2
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context
from pydantic import SecretStr

from kupe_mcp.client import KupeClient
from kupe_mcp.config import Credentials, Settings
from kupe_mcp.serve.server import create_server

BASE_URL = "https://api.kupe.test"
API_KEY = "kupe_sk_UNITSECRET_5b1d"


class Kupe:
    """Answers ``"METHOD /path"`` from a table (JSON bodies, ``httpx2.Response``s, or callables taking the request
    and returning one); anything else is a 404.

    Every request is recorded, so a test can assert what was sent and that nothing else was.
    """

    def __init__(self, routes: Mapping[str, Any] | None = None) -> None:
        self.routes = dict(routes or {})
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        answer = self.routes.get(f"{request.method} {request.url.path}")
        if answer is None:
            return httpx2.Response(404, json={"detail": "Not Found"})
        if isinstance(answer, httpx2.Response):
            return answer
        if callable(answer):
            reply: httpx2.Response = answer(request)
            return reply
        return httpx2.Response(200, json=answer)

    @property
    def sent(self) -> list[str]:
        """``"METHOD /path"`` of every request, in order."""
        return [f"{r.method} {r.url.path}" for r in self.requests]

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


def tool_context(kupe: Kupe, settings: Settings | None = None) -> Context:
    """A Context for calling tool functions directly, on a server whose Kupe client talks to ``kupe``."""
    client = KupeClient(
        base_url=BASE_URL,
        credentials=Credentials(api_key=SecretStr(API_KEY)),
        transport=httpx2.MockTransport(kupe),
    )
    server = create_server(settings or Settings(toolsets=("all",), calling_hours="off"), client)
    # Tools reach their runtime as the request's lifespan context; no session, so no client capabilities.
    request: ServerRequestContext[Any, Any] = ServerRequestContext(
        session=cast(Any, SimpleNamespace(client_capabilities=None)),
        lifespan_context=server.runtime,
        protocol_version="2025-11-25",
        method="tools/call",
    )
    return Context(request_context=request, mcp_server=server)
