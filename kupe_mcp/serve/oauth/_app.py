"""kupe-app-mcp as its own OAuth 2.1 authorization server and protected resource (multi-tenant HTTP).

Routes (all on this server's own origin, which is also the issuer):

* ``/.well-known/oauth-protected-resource`` and ``…/mcp``: RFC 9728 metadata of the MCP endpoint;
* ``/.well-known/oauth-authorization-server``: RFC 8414 metadata (CIMD supported, PKCE S256 only);
* ``/authorize``, ``/token``, ``/register`` (DCR), ``/revoke``: the SDK's handlers over ``Grants``;
* ``/oauth/sign-in``: the page where the person pastes their Kupe App API key.

The origin is ``KUPE_APPROVAL_BASE_URL`` when set (a proxy in front), else the request's own scheme and Host,
and the Host must be one the server answers to (the approval page's rule), so a rebinding DNS name cannot make
the sign-in page same-origin with another site.

``admit`` is the MCP endpoint's side: an access token becomes the Kupe key it was granted for, as the
request's ``x-api-key`` (what static-key clients send), plus the grant's rights in ``x-kupe-grant-scope``.
"""

from __future__ import annotations

import logging
import re
import secrets
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mcp.server.auth.handlers.authorize import AuthorizationHandler
from mcp.server.auth.handlers.register import RegistrationHandler
from mcp.server.auth.handlers.token import TokenErrorResponse, TokenHandler
from mcp.server.auth.middleware.client_auth import AuthenticationError, ClientAuthenticator
from mcp.server.auth.settings import ClientRegistrationOptions
from mcp.server.transport_security import RequestBodyLimitMiddleware
from pydantic import SecretStr
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route, Router, request_response
from starlette.types import ASGIApp, Receive, Scope, Send

from kupe_mcp.config import Credentials, Settings
from kupe_mcp.errors import AuthenticationFailed, KupeAPIError, KupeConnectionError, PermissionDenied
from kupe_mcp.safety.page import page_hosts
from kupe_mcp.serve._asgi import send_unauthorized
from kupe_mcp.serve.oauth._cimd import ClientDocumentRefused, ClientDocuments, is_document_client_id
from kupe_mcp.serve.oauth._grants import (
    ACCESS_PREFIX,
    SCOPES,
    Grants,
    redirect_allowed,
    request_origin,
    resource_matches,
    resource_of,
)
from kupe_mcp.serve.oauth._page import HEADERS, render_message, render_sign_in
from kupe_mcp.serve.oauth._scope import GRANT_SCOPE_HEADER
from kupe_mcp.serve.runtime import Runtime, looks_like_jwt
from kupe_mcp.text import redact as _redact

__all__ = ["GRANT_SCOPE_HEADER", "OAuthOptions", "OAuthServer", "PasskeyOffer"]

logger = logging.getLogger("kupe_mcp.oauth")


CSRF_COOKIE = "kupe_oauth_csrf"
_HOST = re.compile(r"[A-Za-z0-9.-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?")
_MAX_BODY = 64 * 1024
_PATHS = {
    "/.well-known/oauth-protected-resource",
    "/.well-known/oauth-protected-resource/mcp",
    "/.well-known/oauth-authorization-server",
    "/authorize",
    "/token",
    "/register",
    "/revoke",
    "/oauth/sign-in",
}


@dataclass(frozen=True)
class PasskeyOffer:
    """The hook the sign-in page offers passkey enrolment through (call approvals; built elsewhere).

    ``label`` is the checkbox text. When the person ticks it, ``start(tenant, continue_url)`` returns the URL of
    the enrolment page, which must send the browser on to ``continue_url`` (the app's redirect) when done.
    """

    label: str
    start: Callable[[str, str], Awaitable[str]]


@dataclass(frozen=True)
class OAuthOptions:
    """Knobs that are not settings: test-only client-document switches and the passkey hook."""

    documents_allow_private: bool = False
    """Test-only: let client metadata documents live on loopback/private addresses."""
    documents_verify: ssl.SSLContext | bool = True
    """Test-only: the TLS trust for fetching client metadata documents (a test CA)."""
    passkey: PasskeyOffer | None = None


