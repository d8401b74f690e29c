"""Grants, codes and tokens in the state store, behind the SDK's ``OAuthAuthorizationServerProvider`` interface.

A grant is one person's sign-in for one client: their Kupe key, sealed (``_seal``), the Kupe account
it belongs to and the rights it carries. Everything that refers to it is stored under a digest of
its value (``StateKeys.token_id``, an HMAC under KUPE_STATE_SECRET), never the value itself:

* ``code:<digest>``: an authorization code, single use (``take``), 5 minutes;
* ``access:<digest>``: an access token (opaque, ``kmcp_at_…``), 1 hour;
* ``refresh:<digest>``: a refresh token (``kmcp_rt_…``), 30 days, rotated on each use (``take``);
  presenting a spent one again revokes the whole grant (it was stolen, or replayed);
* ``grant:<id>``: the sealed key; every token is checked against it, so deleting it (revocation)
  ends them all at once, and the key is gone with it.

All of it lives under one store namespace, so replicas sharing a Redis share every grant. Nothing is
written before a person has signed in with a working Kupe key: a registered client (DCR) is its own
signed ``client_id`` (``kdcr_<metadata>.<tag>``, its secret an HMAC of it), and an authorization request
waiting for the sign-in travels sealed in the page's URL. So a flood of registrations or authorization
requests costs no storage, cannot evict anyone's approvals from a bounded store, and every replica
recognises what another handed out.
"""

from __future__ import annotations

import base64
import contextvars
import ipaddress
import json
import logging
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    RefreshToken,
    RegistrationError,
    TokenError,
)
from mcp.shared.auth import InvalidRedirectUriError, OAuthClientInformationFull, OAuthToken
from pydantic import AnyUrl

from kupe_mcp.safety.clock import Clock, from_json, to_json, utc_now
from kupe_mcp.safety.state import StateKeys, StateStore
from kupe_mcp.serve.oauth._cimd import ClientDocumentRefused, ClientDocuments, is_document_client_id
from kupe_mcp.serve.oauth._scope import READ, WRITE
from kupe_mcp.serve.oauth._seal import Sealer, Signer
from kupe_mcp.text import redact as _redact

__all__ = [
    "ACCESS_PREFIX",
    "READ",
    "SCOPES",
    "WRITE",
    "Grants",
    "LenientClient",
    "request_origin",
    "resource_of",
]

SCOPES = (READ, WRITE)
ACCESS_PREFIX = "kmcp_at_"
REFRESH_PREFIX = "kmcp_rt_"
CODE_PREFIX = "kmcp_ac_"
NAMESPACE = "oauth"  # the state store's "tenant" all OAuth records live under

ACCESS_TTL = timedelta(hours=1)
REFRESH_TTL = timedelta(days=30)
CODE_TTL = timedelta(minutes=5)
PENDING_TTL = timedelta(minutes=15)
CLIENT_PREFIX = "kdcr_"
MAX_REDIRECT_URIS = 10
MAX_URI = 2048
MAX_STATE = 1024

logger = logging.getLogger("kupe_mcp.oauth")

request_origin: contextvars.ContextVar[str] = contextvars.ContextVar("kupe_oauth_origin", default="")
"""This server's public origin for the request being handled (set by the routes; see ``_app.origin_of``)."""


def resource_of(origin: str) -> str:
    """The protected resource (RFC 8707/9728): the MCP endpoint at ``origin``."""
    return f"{origin}/mcp"


def resource_matches(resource: str | None, origin: str) -> bool:
    """Whether a client's ``resource`` names this server: its MCP URL (or its origin), slash and case aside."""
    if resource is None:
        return True
    given = resource.strip().rstrip("/").lower()
    return given in {resource_of(origin).lower(), origin.lower()}


