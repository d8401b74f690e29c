"""Helpers for the OAuth tests: the server on loopback, the SDK's OAuth client, and a person signing in.

``sign_in`` is the person at the sign-in page, driven over plain HTTP (the browser test drives the same page in
Chromium): it follows the authorization redirect, reads the form's hidden fields, and posts the key from the
page's own origin with the page's cookie, as a browser would.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from pydantic import AnyUrl

from kupe_mcp._loopback import LoopbackServer
from kupe_mcp.config import Settings
from kupe_mcp.safety.state import StateStore
from kupe_mcp.sandbox import SandboxServer, SandboxSettings
from kupe_mcp.serve.server import KupeServer, build_client, create_server
from kupe_mcp.serve.transports import http_app

CALLBACK = "http://127.0.0.1:33418/callback"  # never listened on: the test reads the code off the redirect
SECRET = "oauth-test-secret-0123456789abcdef"


@dataclass
class Served:
    server: KupeServer
    sandbox: SandboxServer
    base_url: str

    @property
    def mcp_url(self) -> str:
        return f"{self.base_url}/mcp"


@contextmanager
def serve(
    *,
    store: StateStore | None = None,
    options: Any = None,
    settings: dict[str, Any] | None = None,
    sandbox: SandboxServer | None = None,
    port: int = 0,
) -> Iterator[Served]:
    """kupe-app-mcp multi-tenant over loopback HTTP (OAuth on), in front of a sandbox on loopback (its own, unless
    one is given); ``port`` serves again where an earlier server stood (the issuer and resource are its origin)."""
    from pydantic import SecretStr

    with ExitStack() as stack:
        if sandbox is None:
            sandbox = stack.enter_context(SandboxServer(SandboxSettings(call_step_s=0)))
        fields: dict[str, Any] = {"state_secret": SecretStr(SECRET), **(settings or {})}
        config = Settings(base_url=sandbox.base_url, toolsets=("account", "calls"), calling_hours="off", **fields)
        server = create_server(config, build_client(config), multi_tenant=True, state=store)
        app = http_app(server, config, host="127.0.0.1", multi_tenant=True, oauth_options=options)
        with LoopbackServer(app, port=port, lifespan="on") as srv:
            yield Served(server, sandbox, srv.base_url)


class MemoryTokens(TokenStorage):
    """The client's token storage, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


_HIDDEN = re.compile(r'<input type=hidden name=(\w+) value="([^"]*)"')


@dataclass
class Person:
    """Signs in on the page with ``key``; records every page body they saw (for secrecy checks)."""

    key: str
    read_only: bool = False
    transport: httpx2.AsyncBaseTransport | None = None
    pages: list[str] = field(default_factory=list)
    authorize_urls: list[str] = field(default_factory=list)
    result: AuthorizationCodeResult | None = None

    async def open(self, authorization_url: str) -> None:
        """The client's redirect handler: the person's browser opens the URL and signs in."""
        self.authorize_urls.append(authorization_url)
        self.result = await sign_in(
            authorization_url, self.key, read_only=self.read_only, transport=self.transport, pages=self.pages
        )

    async def callback(self) -> AuthorizationCodeResult:
        assert self.result is not None
        return self.result


async def sign_in(
    authorization_url: str,
    key: str,
    *,
    read_only: bool = False,
    transport: httpx2.AsyncBaseTransport | None = None,
    pages: list[str] | None = None,
    origin: str | None = None,
) -> AuthorizationCodeResult:
    """Follow /authorize to the sign-in page, post the key, and read the code off the redirect to the client."""
    async with httpx2.AsyncClient(transport=transport, timeout=15) as http:
        first = await http.get(authorization_url)
        assert first.status_code == 302, first.text
        page_url = first.headers["location"]
        page = await http.get(page_url)
        assert page.status_code == 200, page.text
        if pages is not None:
            pages.append(page.text)
        fields = {name: html.unescape(value) for name, value in _HIDDEN.findall(page.text)}
        form = {**fields, "api_key": key, "action": "allow"}
        if read_only:
            form["read_only"] = "1"
        parts = urlsplit(page_url)
        answer = await http.post(
            f"{parts.scheme}://{parts.netloc}/oauth/sign-in",
            data=form,
            headers={"origin": origin or f"{parts.scheme}://{parts.netloc}"},
        )
        if pages is not None:
            pages.append(answer.text)
        assert answer.status_code == 303, answer.text
        query = parse_qs(urlsplit(answer.headers["location"]).query)
        # The issuer travels back too (RFC 9207): the SDK's client rejects a code without it from this server.
        return AuthorizationCodeResult(
            code=query["code"][0], state=query.get("state", [None])[0], iss=query.get("iss", [None])[0]
        )


def oauth_client(
    mcp_url: str, person: Person, *, storage: MemoryTokens | None = None, client_metadata_url: str | None = None
) -> OAuthClientProvider:
    """The SDK's own OAuth client, registering by DCR (or presenting ``client_metadata_url``, CIMD)."""
    return OAuthClientProvider(
        server_url=mcp_url,
        client_metadata=OAuthClientMetadata(
            client_name="Kupe OAuth test client",
            redirect_uris=[AnyUrl(CALLBACK)],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none" if client_metadata_url else "client_secret_post",
        ),
        storage=storage or MemoryTokens(),
        redirect_handler=person.open,
        callback_handler=person.callback,
        client_metadata_url=client_metadata_url,
    )


async def list_tools_bearing(http: httpx2.AsyncClient, mcp_url: str, access_token: str) -> httpx2.Response:
    """A bare MCP tools/list POST bearing ``access_token``: no OAuth client in between to refresh or sign in again."""
    return await http.post(
        mcp_url,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={
            "authorization": f"Bearer {access_token}",
            "accept": "application/json, text/event-stream",
            "mcp-protocol-version": "2025-11-25",
        },
    )
