"""The server's runtime: what it holds between requests (a Kupe client provider, call-safety state, caches).

It sits above the MCP surface (``toolsets``, ``resources``, ``prompts``), which reach it only as their
request's lifespan context, through the ``ToolRuntime`` protocol in ``kupe_mcp.toolsets._context``;
``server`` builds it and makes ``Runtime.serving`` the server's lifespan, and ``transports`` serves it.

On stdio and single-tenant HTTP every call uses the server's credentials. On multi-tenant
HTTP (no server credentials) each request's own ``x-api-key`` or ``Authorization: Bearer``
header is used for that request only: it is read from the request, wrapped in a
``SecretStr`` and never stored or logged.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import SecretStr

from kupe_mcp.client import KupeClient
from kupe_mcp.config import Credentials, Settings
from kupe_mcp.errors import KupeAPIError, UnexpectedResponse
from kupe_mcp.safety.state import StateKeys, StateStore
from kupe_mcp.text import redact as _redact

if TYPE_CHECKING:
    from kupe_mcp.safety.page import ApprovalDesk
    from kupe_mcp.safety.rules import CallGuards
    from kupe_mcp.toolsets._files import FormatsCache
    from kupe_mcp.toolsets._wait import Pacing

__all__ = ["ClientProvider", "Runtime", "credentials_from_headers", "looks_like_jwt"]


_JWT = re.compile(r"^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")


def looks_like_jwt(value: str) -> bool:
    """A Kupe session is a JWT (``eyJ…`` header.payload.signature); a Kupe API key is not."""
    return bool(_JWT.match(value))


def credentials_from_headers(headers: Any) -> Credentials:
    """Kupe credentials presented on an HTTP request.

    ``x-api-key: <key>``, or ``Authorization: Bearer <value>``: a JWT-shaped value is a Kupe session
    and is sent on as a Bearer token; anything else is a Kupe API key and is sent on as ``x-api-key``
    (MCP connectors that may only send ``Authorization`` can still use an API key). When both headers
    carry a key, ``x-api-key`` wins.
    """
    if headers is None:
        return Credentials()
    api_key = (headers.get("x-api-key") or "").strip()
    auth = (headers.get("authorization") or "").strip()
    bearer = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
    session = bearer if bearer and looks_like_jwt(bearer) else ""
    if bearer and not session and not api_key:
        api_key = bearer
    return Credentials(
        api_key=SecretStr(api_key) if api_key else None,
        bearer_token=SecretStr(session) if session else None,
    )


class ClientProvider:
    """Hands each tool call the Kupe client it must use."""

    def __init__(self, client: KupeClient, *, multi_tenant: bool) -> None:
        self.client = client
        self.multi_tenant = multi_tenant

    def for_context(self, ctx: Context) -> KupeClient:
        if not self.multi_tenant:
            return self.client
        creds = credentials_from_headers(ctx.headers)
        if not creds:
            raise ToolError(
                "This request carries no Kupe credentials: send your Kupe API key as the x-api-key header "
                "(or a session token as Authorization: Bearer)."
            )
        _redact.request_credentials.set(creds.secrets())
        return self.client.with_credentials(creds)


class Runtime:
    """What one server holds between requests: the Kupe client, call-safety state and every cache.

    It satisfies ``toolsets._context.ToolRuntime`` (and so ``safety.context.SafetyRuntime``); tools reach it as
    the lifespan context of their request (``serving``), never through the server object. ``pacing`` is how
    wait_* tools spend time (tests swap in a fake clock); ``upload_formats`` caches Kupe's supported file types;
    ``guards`` holds the call-safety rules; ``state`` the store their state lives in (``KUPE_STATE_URL``), keyed
    per tenant (``tenant_of``); ``state_keys`` the keys derived from ``KUPE_STATE_SECRET``.
    """

    def __init__(
        self,
        provider: ClientProvider,
        settings: Settings | None = None,
        *,
        state: StateStore | None = None,
        state_keys: StateKeys | None = None,
    ) -> None:
        self.kupe = provider
        self.kupe_settings = settings or Settings()
        # Every log record of the process is redacted from here on; the server's own secrets are known.
        _redact.install()
        token = self.kupe_settings.mcp_token
        _redact.remember(
            *self.kupe_settings.credentials.secrets(),
            *provider.client.credentials.secrets(),
            token.get_secret_value() if token else None,
        )
        from kupe_mcp.safety.state._memory import MemoryStore

        self.state: StateStore = state if state is not None else MemoryStore()
        self.state_keys = state_keys or StateKeys.from_secret(None)
        # credential fingerprint -> tenant id (the Kupe user_id behind it); see tenant_of.
        self._tenants: dict[str, str] = {}
        # (tenant fingerprint, kind, id) -> (monotonic time, label) for call previews; see _safety._label.
        self.preview_labels: dict[tuple[str, str, str], tuple[float, str]] = {}
        self._users = 0

    # Built on first use, with the modules they come from: answering initialize loads no call-safety code.

    @cached_property
    def pacing(self) -> Pacing:
        from kupe_mcp.toolsets._wait import Pacing

        return Pacing()

    @cached_property
    def upload_formats(self) -> FormatsCache:
        from kupe_mcp.toolsets._files import FormatsCache

        return FormatsCache()

    @cached_property
    def guards(self) -> CallGuards:
        from kupe_mcp.safety.rules import CallGuards

        return CallGuards.from_settings(self.kupe_settings)

    @cached_property
    def approvals(self) -> ApprovalDesk:
        from kupe_mcp.safety.approvals import StateApprovals
        from kupe_mcp.safety.page import ApprovalDesk
        from kupe_mcp.safety.passkeys import Passkeys, key_checker

        conf = self.kupe_settings
        return ApprovalDesk(
            # The state store holds approvals too (memory, sqlite or redis): a shared one lets any replica serve the
            # page and redeem once.
            StateApprovals(self.state, retention_s=conf.approval_retention_days * 86400),
            ttl_s=conf.approval_ttl_s,
            public_base=conf.approval_base_url,
            port=conf.approval_port,
            proof=conf.proof,
            passkeys=Passkeys(self.state, self.state_keys),
            check_key=key_checker(conf.base_url),
        )

    @property
    def multi_tenant(self) -> bool:
        """True on multi-tenant HTTP: each request brings its own Kupe credentials."""
        return self.kupe.multi_tenant

    def client_for(self, ctx: Context) -> KupeClient:
        """The Kupe client for one tool call (its request's own credentials on multi-tenant HTTP)."""
        return self.kupe.for_context(ctx)

    async def tenant_of(self, ctx: Context) -> str:
        """The Kupe account behind this call's credentials (``user_id`` from ``GET /api/v1/me``), cached.

        Keys all call-safety state, so tenant B can neither see A's calls, nor use up A's cap,
        nor touch A's approvals, while two keys of one account share one cap. Falls back to the
        credential's fingerprint only when Kupe answers but cannot say (an error status, an
        unexpected body); when Kupe cannot be reached the error propagates: nothing is dialled.
        """
        client = self.client_for(ctx)
        fingerprint = client.credentials.fingerprint()
        known = self._tenants.get(fingerprint)
        if known is not None:
            return known
        try:
            tenant = f"user:{(await client.me()).user_id}"
        except (KupeAPIError, UnexpectedResponse):
            tenant = f"key:{fingerprint}"
        if len(self._tenants) > 10_000:
            self._tenants.clear()
        self._tenants[fingerprint] = tenant
        return tenant

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[Runtime]:
        """The server's lifespan: yields this runtime to every request, and releases its connections when the last
        user leaves.

        stdio enters it once for the process and streamable HTTP once for the session manager's life; an
        in-memory client enters it per connection, so entries are counted and only the last exit releases.
        """
        self._users += 1
        try:
            yield self
        finally:
            self._users -= 1
            if self._users == 0:
                await self.release()

    async def release(self) -> None:
        """Close the pooled Kupe client's sockets and the state store's connections; each reopens on next use.

        The approval page's loopback listener (stdio) is left running: an approval outlives the connection that
        asked for it, and the person may answer on the page after the client has gone. ``aclose`` stops it.
        """
        await self.kupe.client.aclose()
        await self.state.aclose()

    async def aclose(self) -> None:
        """Release the connections and stop the approval listener: the server is going away."""
        if "approvals" in self.__dict__:  # built: its listener may be running
            self.approvals.close()
        await self.release()