class OAuthServer:
    """The OAuth routes plus the MCP endpoint's token check, over the server's state store."""

    def __init__(self, runtime: Runtime, settings: Settings, *, host: str, options: OAuthOptions | None = None):
        options = options or OAuthOptions()
        self.runtime = runtime
        self.public_base = settings.approval_base_url
        self.hosts = page_hosts(host, self.public_base)
        self.documents = ClientDocuments(allow_private=options.documents_allow_private, verify=options.documents_verify)
        self.grants = Grants(runtime.state, runtime.state_keys, self.documents)
        self.passkey = options.passkey
        # Every OAuth body is a small form or JSON document (a registration, a token request, the sign-in form).
        self._router = RequestBodyLimitMiddleware(self._build_router(), _MAX_BODY)

    def __repr__(self) -> str:
        return f"OAuthServer(public_base={self.public_base!r})"

    # -- origin ----------------------------------------------------------------------------

    def origin_of(self, scope: Scope) -> str:
        if self.public_base:
            return self.public_base.rstrip("/")
        host = _header(scope, b"host")
        if not _HOST.fullmatch(host):  # it is echoed into headers and metadata: nothing but a host[:port]
            host = "localhost"
        scheme = "https" if scope.get("scheme") == "https" else "http"
        return f"{scheme}://{host}"

    def _host_allowed(self, scope: Scope) -> bool:
        if self.hosts is None:
            return True
        name = (urlsplit(f"//{_header(scope, b'host')}").hostname or "").lower()
        return name in self.hosts

    def challenge(self, scope: Scope, *, error: str | None = None) -> bytes:
        """``WWW-Authenticate`` for a 401 on the MCP endpoint: where the resource metadata is (RFC 9728 §5.1)."""
        origin = self.origin_of(scope)
        parts = [
            f'resource_metadata="{origin}/.well-known/oauth-protected-resource/mcp"',
            f'scope="{" ".join(SCOPES)}"',
        ]
        if error:
            parts.insert(0, f'error="{error}"')
        return ("Bearer " + ", ".join(parts)).encode("latin-1", "replace")

    # -- the MCP endpoint's side ---------------------------------------------------------------

    async def admit(self, scope: Scope, send: Send) -> Scope | None:
        """The request as MCP sees it; None when this answered it (a 401 for a dead access token)."""
        headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != GRANT_SCOPE_HEADER.encode()]
        auth = _header(scope, b"authorization")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        if not token.startswith(ACCESS_PREFIX):
            return {**scope, "headers": headers}
        resolved = await self.grants.resolve(token, self.origin_of(scope))
        if resolved is None:
            await send_unauthorized(
                send,
                self.challenge(scope, error="invalid_token"),
                "invalid_token",
                "This sign-in has expired or was revoked: reconnect to sign in again.",
            )
            return None
        key, scopes = resolved
        kept = [(k, v) for k, v in headers if k.lower() not in {b"authorization", b"x-api-key"}]
        kept += [(b"x-api-key", key.encode()), (GRANT_SCOPE_HEADER.encode(), " ".join(scopes).encode())]
        return {**scope, "headers": kept}

    # -- routes ----------------------------------------------------------------------------------

    def routes(self, app: ASGIApp) -> ASGIApp:
        """``app`` with the OAuth paths in front of it."""

        async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or scope.get("path") not in _PATHS:
                await app(scope, receive, send)
                return
            if not self._host_allowed(scope):
                await Response("Unknown host.", status_code=421)(scope, receive, send)
                return
            token = request_origin.set(self.origin_of(scope))
            try:
                await self._router(scope, receive, send)
            finally:
                request_origin.reset(token)

        return dispatch

    def _build_router(self) -> Router:
        grants = self.grants
        authenticator = ClientAuthenticator(grants)
        sdk_authorize = AuthorizationHandler(grants)
        token = _ResourceCheckedTokenHandler(grants, authenticator)
        register = RegistrationHandler(grants, options=ClientRegistrationOptions(enabled=True))

        async def revoke(request: Request) -> Response:
            """RFC 7009. The SDK's handler requires a ``client_secret`` field even from public clients (CIMD,
            ``none``), which send none; this one authenticates the same way and needs only ``token``."""
            try:
                client = await authenticator.authenticate_request(request)
            except AuthenticationError as exc:
                return JSONResponse({"error": "invalid_client", "error_description": exc.message}, status_code=401)
            value = (await request.form()).get("token")
            if not isinstance(value, str) or not value:
                return JSONResponse({"error": "invalid_request", "error_description": "token is required"}, 400)
            token = await grants.load_access_token(value) or await grants.load_refresh_token(client, value)
            if token is not None and token.client_id == client.client_id:
                await grants.revoke_token(token)
            return Response(status_code=200, headers={"cache-control": "no-store"})

        def cors(handler: Callable[[Request], Awaitable[Response]], methods: list[str]) -> ASGIApp:
            return CORSMiddleware(
                request_response(handler), allow_origins=["*"], allow_methods=methods, allow_headers=["*"]
            )

        async def authorize(request: Request) -> Response:
            params = request.query_params if request.method == "GET" else await request.form()
            client_id = params.get("client_id")
            if isinstance(client_id, str) and is_document_client_id(client_id):
                try:
                    document = await self.documents.get(client_id)
                except ClientDocumentRefused as refused:
                    return _message("This app cannot sign in", str(refused), status=400)
                bad = [str(u) for u in document.redirect_uris or [] if not redirect_allowed(str(u))]
                if bad:
                    return _message(
                        "This app cannot sign in",
                        f"The client metadata document at {client_id} lists the redirect URI {bad[0]}, which is "
                        "not allowed: use https, http on a loopback address, or the app's own scheme.",
                        status=400,
                    )
            return _naming_issuer(await sdk_authorize.handle(request))

        return Router(
            routes=[
                Route("/.well-known/oauth-protected-resource", cors(self._resource_metadata, ["GET", "OPTIONS"])),
                Route("/.well-known/oauth-protected-resource/mcp", cors(self._resource_metadata, ["GET", "OPTIONS"])),
                Route("/.well-known/oauth-authorization-server", cors(self._server_metadata, ["GET", "OPTIONS"])),
                Route("/authorize", authorize, methods=["GET", "POST"]),
                Route("/token", cors(token.handle, ["POST", "OPTIONS"]), methods=["POST", "OPTIONS"]),
                Route("/register", cors(register.handle, ["POST", "OPTIONS"]), methods=["POST", "OPTIONS"]),
                Route("/revoke", cors(revoke, ["POST", "OPTIONS"]), methods=["POST", "OPTIONS"]),
                Route("/oauth/sign-in", self._sign_in, methods=["GET", "POST"]),
            ]
        )

    async def _resource_metadata(self, request: Request) -> Response:
        origin = request_origin.get()
        return JSONResponse(
            {
                "resource": resource_of(origin),
                "authorization_servers": [origin],
                "scopes_supported": list(SCOPES),
                "bearer_methods_supported": ["header"],
                "resource_name": "Kupe voice agents (kupe-app-mcp)",
            },
            headers={"cache-control": "public, max-age=300"},
        )

    async def _server_metadata(self, request: Request) -> Response:
        origin = request_origin.get()
        auth_methods = ["none", "client_secret_post", "client_secret_basic"]
        return JSONResponse(
            {
                "issuer": origin,
                "authorization_endpoint": f"{origin}/authorize",
                "token_endpoint": f"{origin}/token",
                "registration_endpoint": f"{origin}/register",
                "revocation_endpoint": f"{origin}/revoke",
                "scopes_supported": list(SCOPES),
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "token_endpoint_auth_methods_supported": auth_methods,
                "revocation_endpoint_auth_methods_supported": auth_methods,
                "code_challenge_methods_supported": ["S256"],
                "client_id_metadata_document_supported": True,
                # RFC 9207: every answer sent back to the app names this issuer, so a client talking to several
                # authorization servers can tell whose code it got (mix-up attacks).
                "authorization_response_iss_parameter_supported": True,
            },
            headers={"cache-control": "public, max-age=300"},
        )

    # -- the sign-in page ------------------------------------------------------------------------

    async def _sign_in(self, request: Request) -> Response:
        if request.method == "GET":
            request_id = request.query_params.get("request", "")
            pending = await self.grants.pending(request_id) if request_id else None
            if pending is None:
                return _expired()
            csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
            response = self._form(request_id, csrf, pending)
            self._set_csrf(request, response, csrf)
            return response
        return await self._submit(request)

    def _form(self, request_id: str, csrf: str, pending: dict[str, Any], error: str | None = None) -> Response:
        page = render_sign_in(
            request_id=request_id,
            csrf=csrf,
            pending=pending,
            error=error,
            passkey_label=self.passkey.label if self.passkey else None,
        )
        return HTMLResponse(page, status_code=400 if error else 200, headers=HEADERS)

    def _set_csrf(self, request: Request, response: Response, csrf: str) -> None:
        response.set_cookie(
            CSRF_COOKIE,
            csrf,
            max_age=3600,
            path="/oauth/",
            httponly=True,
            samesite="strict",
            secure=request_origin.get().startswith("https://"),
        )

    async def _submit(self, request: Request) -> Response:
        origin = (request.headers.get("origin") or "").lower().rstrip("/")
        if origin != request_origin.get().lower():
            return _message("Sign-in refused", "This form must be sent from this server's own sign-in page.", 403)
        form = await request.form()
        request_id, csrf, key = (str(form.get(name) or "") for name in ("request", "csrf", "api_key"))
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if not csrf or not cookie or not secrets.compare_digest(csrf.encode(), cookie.encode()):
            return _message(
                "Sign-in refused", "This form has expired: go back to your app and start the connection again.", 403
            )
        pending = await self.grants.pending(request_id)
        if pending is None:
            return _expired()
        if form.get("action") == "deny":
            from mcp.server.auth.provider import construct_redirect_uri

            denied = construct_redirect_uri(
                pending["redirect_uri"],
                error="access_denied",
                error_description="The person cancelled the sign-in.",
                state=pending["state"],
                iss=request_origin.get(),
            )
            return RedirectResponse(denied, status_code=303, headers=HEADERS)
        key = key.strip()
        problem = _key_shape_problem(key)
        tenant = None
        if problem is None:
            _redact.remember(key)
            tenant, problem = await self._check_key(key)
        if problem is not None or tenant is None:
            return self._form(request_id, csrf, pending, error=problem)
        url = await self.grants.complete(
            request_id, api_key=key, tenant=tenant, read_only=bool(form.get("read_only")), issuer=request_origin.get()
        )
        if url is None:
            return _expired()
        logger.info("OAuth sign-in: a new grant for %s, client %s.", tenant, pending["client_id"])
        if self.passkey is not None and form.get("passkey"):
            url = await self.passkey.start(tenant, url)
        return RedirectResponse(url, status_code=303, headers=HEADERS)

    async def _check_key(self, key: str) -> tuple[str | None, str | None]:
        """(tenant, None) when Kupe knows the key (``GET /api/v1/me``), else (None, one sentence why not)."""
        client = self.runtime.kupe.client.with_credentials(Credentials(api_key=SecretStr(key)))
        token = _redact.request_credentials.set((key,))
        try:
            me = await client.me()
        except (AuthenticationFailed, PermissionDenied):
            return None, "Kupe did not accept this API key: check that it was copied whole and has not been revoked."
        except KupeConnectionError:
            return None, "Kupe could not be reached to check the key: try again in a minute."
        except KupeAPIError as exc:
            return None, f"Kupe could not check the key (HTTP {exc.status}): try again in a minute."
        finally:
            _redact.request_credentials.reset(token)
        return f"user:{me.user_id}", None


