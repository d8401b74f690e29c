"""Serving the MCP server: stdio, and stateless streamable HTTP behind an auth gate.

HTTP has two modes:

* multi-tenant (no server credentials): each request must carry its own Kupe
  ``x-api-key`` or ``Authorization: Bearer`` header (a JWT is a session, anything else an
  API key), used for that request only; a request with neither gets 401 before MCP sees it.
  With ``KUPE_MCP_TOKEN`` set as well, ``Authorization: Bearer`` must carry that token (it is
  consumed here and never sent to Kupe) and the Kupe key comes as ``x-api-key``.
  Without ``KUPE_MCP_TOKEN`` and with ``KUPE_OAUTH`` on (the default), the server is also its own OAuth 2.1
  authorization server (``kupe_mcp.serve.oauth``): an access token stands for the Kupe key the person sealed into
  their grant on the sign-in page, and a 401 names the protected-resource metadata.
* single-tenant (server credentials set): clients present ``KUPE_MCP_TOKEN`` as a
  Bearer token. Without a token the server only listens on loopback.

DNS-rebinding (Host/Origin) protection is always on, with hosts derived from the bind address
plus ``KUPE_ALLOWED_HOSTS`` / ``KUPE_ALLOWED_ORIGINS``. ``/healthz`` answers load balancers
without auth, without calling Kupe and without saying anything about the server.

A plain ``GET /mcp`` (a person's browser, a health probe: no ``text/event-stream`` in Accept, no session) is answered
at once with a short page saying what this is, instead of the SDK's event stream that never ends or its 406.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from typing import Any

from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Receive, Scope, Send

from kupe_mcp.config import Settings
from kupe_mcp.errors import ConfigError
from kupe_mcp.safety.page import approval_routes, page_hosts
from kupe_mcp.serve._asgi import send_unauthorized
from kupe_mcp.serve.runtime import Runtime, credentials_from_headers
from kupe_mcp.serve.server import KupeServer
from kupe_mcp.text import redact as _redact

__all__ = ["AuthGate", "HealthCheck", "Landing", "http_app", "is_loopback", "transport_security"]

logger = logging.getLogger("kupe_mcp.http")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class AuthGate:
    """ASGI middleware that refuses MCP requests without the credentials the mode requires."""

    def __init__(self, app: ASGIApp, *, multi_tenant: bool, mcp_token: str | None, oauth: Any = None) -> None:
        self.app = app
        self.multi_tenant = multi_tenant
        self._token = mcp_token.encode() if mcp_token else None
        # kupe_mcp.serve.oauth.OAuthServer when KUPE_OAUTH is on: access tokens become the grant's Kupe key.
        self.oauth = oauth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") == "OPTIONS":
            await self.app(scope, receive, send)
            return
        if self.oauth is not None:
            admitted = await self.oauth.admit(scope, send)
            if admitted is None:
                return
            scope = admitted
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        problem = self._problem(headers)
        if problem is None:
            if self.multi_tenant and self._token is not None:
                scope = _consume_token(scope)
            if self.multi_tenant:
                # Known to the log redactor for as long as this request runs, and kept nowhere.
                _redact.request_credentials.set(credentials_from_headers(headers).secrets())
            await self.app(scope, receive, send)
            return
        challenge = self.oauth.challenge(scope) if self.oauth is not None else b'Bearer realm="kupe-app-mcp"'
        await send_unauthorized(send, challenge, "unauthorized", problem)

    def _problem(self, headers: dict[str, str]) -> str | None:
        if self.multi_tenant:
            if self._token is not None:
                if not self._token_ok(headers):
                    return "Send KUPE_MCP_TOKEN as Authorization: Bearer <token>, and your Kupe API key as x-api-key."
                # The token is this server's, not a Kupe credential: it must never reach Kupe.
                headers.pop("authorization", None)
            if credentials_from_headers(headers):
                return None
            if self.oauth is not None:
                return (
                    "Sign in: connect with an MCP client that supports OAuth, or send your Kupe API key as x-api-key."
                )
            return "Send your Kupe API key as the x-api-key header or as Authorization: Bearer <key>."
        if self._token is None:
            return None
        if self._token_ok(headers):
            return None
        return "Send KUPE_MCP_TOKEN as Authorization: Bearer <token>."

    def _token_ok(self, headers: dict[str, str]) -> bool:
        auth = headers.get("authorization", "")
        presented = auth[7:].strip().encode() if auth[:7].lower() == "bearer " else b""
        return bool(presented) and self._token is not None and hmac.compare_digest(presented, self._token)


def _consume_token(scope: Scope) -> Scope:
    """The request as MCP sees it, without the ``Authorization`` header that carried KUPE_MCP_TOKEN."""
    kept = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"authorization"]
    return {**scope, "headers": kept}


class HealthCheck:
    """``GET /healthz`` -> 200 ``{"status": "ok"}`` for load balancers: no auth, no Kupe call, nothing else said."""

    _BODY = b'{"status":"ok"}'

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != "/healthz":
            await self.app(scope, receive, send)
            return
        ok = scope.get("method") in ("GET", "HEAD")
        body = self._BODY if ok else b'{"error":"method not allowed"}'
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if not ok:
            headers.append((b"allow", b"GET, HEAD"))
        headers.append((b"cache-control", b"no-store"))
        await send({"type": "http.response.start", "status": 200 if ok else 405, "headers": headers})
        await send({"type": "http.response.body", "body": body if scope.get("method") != "HEAD" else b""})


_WILDCARD_BINDS = {"", "0.0.0.0", "::", "[::]"}  # noqa: S104 - names, not a bind


def _host_forms(host: str) -> list[str]:
    """How a Host header may name ``host``: IPv6 in brackets, in its written and its compressed form."""
    bare = host.strip().strip("[]")
    try:
        ip = ipaddress.ip_address(bare)
    except ValueError:
        return [bare.lower()]
    if ip.version == 6:
        return list(dict.fromkeys([f"[{bare.lower()}]", f"[{ip.compressed}]", f"[{ip.exploded}]"]))
    return [ip.compressed]


def _split_port(entry: str) -> tuple[str, str | None]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` as (host, port or None)."""
    if entry.startswith("["):
        name, _, rest = entry.partition("]")
        return f"{name}]", rest.removeprefix(":") or None
    name, _, port = entry.partition(":")
    return name, port or None


