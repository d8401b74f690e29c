"""ASGI middleware: request log + fault injection (outermost) and authentication/RBAC.

Both run before routing, like Kupe's own middleware stack, so an unauthenticated
request to an unknown path is still a 401 and faults hit every ``/api/**`` path.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

import anyio
import httpx2
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._http import Principal
from ._seed import key_hash
from ._state import Sandbox

PRINCIPAL_KEY = "sandbox.principal"

_BAD_GATEWAY_HTML = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>"
    "<hr><center>sandbox-edge (injected fault)</center></body></html>"
)


class InjectedConnectionReset(httpx2.RemoteProtocolError):
    """Raised mid-response by the ``reset`` fault.

    Over a socket uvicorn reacts by closing the connection, so clients see a broken
    transfer.  Subclassing the client's own transport error means an in-process
    ``ASGITransport`` client (which re-raises app exceptions) sees the same kind of
    failure, so retry logic can be tested either way.
    """


class FaultMiddleware:
    """Logs every request and, at ``settings.fault_rate``, answers ``/api/**`` with a simulated infrastructure fault."""

    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    def _choose(self, path: str) -> str | None:
        settings = self.sandbox.settings
        if not path.startswith("/api/") or settings.fault_rate <= 0 or not settings.fault_kinds:
            return None
        rng = self.sandbox.rng
        if rng.random() >= settings.fault_rate:
            return None
        return rng.choice(settings.fault_kinds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.sandbox.request_log.append((scope["method"], scope["path"]))
        kind = self._choose(scope["path"])
        if kind is None:
            await self.app(scope, receive, send)
            return
        self.sandbox.faults_injected += 1
        if kind == "stall":
            # Read the request first, as a slow server would: a write the client gave up on still happens.
            received: list[Message] = []
            while True:
                message = await receive()
                received.append(message)
                if message["type"] != "http.request" or not message.get("more_body", False):
                    break

            async def replay() -> Message:
                return received.pop(0) if received else await receive()

            await anyio.sleep(self.sandbox.settings.stall_s)
            await self.app(scope, replay, send)
        elif kind == "reset":
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
                }
            )
            await send({"type": "http.response.body", "body": b'{"status": "succ', "more_body": True})
            raise InjectedConnectionReset("sandbox fault: connection reset mid-response")
        else:
            await _fault_response(kind)(scope, receive, send)


def _fault_response(kind: str) -> Response:
    if kind == "429":
        return JSONResponse(
            {"detail": "Too Many Requests: rate limit exceeded (sandbox fault)"},
            status_code=429,
            headers={"Retry-After": "1"},
        )
    if kind == "503":
        return JSONResponse({"detail": "Service Unavailable (sandbox fault)"}, status_code=503)
    if kind == "html":
        return Response(_BAD_GATEWAY_HTML, status_code=502, media_type="text/html")
    return JSONResponse({"detail": "Internal Server Error (sandbox fault)"}, status_code=500)


# (methods, path regex, message): routes an API key may never use, whatever its scopes.
_SESSION_ONLY: list[tuple[frozenset[str], re.Pattern[str], str]] = [
    (
        frozenset({"POST", "PUT", "PATCH", "DELETE"}),
        re.compile(r"^/api/v1/billing(/|$)"),
        "API keys may only read /api/v1/billing/** (GET); billing writes require a Bearer session",
    ),
    (
        frozenset({"POST", "PUT", "PATCH", "DELETE"}),
        re.compile(r"^/api/v1/(wallets|orgs)/"),
        "Wallet and organization changes require a Bearer session with org_admin or super_admin role",
    ),
    (
        frozenset({"GET", "HEAD"}),
        re.compile(r"^/api/v1/wallets/(users|orgs)(/|$)"),
        "Listing wallets requires a Bearer session with org_admin or super_admin role",
    ),
    (
        frozenset({"PUT", "PATCH"}),
        re.compile(r"^/api/v1/feature-flags/"),
        "Updating feature flags requires a Bearer session",
    ),
    (
        frozenset({"GET", "HEAD"}),
        re.compile(r"^/api/v1/earnings/orgs/"),
        "Organization earnings require a Bearer session with super_admin role",
    ),
]
# Route prefix -> feature flag checked for Bearer sessions (FeatureAccessMiddleware).
_FEATURE_GATES = (("/api/v1/batch-call", "outbound"), ("/api/v1/call-analytics", "call_analytics"))
_PUBLIC = re.compile(r"^/health$|^/api/v1/webhooks/agents/[^/]+/incoming$")
SCOPE_DETAIL = "Forbidden: API Key does not have required scopes"


class AuthMiddleware:
    """Resolves ``x-api-key`` / ``Authorization: Bearer`` to a :class:`Principal` and applies RBAC."""

    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _PUBLIC.match(scope["path"]):
            scope[PRINCIPAL_KEY] = None
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        outcome = self._authenticate(headers, scope["method"], scope["path"])
        if isinstance(outcome, Response):
            await outcome(scope, receive, send)
            return
        scope[PRINCIPAL_KEY] = outcome
        await self.app(scope, receive, send)

    def _authenticate(self, headers: dict[str, str], method: str, path: str) -> Principal | Response:
        store = self.sandbox.store
        api_key = headers.get("x-api-key", "").strip()
        authz = headers.get("authorization", "").strip()
        if api_key:
            if api_key.lower().startswith("bearer "):
                return _deny(401, "Invalid API key: send the raw key in x-api-key without a 'Bearer ' prefix")
            row = store.find("api_key", secret_hash=key_hash(api_key))
            if row is None or not row["is_active"]:
                return _deny(401, "Invalid or revoked API key")
            principal = Principal(row["user_id"], "api_key", row["role"], row["id"], tuple(row.get("scopes") or ()))
            return self._authorize_key(principal, method, path)
        if authz:
            scheme, _, token = authz.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return _deny(401, "Invalid Authorization header: expected 'Bearer <session token>'")
            session = store.get("session", key_hash(token.strip()))
            if session is None:
                return _deny(401, "Invalid or expired session token")
            principal = Principal(session["user_id"], "bearer", session["role"])
            return self._authorize_session(principal, path)
        return _deny(401, "Not authenticated: send x-api-key or Authorization: Bearer <token>")

    def _authorize_key(self, principal: Principal, method: str, path: str) -> Principal | Response:
        if principal.scopes and not any(fnmatch.fnmatchcase(f"{method} {path}", s) for s in principal.scopes):
            return _deny(403, SCOPE_DETAIL)
        for methods, pattern, message in _SESSION_ONLY:
            if method in methods and pattern.match(path):
                return _deny(403, message)
        return principal

    def _authorize_session(self, principal: Principal, path: str) -> Principal | Response:
        user: dict[str, Any] = self.sandbox.store.get("user", principal.user_id) or {}
        flags = user.get("feature_flags") or {}
        for prefix, flag in _FEATURE_GATES:
            if path.startswith(prefix) and flags.get(flag) is False:
                return _deny(403, f"Feature '{flag}' is not enabled for this account")
        return principal


def _deny(status: int, detail: str) -> Response:
    return JSONResponse({"detail": detail}, status_code=status)