def _loopback_http(uri: str) -> bool:
    parts = urlsplit(uri)
    if parts.scheme != "http":
        return False
    host = (parts.hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def redirect_allowed(uri: str) -> bool:
    """OAuth 2.1: https, http on loopback (native apps), or an app's own scheme (``vscode:``, ``cursor:``)."""
    scheme = urlsplit(uri).scheme.lower()
    return scheme == "https" or _loopback_http(uri) or (scheme not in {"http", "javascript", "data", "file", ""})


class LenientClient(OAuthClientInformationFull):
    """A registered client, read leniently where OAuth allows it.

    * Scopes this server does not know (``openid``, ``offline_access``…) are dropped instead of refused,
      and a client that registered no scope may ask for ours; no scope at all means both rights.
    * A loopback redirect may use any port (RFC 8252 §7.3: native apps pick a free port per sign-in).
    """

    def validate_scope(self, requested_scope: str | None) -> list[str] | None:
        if requested_scope is None:
            return list(SCOPES)
        known = [s for s in requested_scope.split() if s in SCOPES]
        return known or list(SCOPES)

    def validate_redirect_uri(self, redirect_uri: AnyUrl | None) -> AnyUrl:
        if redirect_uri is not None and _loopback_http(str(redirect_uri)):
            wanted = urlsplit(str(redirect_uri))
            for registered in self.redirect_uris or []:
                have = urlsplit(str(registered))
                if _loopback_http(str(registered)) and (have.hostname, have.path) == (wanted.hostname, wanted.path):
                    return redirect_uri
            raise InvalidRedirectUriError(f"Redirect URI '{redirect_uri}' not registered for client")
        return super().validate_redirect_uri(redirect_uri)


class Code(AuthorizationCode):
    grant_id: str


class Refresh(RefreshToken):
    grant_id: str


class Access(AccessToken):
    grant_id: str


class Grants:
    """The OAuth provider (``OAuthAuthorizationServerProvider``) over a ``StateStore``."""

    def __init__(
        self, store: StateStore, keys: StateKeys, documents: ClientDocuments, *, clock: Clock = utc_now
    ) -> None:
        self.store = store
        self.keys = keys
        self.documents = documents
        self.clock = clock  # every expiry here; the SDK's models still get epoch numbers
        self.sealer = Sealer(keys.all_secrets)
        self._client_ids = Signer(keys.all_secrets, "client-id")
        self._client_secrets = Signer(keys.all_secrets, "client-secret")

    def __repr__(self) -> str:
        return f"Grants(store={self.store.describe()!r})"

    # -- small store helpers -----------------------------------------------------------

    def _id(self, value: str) -> str:
        return self.keys.token_id(value)

    async def _find(self, kind: str, value: str, *, take: bool = False) -> dict[str, Any] | None:
        """The record of a code or token: under the current secret's digest, or under one being rotated out."""
        for digest in self.keys.token_ids(value):
            raw = await (self._take if take else self._get)(f"{kind}:{digest}")
            if raw is not None:
                return raw
        return None

    async def _put(self, key: str, value: dict[str, Any], ttl: timedelta) -> None:
        await self.store.put(NAMESPACE, key, value, expires=self.clock() + ttl)

    async def _get(self, key: str) -> dict[str, Any] | None:
        return await self.store.get(NAMESPACE, key, now=self.clock())

    async def _take(self, key: str) -> dict[str, Any] | None:
        return await self.store.take(NAMESPACE, key, now=self.clock())

    # -- clients -------------------------------------------------------------------------

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        if is_document_client_id(client_id):
            try:
                document = await self.documents.get(client_id)
            except ClientDocumentRefused:
                return None  # /authorize shows the reason first (see _app); the token endpoint only says "invalid"
            return LenientClient.model_validate(document.model_dump())
        return self._registered(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        """Dynamic Client Registration, stored nowhere: the ``client_id`` becomes the signed registration.

        The SDK's handler answers with this very object, so the id and secret set here are what the client gets.
        """
        uris = [str(u) for u in client_info.redirect_uris or []]
        if len(uris) > MAX_REDIRECT_URIS or any(len(u) > MAX_URI for u in uris):
            raise RegistrationError(
                "invalid_redirect_uri",
                f"Register at most {MAX_REDIRECT_URIS} redirect URIs of at most {MAX_URI} characters each.",
            )
        for uri in uris:
            if not redirect_allowed(uri):
                raise RegistrationError(
                    "invalid_redirect_uri",
                    f"The redirect URI {uri} is not allowed: use https, http on a loopback address, "
                    "or the app's own scheme.",
                )
        record = {
            "r": uris,
            "m": client_info.token_endpoint_auth_method,
            "g": client_info.grant_types,
            "t": client_info.response_types,
            "n": (client_info.client_name or "")[:120] or None,
            "s": client_info.scope,
            "i": client_info.client_id_issued_at,
        }
        body = base64.urlsafe_b64encode(json.dumps(record, separators=(",", ":")).encode()).decode().rstrip("=")
        client_id = f"{CLIENT_PREFIX}{body}.{self._client_ids.tag(body)[:32]}"
        client_info.client_id = client_id
        if client_info.client_secret is not None:
            client_info.client_secret = self._client_secrets.tag(client_id)

    def _registered(self, client_id: str) -> LenientClient | None:
        """The client a ``kdcr_`` id describes, when this server (or a replica with the same secret) signed it."""
        if not client_id.startswith(CLIENT_PREFIX) or "." not in client_id:
            return None
        body, _, tag = client_id[len(CLIENT_PREFIX) :].rpartition(".")
        generation = self._client_ids.generation_of(body, tag, 32)
        if generation is None:
            return None
        try:
            raw = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            return None
        # Its secret comes from the same secret that signed the id: registered before a rotation, it still matches.
        secret = self._client_secrets.tag(client_id, generation) if raw.get("m") not in (None, "none") else None
        return LenientClient.model_validate(
            {
                "client_id": client_id,
                "client_secret": secret,
                "client_secret_expires_at": 0 if secret else None,
                "client_id_issued_at": raw.get("i"),
                "redirect_uris": raw.get("r"),
                "token_endpoint_auth_method": raw.get("m"),
                "grant_types": raw.get("g") or ["authorization_code", "refresh_token"],
                "response_types": raw.get("t") or ["code"],
                "client_name": raw.get("n"),
                "scope": raw.get("s"),
            }
        )

    # -- authorization -------------------------------------------------------------------

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        origin = request_origin.get()
        if not resource_matches(params.resource, origin):
            raise AuthorizeError(
                "invalid_target",
                f"This server is the resource {resource_of(origin)}; the request named {params.resource}.",
            )
        if params.state is not None and len(params.state) > MAX_STATE:
            raise AuthorizeError("invalid_request", f"state may be at most {MAX_STATE} characters.")
        record = {
            "client_id": client.client_id,
            "client_name": client.client_name,
            "redirect_uri": str(params.redirect_uri),
            "explicit": params.redirect_uri_provided_explicitly,
            "code_challenge": params.code_challenge,
            "state": params.state,
            "scopes": params.scopes or list(SCOPES),
            "resource": resource_of(origin),
            "expires": to_json(self.clock() + PENDING_TTL),
        }
        request_id = self.sealer.seal("pending", json.dumps(record, separators=(",", ":")))
        return f"{origin}/oauth/sign-in?request={request_id}"

    async def pending(self, request_id: str) -> dict[str, Any] | None:
        """The authorization request waiting for the person's sign-in (the page shows who asks), None when expired.

        It travels sealed in the page's URL and form, so nothing is stored before someone signs in.
        """
        opened = self.sealer.open("pending", request_id)
        if opened is None:
            return None
        record: dict[str, Any] = json.loads(opened)
        return record if from_json(record["expires"]) > self.clock() else None  # epoch seconds before ISO 8601

    async def complete(self, request_id: str, *, api_key: str, tenant: str, read_only: bool, issuer: str) -> str | None:
        """Seal the key into a new grant and issue a code; the client's redirect URL (carrying ``issuer`` as RFC
        9207's ``iss``), or None if the request expired."""
        pending = await self.pending(request_id)
        if pending is None:
            return None
        scopes = [READ] if read_only else [s for s in SCOPES if s in pending["scopes"]] or [READ]
        grant_id = secrets.token_urlsafe(18)
        grant = {
            "sealed": self.sealer.seal(grant_id, api_key),
            "tenant": tenant,
            "client_id": pending["client_id"],
            "scopes": scopes,
            "created": to_json(self.clock()),
        }
        await self._put(f"grant:{grant_id}", grant, REFRESH_TTL)
        code = CODE_PREFIX + secrets.token_urlsafe(32)
        _redact.remember(code)
        await self._put(
            f"code:{self._id(code)}",
            {
                "grant_id": grant_id,
                "client_id": pending["client_id"],
                "scopes": scopes,
                "code_challenge": pending["code_challenge"],
                "redirect_uri": pending["redirect_uri"],
                "explicit": pending["explicit"],
                "resource": pending["resource"],
                "expires_at": to_json(self.clock() + CODE_TTL),
                "subject": tenant,
            },
            CODE_TTL,
        )
        from mcp.server.auth.provider import construct_redirect_uri

        return construct_redirect_uri(pending["redirect_uri"], code=code, state=pending["state"], iss=issuer)

    async def load_authorization_code(self, client: OAuthClientInformationFull, authorization_code: str) -> Code | None:
        raw = await self._find("code", authorization_code)
        if raw is None:
            return None
        # Stored records use the models' own field names (but "explicit"); keys a model lacks are ignored.
        return Code.model_validate(
            {
                **raw,
                "code": authorization_code,
                "redirect_uri_provided_explicitly": raw["explicit"],
                "expires_at": from_json(raw["expires_at"]).timestamp(),  # the SDK compares it with time.time()
            }
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: Code
    ) -> OAuthToken:
        if await self._find("code", authorization_code.code, take=True) is None:
            raise TokenError("invalid_grant", "This authorization code was already used or has expired.")
        return await self._issue(
            authorization_code.grant_id, client.client_id, authorization_code.scopes, authorization_code.resource
        )

    # -- tokens ----------------------------------------------------------------------------

    async def _issue(self, grant_id: str, client_id: str, scopes: list[str], resource: str | None) -> OAuthToken:
        grant = await self._get(f"grant:{grant_id}")
        if grant is None:
            raise TokenError("invalid_grant", "This sign-in was revoked or has expired: sign in again.")
        if self.keys.previous:  # while rotating, seal again under the current secret so the old one can be dropped
            key = self.sealer.open(grant_id, grant["sealed"])
            if key is not None:
                grant = {**grant, "sealed": self.sealer.seal(grant_id, key)}
        await self._put(f"grant:{grant_id}", grant, REFRESH_TTL)  # a grant in use lives as long as its refresh token
        access = ACCESS_PREFIX + secrets.token_urlsafe(32)
        refresh = REFRESH_PREFIX + secrets.token_urlsafe(32)
        _redact.remember(access, refresh)
        common = {"grant_id": grant_id, "client_id": client_id, "scopes": scopes, "resource": resource}
        expires_at = to_json(self.clock() + ACCESS_TTL)
        await self._put(f"access:{self._id(access)}", {**common, "expires_at": expires_at}, ACCESS_TTL)
        await self._put(f"refresh:{self._id(refresh)}", common, REFRESH_TTL)
        return OAuthToken(
            access_token=access,
            token_type="Bearer",  # noqa: S106 - the scheme's name, not a secret
            expires_in=int(ACCESS_TTL.total_seconds()),
            scope=" ".join(scopes),
            refresh_token=refresh,
        )

    async def load_refresh_token(self, client: OAuthClientInformationFull, refresh_token: str) -> Refresh | None:
        if not refresh_token.startswith(REFRESH_PREFIX):
            return None
        raw = await self._find("refresh", refresh_token)
        if raw is None:
            spent = await self._find("spent", refresh_token)
            if spent is not None:  # a rotated-away token came back: someone else holds a copy
                await self._revoke_grant(spent["grant_id"])
            return None
        return Refresh.model_validate({**raw, "token": refresh_token})

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: Refresh, scopes: list[str]
    ) -> OAuthToken:
        if await self._find("refresh", refresh_token.token, take=True) is None:
            raise TokenError("invalid_grant", "This refresh token was already used: sign in again.")
        await self._put(f"spent:{self._id(refresh_token.token)}", {"grant_id": refresh_token.grant_id}, REFRESH_TTL)
        origin = request_origin.get()
        return await self._issue(
            refresh_token.grant_id, client.client_id, scopes, refresh_token.resource or resource_of(origin)
        )

    async def load_access_token(self, token: str) -> Access | None:
        if not token.startswith(ACCESS_PREFIX):
            return None
        raw = await self._find("access", token)
        if raw is None:
            return None
        expires = from_json(raw["expires_at"])  # an int of epoch seconds before ISO 8601
        if expires < self.clock():
            return None
        grant = await self._get(f"grant:{raw['grant_id']}")
        if grant is None:
            return None
        # The SDK's AccessToken wants whole epoch seconds (its bearer check compares them with int(time.time())).
        sdk = {"expires_at": int(expires.timestamp()), "token": token, "subject": grant["tenant"]}
        return Access.model_validate({**raw, **sdk})

    async def revoke_token(self, token: Access | Refresh) -> None:
        """Revoking either token ends the grant: every token of it stops working and the sealed key is deleted."""
        prefix = "access" if isinstance(token, AccessToken) else "refresh"
        await self._find(prefix, token.token, take=True)
        await self._revoke_grant(token.grant_id)

    async def _revoke_grant(self, grant_id: str) -> None:
        if await self._take(f"grant:{grant_id}") is not None:
            logger.info("OAuth grant revoked; its sealed Kupe key is deleted.")

    async def exchange_identity_assertion(self, client: OAuthClientInformationFull, params: Any) -> OAuthToken:
        raise TokenError("unsupported_grant_type", "This server does not accept identity assertions.")

    # -- the resource server's side ----------------------------------------------------------

    async def resolve(self, token: str, origin: str) -> tuple[str, list[str]] | None:
        """The Kupe key and rights behind a live access token issued for this server, or None."""
        access = await self.load_access_token(token)
        if access is None or not resource_matches(access.resource, origin):
            return None
        grant = await self._get(f"grant:{access.grant_id}")
        if grant is None:
            return None
        key = self.sealer.open(access.grant_id, grant["sealed"])
        if key is None:
            return None
        return key, list(access.scopes)