class _ResourceCheckedTokenHandler(TokenHandler):
    """The SDK's token endpoint, plus RFC 8707: a ``resource`` that names another server is ``invalid_target``."""

    async def handle(self, request: Request) -> Response:
        form = await request.form()  # Starlette caches it: the SDK's handler reads the same form
        resource = form.get("resource")
        if isinstance(resource, str) and not resource_matches(resource, request_origin.get()):
            refused: Response = self.response(
                TokenErrorResponse(
                    error="invalid_target",
                    error_description=f"This server is the resource {resource_of(request_origin.get())}.",
                )
            )
            return refused
        response: Response = await super().handle(request)
        return response


def _key_shape_problem(key: str) -> str | None:
    """One sentence for what is plainly not a Kupe App API key, before asking Kupe."""
    if not key:
        return "Paste your Kupe App API key."
    if key.startswith("sk-kupe-"):
        return (
            "That is a Kupe Hub key (sk-kupe-…), which this server cannot use: paste a Kupe App API key "
            "from the Kupe App dashboard (Settings → API keys) instead."
        )
    if looks_like_jwt(key):
        return (
            "That is a Kupe session token, which expires within hours: paste a Kupe App API key "
            "from the Kupe App dashboard (Settings → API keys) instead."
        )
    if len(key) > 512 or any(c.isspace() for c in key):
        return "That does not look like a Kupe App API key: copy the whole key, with no spaces."
    return None


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return ""


def _naming_issuer(response: Response) -> Response:
    """RFC 9207 for the SDK's own answers too: an error it sends back to the app carries ``iss`` like our code and
    cancel redirects do. Its only other redirect goes to our sign-in page, which is no answer to the app."""
    from mcp.server.auth.provider import construct_redirect_uri

    issuer = request_origin.get()
    location = response.headers.get("location")
    if location is not None and not location.startswith(f"{issuer}/oauth/sign-in"):
        response.headers["location"] = construct_redirect_uri(location, iss=issuer)
    return response


def _message(title: str, sentence: str, status: int) -> Response:
    return HTMLResponse(render_message(title, sentence), status_code=status, headers=HEADERS)


def _expired() -> Response:
    return _message(
        "Sign-in expired",
        "This sign-in link has expired: go back to your app and connect again.",
        400,
    )