def transport_security(bind: str, settings: Settings) -> TransportSecuritySettings:
    """Explicit Host/Origin allow-lists for the SDK's DNS-rebinding check, whatever the bind address.

    Allowed: the loopback names, the bind address itself (unless it is a wildcard such as 0.0.0.0),
    and ``KUPE_ALLOWED_HOSTS`` (``host`` or ``host:port``, for a real hostname behind a proxy). Any
    port of a host without one. Origins: ``http(s)://`` each allowed host, plus ``KUPE_ALLOWED_ORIGINS``.
    """
    names = ["127.0.0.1", "localhost", "[::1]"]
    if bind.strip() not in _WILDCARD_BINDS:
        names += _host_forms(bind)
    hosts: list[str] = []
    origins: list[str] = []
    for name in dict.fromkeys(names):
        hosts += [name, f"{name}:*"]
        origins += [f"{scheme}://{name}{port}" for scheme in ("http", "https") for port in ("", ":*")]
    for entry in settings.allowed_hosts:
        name, port = _split_port(entry)
        ports = (f":{port}",) if port else ("", ":*")
        hosts += [f"{name}{p}" for p in ports]
        origins += [f"{scheme}://{name}{p}" for scheme in ("http", "https") for p in ports]
    origins += list(settings.allowed_origins)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=list(dict.fromkeys(hosts)),
        allowed_origins=list(dict.fromkeys(origins)),
    )


_TEXT = (
    "kupe-app-mcp: an MCP server for the Kupe App voice-agent platform (api.kupe.in).\n"
    "This URL is an MCP endpoint (streamable HTTP): connect an MCP client to it; a browser has nothing to show here.\n"
    "{auth}\n"
)
_HTML = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>kupe-app-mcp</title>"
    "<h1>kupe-app-mcp</h1><p>An MCP server for the Kupe App voice-agent platform (api.kupe.in).</p>"
    "<p>This URL is an MCP endpoint (streamable HTTP): connect an MCP client to it, e.g. "
    "<code>claude mcp add --transport http kupe &lt;this URL&gt;</code>. A browser has nothing to show here.</p>"
    "<p>{auth}</p></html>\n"
)


class Landing:
    """ASGI middleware: answer a GET that is not an MCP stream request with a short explanation (200)."""

    def __init__(self, app: ASGIApp, *, path: str, auth: str) -> None:
        self.app = app
        self.paths = {path, path.rstrip("/") + "/", "/"}
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in {"GET", "HEAD"} or scope.get("path") not in self.paths:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if "text/event-stream" in headers.get("accept", "").lower() or "mcp-session-id" in headers:
            await self.app(scope, receive, send)
            return
        html = "text/html" in headers.get("accept", "").lower()
        body = (_HTML if html else _TEXT).format(auth=self.auth).encode()
        content_type = b"text/html; charset=utf-8" if html else b"text/plain; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


