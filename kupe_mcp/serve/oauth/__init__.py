"""kupe-app-mcp's HTTP server as its own OAuth 2.1 authorization server (multi-tenant mode, ``KUPE_OAUTH``).

The person signs in once on the server's page with their Kupe App API key; the key is sealed into a grant in
the state store and the client only ever holds short-lived opaque tokens. ``_app`` has the routes and the MCP
endpoint's token check, ``_grants`` the SDK provider over the state store, ``_cimd`` the guarded fetch of
client metadata documents, ``_seal`` the key's encryption, ``_page`` the sign-in page, ``_scope`` the read-only
right as tools see it. The heavy parts load only when an HTTP server turns OAuth on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kupe_mcp.serve.oauth._scope import GRANT_SCOPE_HEADER, READ, WRITE, missing_right

if TYPE_CHECKING:
    from kupe_mcp.serve.oauth._app import OAuthOptions, OAuthServer, PasskeyOffer

__all__ = ["GRANT_SCOPE_HEADER", "READ", "WRITE", "OAuthOptions", "OAuthServer", "PasskeyOffer", "missing_right"]


def __getattr__(name: str) -> Any:
    if name in {"OAuthOptions", "OAuthServer", "PasskeyOffer"}:
        from kupe_mcp.serve.oauth import _app

        return getattr(_app, name)
    raise AttributeError(name)
