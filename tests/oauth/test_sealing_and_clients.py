"""Units of the OAuth server: the sealed key, and how registered clients are read (leniently where OAuth allows)."""

from __future__ import annotations

import base64

import httpx2
import pytest
from mcp.shared.auth import InvalidRedirectUriError
from pydantic import AnyUrl

from kupe_mcp.serve.oauth._grants import LenientClient, redirect_allowed
from kupe_mcp.serve.oauth._seal import Sealer
from tests.oauth._oauth import serve

KEY = "kupe_sbx_demo_0000000000000000"


def test_a_sealed_key_opens_only_on_its_own_grant_under_the_same_secret() -> None:
    sealer = Sealer([b"a" * 32])
    sealed = sealer.seal("grant-1", KEY)
    assert KEY not in sealed
    assert KEY.encode() not in base64.urlsafe_b64decode(sealed)
    assert sealer.open("grant-1", sealed) == KEY
    assert Sealer([b"a" * 32]).open("grant-1", sealed) == KEY  # another replica, same KUPE_STATE_SECRET
    assert sealer.open("grant-2", sealed) is None  # copied onto another grant's record
    assert Sealer([b"b" * 32]).open("grant-1", sealed) is None  # another secret
    raw = bytearray(base64.urlsafe_b64decode(sealed))
    raw[-1] ^= 1
    assert sealer.open("grant-1", base64.urlsafe_b64encode(bytes(raw)).decode()) is None  # tampered
    assert sealer.seal("grant-1", KEY) != sealed  # a fresh nonce each time


def test_while_a_secret_is_rotated_out_keys_sealed_under_it_still_open_and_new_ones_use_the_new_secret() -> None:
    before = Sealer([b"a" * 32]).seal("grant-1", KEY)
    rotating = Sealer([b"b" * 32, b"a" * 32])  # KUPE_STATE_SECRET=b..., KUPE_STATE_SECRET_PREVIOUS=a...
    after = rotating.seal("grant-1", KEY)
    assert rotating.open("grant-1", before) == KEY
    assert Sealer([b"b" * 32]).open("grant-1", after) == KEY  # once the old secret is dropped
    assert Sealer([b"b" * 32]).open("grant-1", before) is None


def client(*uris: str, scope: str | None = None) -> LenientClient:
    return LenientClient(client_id="c", redirect_uris=[AnyUrl(u) for u in uris], scope=scope)


def test_unknown_scopes_are_dropped_and_no_scope_means_both_rights() -> None:
    c = client("http://127.0.0.1:1/cb")
    assert c.validate_scope(None) == ["kupe:read", "kupe:write"]
    assert c.validate_scope("openid kupe:read offline_access") == ["kupe:read"]
    assert c.validate_scope("openid") == ["kupe:read", "kupe:write"]


def test_a_loopback_redirect_may_use_any_port_but_not_another_path_or_host() -> None:
    c = client("http://127.0.0.1:33418/callback", "https://app.example/cb")
    assert str(c.validate_redirect_uri(AnyUrl("http://127.0.0.1:50123/callback"))) == "http://127.0.0.1:50123/callback"
    assert str(c.validate_redirect_uri(AnyUrl("https://app.example/cb"))) == "https://app.example/cb"
    for wrong in ("http://127.0.0.1:50123/other", "http://localhost:33418/callback", "https://app.example:444/cb"):
        with pytest.raises(InvalidRedirectUriError):
            c.validate_redirect_uri(AnyUrl(wrong))


@pytest.mark.parametrize(
    ("uri", "allowed"),
    [
        ("https://app.example/cb", True),
        ("http://127.0.0.1:9/cb", True),
        ("http://[::1]:9/cb", True),
        ("http://localhost/cb", True),
        ("vscode://vscode.github-authentication/did-authenticate", True),
        ("http://app.example/cb", False),
        ("javascript:alert(1)", False),
        ("data:text/html,hi", False),
    ],
)
def test_redirect_uris_must_be_https_loopback_http_or_an_apps_own_scheme(uri: str, allowed: bool) -> None:
    assert redirect_allowed(uri) is allowed


@pytest.mark.anyio
async def test_registration_refuses_a_plain_http_redirect_and_an_oversized_body() -> None:
    with serve() as served:
        async with httpx2.AsyncClient() as http:
            plain = await http.post(f"{served.base_url}/register", json={"redirect_uris": ["http://app.example/cb"]})
            huge = await http.post(
                f"{served.base_url}/register",
                json={"redirect_uris": ["https://app.example/cb"], "client_name": "x" * 100_000},
            )
    assert plain.status_code == 400
    assert plain.json() == {
        "error": "invalid_redirect_uri",
        "error_description": "The redirect URI http://app.example/cb is not allowed: use https, http on a loopback "
        "address, or the app's own scheme.",
    }
    assert huge.status_code == 413