def http_app(
    server: KupeServer, settings: Settings, *, host: str, multi_tenant: bool, oauth_options: Any = None
) -> Any:
    """The streamable-HTTP ASGI app at ``/mcp``, stateless, behind the auth gate, plus ``/healthz``.

    Multi-tenant with KUPE_OAUTH on (and no KUPE_MCP_TOKEN) adds the OAuth sign-in (``kupe_mcp.serve.oauth``;
    ``oauth_options`` are its test-only knobs and hooks). Raises ConfigError when serving server credentials on a
    non-loopback address without KUPE_MCP_TOKEN.
    """
    token = settings.mcp_token.get_secret_value() if settings.mcp_token else None
    if not multi_tenant and token is None and not is_loopback(host):
        raise ConfigError(
            f"Refusing to serve Kupe credentials on {host} without KUPE_MCP_TOKEN: "
            "set KUPE_MCP_TOKEN, or bind to 127.0.0.1."
        )
    if host.strip() in _WILDCARD_BINDS and not settings.allowed_hosts:
        logger.warning(
            "Bound to %s without KUPE_ALLOWED_HOSTS: only requests naming a loopback host are answered; "
            "set KUPE_ALLOWED_HOSTS to the hostname clients use.",
            host or "all interfaces",
        )
    app = server.streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=True,
        host=host,
        transport_security=transport_security(host, settings),
    )
    oauth = None
    if multi_tenant and settings.oauth and token is None:
        from dataclasses import replace

        from kupe_mcp.serve.oauth import OAuthOptions, OAuthServer

        options = oauth_options or OAuthOptions()
        if options.passkey is None:
            options = replace(options, passkey=passkey_offer(server.runtime))
        oauth = OAuthServer(server.runtime, settings, host=host, options=options)
    gated = AuthGate(app, multi_tenant=multi_tenant, mcp_token=token, oauth=oauth)
    server.runtime.approvals.served_over_http = True
    base = settings.approval_base_url
    page = approval_routes(server.runtime.approvals, hosts=page_hosts(host, base, settings.allowed_hosts))
    if oauth is not None:
        auth = (
            "Connect an MCP client that supports OAuth (claude.ai, Claude Code, VS Code, Cursor, ChatGPT): it opens "
            "a page where you sign in once with your Kupe App API key. Or send the key as the x-api-key header."
        )
    elif multi_tenant:
        auth = (
            "Each request must carry its own Kupe API key as the x-api-key header (or as Authorization: Bearer <key>)."
        )
    elif token is not None:
        auth = "Clients must present the server's MCP token as Authorization: Bearer <token>."
    else:
        auth = "This server uses its own Kupe credentials; it listens on loopback only."
    served = ApprovalsFirst(page, HealthCheck(Landing(gated, path="/mcp", auth=auth)))
    return oauth.routes(served) if oauth is not None else served


PASSKEY_OFFER_LABEL = "Also set up a passkey to approve phone calls (recommended)"


def passkey_offer(runtime: Runtime) -> Any:
    """The sign-in page's passkey offer (``kupe_mcp.serve.oauth.PasskeyOffer``) when real dials need a passkey.

    On a hosted server the OAuth sign-in is the moment the person has just proved who they are, and the one page
    they see before their app: ticking the box mints a one-time enrolment code for that tenant (the sealed OAuth
    redirect kept with it) and sends the browser to the enrolment page with the code in the URL fragment, which
    no server log, proxy or Referer sees. The page then offers "Continue to <app>" with that redirect only. None
    when approvals do not use passkeys (``client`` proof): there is nothing to enrol.
    """
    desk = runtime.approvals
    passkeys = desk.passkeys
    if desk.proof != "passkey" or passkeys is None:
        return None
    from urllib.parse import quote

    from kupe_mcp.safety.passkeys import relying_party
    from kupe_mcp.serve.oauth import PasskeyOffer
    from kupe_mcp.serve.oauth._grants import request_origin

    async def start(tenant: str, continue_url: str) -> str:
        origin = request_origin.get()  # this server's public base (KUPE_APPROVAL_BASE_URL) or its checked Host
        if relying_party(origin) is None:
            # Reached by IP address: no passkey can be made here, so the person goes straight back to the app.
            logger.info("OAuth sign-in: passkey enrolment skipped (the server is reached by IP, not a host name).")
            return continue_url
        code = await passkeys.enrolment_code(tenant, then=continue_url)
        _redact.remember(code)
        return f"{origin}/approvals/passkeys/enrol#code={quote(code)}"

    return PasskeyOffer(label=PASSKEY_OFFER_LABEL, start=start)


class ApprovalsFirst:
    """``/approvals/…`` goes to the approval page (a person's browser carries no MCP credentials); the rest to MCP."""

    def __init__(self, page: ASGIApp, app: ASGIApp) -> None:
        self.page = page
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith("/approvals/"):
            await self.page(scope, receive, send)
            return
        await self.app(scope, receive, send)
