"""Issue 17: the HTTP server as its own OAuth 2.1 authorization server, end to end over loopback sockets.

The SDK's own OAuth client (``OAuthClientProvider``) connects to the multi-tenant server: it discovers the
metadata from the 401, registers by DCR, the person signs in on the page (driven over HTTP here; in Chromium
in tests/browser), and the client calls tools as that person's Kupe account. The sandbox stands in for Kupe.
"""

from __future__ import annotations

import html
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

from kupe_mcp.safety.state._memory import MemoryStore
from kupe_mcp.safety.state._sqlite import SqliteStore
from kupe_mcp.sandbox import DEMO_API_KEY, DEMO_BEARER_TOKEN, NO_CREDIT_API_KEY
from kupe_mcp.sandbox._seed import DEMO_AGENT_ID
from tests._mcp import call, fail
from tests.oauth._oauth import CALLBACK, MemoryTokens, Person, Served, oauth_client, serve, sign_in

pytestmark = pytest.mark.anyio

DEMO_USER = "4f79c29a-53f2-5e5a-8825-ed0c4d2a4c57"


@pytest.fixture
def served() -> Iterator[Served]:
    with serve() as s:
        yield s


@asynccontextmanager
async def connected(
    served: Served, person: Person, storage: MemoryTokens | None = None, mode: str = "auto"
) -> AsyncIterator[Client]:
    auth = oauth_client(served.mcp_url, person, storage=storage)
    async with (
        httpx2.AsyncClient(auth=auth, timeout=30) as http,
        Client(streamable_http_client(served.mcp_url, http_client=http), mode=mode) as mcp,
    ):
        yield mcp


async def signed_in(served: Served) -> tuple[OAuthToken, OAuthClientInformationFull]:
    """A person signs in with the demo key through the SDK's OAuth client, which calls once: what the client keeps
    (its tokens, and its registration)."""
    storage = MemoryTokens()
    async with connected(served, Person(DEMO_API_KEY), storage) as mcp:
        await call(mcp, "whoami")
    assert storage.tokens is not None
    assert storage.client is not None
    return storage.tokens, storage.client


async def raw_mcp(served: Served, headers: dict[str, str]) -> httpx2.Response:
    """One MCP initialize POST with the given headers, no OAuth client in between."""
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    async with httpx2.AsyncClient(timeout=15) as http:
        return await http.post(
            served.mcp_url,
            json=body,
            headers={"accept": "application/json, text/event-stream", **headers},
        )


async def test_an_unauthenticated_request_gets_401_naming_the_resource_metadata(served: Served) -> None:
    response = await raw_mcp(served, {})
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    metadata_url = f"{served.base_url}/.well-known/oauth-protected-resource/mcp"
    assert challenge.startswith("Bearer ")
    assert f'resource_metadata="{metadata_url}"' in challenge
    async with httpx2.AsyncClient() as http:
        suffixed = (await http.get(metadata_url)).json()
        root = (await http.get(f"{served.base_url}/.well-known/oauth-protected-resource")).json()
    assert suffixed["resource"] == f"{served.base_url}/mcp"
    assert suffixed["authorization_servers"] == [served.base_url]
    assert suffixed["scopes_supported"] == ["kupe:read", "kupe:write"]
    assert root == suffixed


async def test_authorization_server_metadata_offers_code_with_pkce_s256_cimd_dcr_and_revocation(
    served: Served,
) -> None:
    async with httpx2.AsyncClient() as http:
        # From a browser-based client (the Inspector's page): CORS lets it read the answer.
        response = await http.get(
            f"{served.base_url}/.well-known/oauth-authorization-server", headers={"origin": "http://localhost:6274"}
        )
    meta = response.json()
    base = served.base_url
    assert response.headers["access-control-allow-origin"] == "*"
    assert meta["issuer"] == base
    assert (meta["authorization_endpoint"], meta["token_endpoint"]) == (f"{base}/authorize", f"{base}/token")
    assert (meta["registration_endpoint"], meta["revocation_endpoint"]) == (f"{base}/register", f"{base}/revoke")
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["response_types_supported"] == ["code"]
    assert meta["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert meta["client_id_metadata_document_supported"] is True
    assert meta["authorization_response_iss_parameter_supported"] is True


async def test_a_client_registered_by_dcr_signs_in_and_calls_tools_as_that_tenant(
    served: Served, client_mode: str
) -> None:
    person = Person(DEMO_API_KEY)
    storage = MemoryTokens()
    async with connected(served, person, storage, client_mode) as mcp:
        me = await call(mcp, "whoami")
    assert me["user_id"] == DEMO_USER
    assert storage.client is not None
    assert storage.client.client_secret  # registered by DCR, a confidential client
    assert storage.tokens is not None
    assert storage.tokens.access_token.startswith("kmcp_at_")
    assert storage.tokens.refresh_token is not None
    assert storage.tokens.scope == "kupe:read kupe:write"
    assert parse_qs(urlsplit(person.authorize_urls[0]).query)["resource"] == [served.mcp_url]


async def test_a_refresh_rotates_both_tokens_and_calls_go_on(served: Served) -> None:
    person = Person(DEMO_API_KEY)
    storage = MemoryTokens()
    auth = oauth_client(served.mcp_url, person, storage=storage)
    async with (
        httpx2.AsyncClient(auth=auth, timeout=30) as http,
        Client(streamable_http_client(served.mcp_url, http_client=http)) as mcp,
    ):
        await call(mcp, "whoami")
        first = storage.tokens
        assert first is not None
        auth.context.token_expiry_time = 1.0  # the access token has run out: the next request refreshes
        me = await call(mcp, "whoami")
    second = storage.tokens
    assert second is not None
    assert me["user_id"] == DEMO_USER
    assert len(person.authorize_urls) == 1  # refreshed, not signed in again
    assert second.access_token != first.access_token
    assert second.refresh_token != first.refresh_token
    stale = await raw_mcp(served, {"authorization": f"Bearer {first.access_token}"})
    fresh = await raw_mcp(served, {"authorization": f"Bearer {second.access_token}"})
    assert fresh.status_code == 200
    assert stale.status_code == 200  # rotation replaces the refresh token; the old access token lives out its hour


async def test_a_spent_refresh_token_presented_again_ends_the_whole_grant(served: Served) -> None:
    tokens, client = await signed_in(served)
    spent = tokens.refresh_token
    assert spent is not None
    form = {"grant_type": "refresh_token", "client_id": client.client_id}
    form["client_secret"] = client.client_secret or ""
    async with httpx2.AsyncClient() as http:
        rotated = await http.post(f"{served.base_url}/token", data={**form, "refresh_token": spent})
        replayed = await http.post(f"{served.base_url}/token", data={**form, "refresh_token": spent})
    new = rotated.json()
    assert rotated.status_code == 200
    assert replayed.status_code == 400
    assert replayed.json()["error"] == "invalid_grant"
    after = await raw_mcp(served, {"authorization": f"Bearer {new['access_token']}"})
    assert after.status_code == 401


async def test_revoking_the_token_ends_the_grant_deletes_the_sealed_key_and_the_next_call_gets_401(
    served: Served,
) -> None:
    tokens, client = await signed_in(served)
    store = served.server.runtime.state
    assert isinstance(store, MemoryStore)
    grants_before = [k for (_, k) in store._values if k.startswith("grant:")]
    async with httpx2.AsyncClient() as http:
        revoked = await http.post(
            f"{served.base_url}/revoke",
            data={
                "token": tokens.refresh_token or "",
                "client_id": client.client_id,
                "client_secret": client.client_secret or "",
            },
        )
    after = await raw_mcp(served, {"authorization": f"Bearer {tokens.access_token}"})
    assert revoked.status_code == 200
    assert len(grants_before) == 1
    assert [k for (_, k) in store._values if k.startswith("grant:")] == []
    assert after.status_code == 401
    assert 'error="invalid_token"' in after.headers["www-authenticate"]
    assert "resource_metadata=" in after.headers["www-authenticate"]


async def test_a_read_only_grant_refuses_place_call_with_a_sentence_naming_the_missing_right(
    served: Served, client_mode: str
) -> None:
    person = Person(DEMO_API_KEY, read_only=True)
    storage = MemoryTokens()
    async with connected(served, person, storage, client_mode) as mcp:
        me = await call(mcp, "whoami")
        refused = await fail(mcp, "place_call", phone_number="+919876543210", agent_id=DEMO_AGENT_ID)
    assert me["user_id"] == DEMO_USER
    assert storage.tokens is not None
    assert storage.tokens.scope == "kupe:read"
    assert refused == (
        "This sign-in is read-only: place_call needs the write right (kupe:write); reconnect and sign in again "
        "without ticking read-only to use it."
    )
    assert list(served.sandbox.sandbox.request_log).count(("POST", "/api/call/create_call")) == 0


async def test_a_client_cannot_grant_itself_a_right_by_sending_the_grant_header(served: Served) -> None:
    person = Person(DEMO_API_KEY, read_only=True)
    auth = oauth_client(served.mcp_url, person)
    async with (
        httpx2.AsyncClient(auth=auth, timeout=30, headers={"x-kupe-grant-scope": "kupe:read kupe:write"}) as http,
        Client(streamable_http_client(served.mcp_url, http_client=http)) as mcp,
    ):
        refused = await fail(mcp, "place_call", phone_number="+919876543210", agent_id=DEMO_AGENT_ID)
    assert refused.startswith("This sign-in is read-only: place_call needs the write right")


async def test_two_tenants_signed_in_through_oauth_stay_apart(served: Served) -> None:
    async with connected(served, Person(DEMO_API_KEY)) as a, connected(served, Person(NO_CREDIT_API_KEY)) as b:
        me_a = await call(a, "whoami")
        me_b = await call(b, "whoami")
        again_a = await call(a, "whoami")
    assert me_a["user_id"] == DEMO_USER
    assert me_b["user_id"] not in {DEMO_USER, None}
    assert again_a["user_id"] == DEMO_USER


async def test_static_keys_keep_working_with_oauth_on(served: Served) -> None:
    for headers in ({"x-api-key": DEMO_API_KEY}, {"authorization": f"Bearer {DEMO_API_KEY}"}):
        async with (
            httpx2.AsyncClient(timeout=30, headers=headers) as http,
            Client(streamable_http_client(served.mcp_url, http_client=http)) as mcp,
        ):
            me = await call(mcp, "whoami")
        assert me["user_id"] == DEMO_USER


async def test_with_kupe_oauth_off_there_is_no_sign_in_and_the_401_names_no_metadata() -> None:
    with serve(settings={"oauth": False}) as served:
        response = await raw_mcp(served, {})
        async with httpx2.AsyncClient() as http:
            metadata = await http.get(f"{served.base_url}/.well-known/oauth-authorization-server")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="kupe-app-mcp"'
    assert metadata.status_code == 401  # behind the key gate like everything else: there is no OAuth here


async def authorization_url(served: Served, **extra: str) -> tuple[str, dict[str, Any]]:
    """A DCR client's /authorize URL (PKCE S256), without the SDK client: for the refusal tests."""
    async with httpx2.AsyncClient() as http:
        registered = (
            await http.post(
                f"{served.base_url}/register",
                json={"redirect_uris": [CALLBACK], "client_name": "t", "token_endpoint_auth_method": "none"},
            )
        ).json()
    query = {
        "response_type": "code",
        "client_id": registered["client_id"],
        "redirect_uri": CALLBACK,
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
        "state": "s1",
        **extra,
    }
    return f"{served.base_url}/authorize?{urlencode(query)}", registered


async def post_sign_in(
    served: Served, form: dict[str, str], *, origin: str | None = None, cookie: bool = True
) -> tuple[str, httpx2.Response]:
    """Open the sign-in page, then post ``form`` with the page's hidden fields (from ``origin``; without the page's
    cookie when told): (the page's HTML, the answer)."""
    url, _ = await authorization_url(served)
    async with httpx2.AsyncClient() as http:
        page = await http.get((await http.get(url)).headers["location"])
        fields = dict(re.findall(r'<input type=hidden name=(\w+) value="([^"]*)"', page.text))
        if not cookie:
            http.cookies.clear()
        answer = await http.post(
            f"{served.base_url}/oauth/sign-in", data={**fields, **form}, headers={"origin": origin or served.base_url}
        )
    return page.text, answer


async def submit(served: Served, key: str, *, origin: str | None = None, cookie: bool = True) -> httpx2.Response:
    """Open the sign-in page, then post ``key`` (from ``origin``; without the page's cookie when told)."""
    _, answer = await post_sign_in(served, {"api_key": key, "action": "allow"}, origin=origin, cookie=cookie)
    return answer


@pytest.mark.parametrize(
    ("key", "sentence"),
    [
        (
            "sk-kupe-0123456789abcdef",
            "That is a Kupe Hub key (sk-kupe-…), which this server cannot use: paste a Kupe App API key from the "
            "Kupe App dashboard (Settings → API keys) instead.",
        ),
        (
            DEMO_BEARER_TOKEN,
            "That is a Kupe session token, which expires within hours: paste a Kupe App API key from the Kupe App "
            "dashboard (Settings → API keys) instead.",
        ),
        (
            "kupe_sbx_not_a_real_key_0000000",
            "Kupe did not accept this API key: check that it was copied whole and has not been revoked.",
        ),
    ],
)
async def test_the_page_refuses_what_is_not_a_working_kupe_app_key_with_one_sentence(
    served: Served, key: str, sentence: str
) -> None:
    response = await submit(served, key)
    assert response.status_code == 400
    assert f"<p class=error role=alert id=problem>{html.escape(sentence)}</p>" in response.text
    assert key not in response.text


async def test_a_sign_in_post_without_the_page_cookie_or_from_another_origin_is_refused(served: Served) -> None:
    foreign = await submit(served, DEMO_API_KEY, origin="https://evil.example")
    cookieless = await submit(served, DEMO_API_KEY, cookie=False)
    assert foreign.status_code == 403
    assert "This form must be sent from this server&#x27;s own sign-in page." in foreign.text
    assert cookieless.status_code == 403
    assert "This form has expired" in cookieless.text


async def test_the_sign_in_page_refuses_framing_and_scripts(served: Served) -> None:
    url, _ = await authorization_url(served)
    async with httpx2.AsyncClient() as http:
        page = await http.get((await http.get(url)).headers["location"])
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "<script" not in page.text
    assert 'name=viewport content="width=device-width,initial-scale=1"' in page.text


async def test_a_resource_naming_another_server_is_refused_at_authorize_and_at_token(served: Served) -> None:
    url, registered = await authorization_url(served, resource="https://other.example/mcp")
    async with httpx2.AsyncClient() as http:
        at_authorize = await http.get(url)
        at_token = await http.post(
            f"{served.base_url}/token",
            data={
                "grant_type": "authorization_code",
                "code": "kmcp_ac_x",
                "redirect_uri": CALLBACK,
                "client_id": registered["client_id"],
                "code_verifier": "v" * 43,
                "resource": "https://other.example/mcp",
            },
        )
    refusal = parse_qs(urlsplit(at_authorize.headers["location"]).query)
    assert at_authorize.status_code == 302
    assert refusal["error"] == ["invalid_target"]
    assert refusal["iss"] == [served.base_url]  # RFC 9207 on the SDK handler's own answers too
    assert at_token.status_code == 400
    assert at_token.json()["error"] == "invalid_target"


async def test_a_code_is_redeemed_once_and_only_with_its_pkce_verifier(served: Served) -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636 appendix B: its challenge is E9Mel…
    url, registered = await authorization_url(served, resource=served.mcp_url)
    result = await sign_in(url, DEMO_API_KEY)
    form = {
        "grant_type": "authorization_code",
        "code": result.code,
        "redirect_uri": CALLBACK,
        "client_id": registered["client_id"],
        "resource": served.mcp_url,
    }
    async with httpx2.AsyncClient() as http:
        wrong = await http.post(f"{served.base_url}/token", data={**form, "code_verifier": "x" * 43})
        right = await http.post(f"{served.base_url}/token", data={**form, "code_verifier": verifier})
        again = await http.post(f"{served.base_url}/token", data={**form, "code_verifier": verifier})
    assert wrong.json()["error"] == "invalid_grant"
    assert right.status_code == 200
    assert right.json()["token_type"] == "Bearer"
    assert right.headers["content-type"] == "application/json"
    assert right.headers["cache-control"] == "no-store"
    assert again.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_the_kupe_key_appears_in_no_response_token_log_line_or_store_dump_only_its_ciphertext(
    kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = MemoryStore() if kind == "memory" else SqliteStore(tmp_path / "state.sqlite3")
    caplog.set_level(logging.DEBUG)
    person = Person(DEMO_API_KEY)
    storage = MemoryTokens()
    with serve(store=store) as served:
        async with connected(served, person, storage) as mcp:
            results = [await call(mcp, "whoami"), await call(mcp, "get_credit_balance")]
            failed = await fail(mcp, "get_call_transcript", request_id="no-such-call")
        if kind == "memory":
            assert isinstance(store, MemoryStore)
            dump = repr(store._values)
        else:
            with sqlite3.connect(tmp_path / "state.sqlite3") as db:
                dump = repr(db.execute("SELECT tenant, key, value FROM kv").fetchall())
    seen = [*person.pages, repr(storage.tokens), repr(storage.client), repr(results), failed, dump]
    seen += [record.getMessage() for record in caplog.records]
    assert all(DEMO_API_KEY not in text for text in seen)
    assert '"sealed"' in dump or "'sealed'" in dump
    assert len(caplog.records) > 10  # the log was captured, at DEBUG


async def test_the_oauth_endpoints_refuse_a_host_name_the_server_does_not_answer_to(served: Served) -> None:
    async with httpx2.AsyncClient() as http:
        rebound = await http.get(
            f"{served.base_url}/.well-known/oauth-authorization-server", headers={"host": "evil.example"}
        )
        named = await http.get(f"{served.base_url}/.well-known/oauth-authorization-server")
    assert rebound.status_code == 421
    assert named.status_code == 200


async def test_the_passkey_hook_is_offered_on_the_page_and_leads_on_to_the_app() -> None:
    from kupe_mcp.serve.oauth import OAuthOptions, PasskeyOffer

    started: list[tuple[str, str]] = []

    async def start(tenant: str, continue_url: str) -> str:
        started.append((tenant, continue_url))
        return "https://passkeys.example/enrol?next=1"

    offer = PasskeyOffer(label="Also set up a passkey to approve calls", start=start)
    with serve(options=OAuthOptions(passkey=offer)) as served:
        url, _ = await authorization_url(served)
        async with httpx2.AsyncClient() as http:
            page_url = (await http.get(url)).headers["location"]
            page = await http.get(page_url)
            fields = dict(re.findall(r'<input type=hidden name=(\w+) value="([^"]*)"', page.text))
            answer = await http.post(
                f"{served.base_url}/oauth/sign-in",
                data={**fields, "api_key": DEMO_API_KEY, "action": "allow", "passkey": "1"},
                headers={"origin": served.base_url},
            )
    assert "<input type=checkbox name=passkey value=1> <span>Also set up a passkey to approve calls</span>" in page.text
    assert answer.status_code == 303
    assert answer.headers["location"] == "https://passkeys.example/enrol?next=1"
    assert started[0][0] == f"user:{DEMO_USER}"
    assert started[0][1].startswith(f"{CALLBACK}?code=kmcp_ac_")


async def test_with_client_proof_the_page_offers_no_passkey() -> None:
    with serve(settings={"approval_proof": "client"}) as served:
        url, _ = await authorization_url(served)
        async with httpx2.AsyncClient() as http:
            page = await http.get((await http.get(url)).headers["location"])
    assert "name=read_only" in page.text
    assert "passkey" not in page.text


@pytest.fixture
def here(served: Served) -> Served:
    """The same server reached as localhost: WebAuthn needs a host name, not an IP address."""
    return Served(served.server, served.sandbox, served.base_url.replace("127.0.0.1", "localhost"))


async def sign_in_ticking_passkey(served: Served, key: str = DEMO_API_KEY) -> tuple[str, str]:
    """Sign in with the passkey box ticked: (where the browser is sent, the sign-in page's HTML)."""
    page, answer = await post_sign_in(served, {"api_key": key, "action": "allow", "passkey": "1"})
    assert answer.status_code == 303
    return answer.headers["location"], page


async def enrol_options(served: Served, body: dict[str, str]) -> httpx2.Response:
    async with httpx2.AsyncClient() as http:
        return await http.post(
            f"{served.base_url}/approvals/passkeys/enrol/options", json=body, headers={"origin": served.base_url}
        )


ENROL_LINK = re.compile(r"(http://localhost:\d+)/approvals/passkeys/enrol#code=([0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6})")


def enrolment_link(location: str) -> re.Match[str]:
    """Where sign-in sent the browser, which must be the enrolment page: (its origin, the one-time code)."""
    found = ENROL_LINK.fullmatch(location)
    assert found is not None, location
    return found


async def test_a_passkey_proof_server_offers_enrolment_on_the_sign_in_page_and_sends_the_code_in_the_fragment(
    here: Served,
) -> None:
    location, page = await sign_in_ticking_passkey(here)
    found = enrolment_link(location)
    assert (
        "<input type=checkbox name=passkey value=1> "
        "<span>Also set up a passkey to approve phone calls (recommended)</span>" in page
    )
    assert found.group(1) == here.base_url
    assert "kmcp_ac_" not in location  # the app's code is not on the enrolment URL: it is sealed with the code


async def test_the_sign_in_enrolment_code_is_single_use_sealed_at_rest_and_continues_only_to_the_apps_redirect(
    here: Served,
) -> None:
    location, _ = await sign_in_ticking_passkey(here)
    code = enrolment_link(location).group(2)
    store = here.server.runtime.state
    assert isinstance(store, MemoryStore)
    dump = repr(store._values)
    first = await enrol_options(here, {"code": code, "name": "phone"})
    again = await enrol_options(here, {"code": code, "name": "phone"})
    onward = first.json()["continue"]
    assert code not in dump
    assert "kmcp_ac_" not in dump
    assert first.status_code == 200
    assert first.json()["user"]["name"] == f"Kupe user:{DEMO_USER}"
    assert onward["app"] == "127.0.0.1"
    assert onward["url"].startswith(f"{CALLBACK}?code=kmcp_ac_")
    assert parse_qs(urlsplit(onward["url"]).query)["state"] == ["s1"]
    assert again.status_code == 403
    assert again.json()["error"] == "Refused: that API key or one-time code is not valid for a Kupe account."


async def test_a_sign_in_code_enrols_for_its_own_tenant_even_beside_another_tenants_key(here: Served) -> None:
    location, _ = await sign_in_ticking_passkey(here, NO_CREDIT_API_KEY)
    found = enrolment_link(location)
    check_key = here.server.runtime.approvals.check_key
    assert check_key is not None
    other = await check_key(NO_CREDIT_API_KEY)
    answer = await enrol_options(here, {"code": found.group(2), "api_key": DEMO_API_KEY})
    assert other not in {None, f"user:{DEMO_USER}"}  # the precondition: two accounts
    assert answer.status_code == 200
    assert answer.json()["user"]["name"] == f"Kupe {other}"


async def test_registering_and_asking_to_authorize_store_nothing_until_someone_signs_in(served: Served) -> None:
    store = served.server.runtime.state
    assert isinstance(store, MemoryStore)
    async with httpx2.AsyncClient() as http:
        for _ in range(20):  # a flood of registrations and authorization requests
            url, _ = await authorization_url(served)
            assert (await http.get(url)).status_code == 302
    assert store._values == {}
    await sign_in((await authorization_url(served))[0], DEMO_API_KEY)
    assert sorted(k.split(":")[0] for (_, k) in store._values) == ["code", "grant"]


async def test_a_registered_client_id_that_was_tampered_with_is_unknown(served: Served) -> None:
    url, registered = await authorization_url(served)
    client_id = registered["client_id"]
    body, _, tag = client_id.rpartition(".")
    forged = url.replace(client_id, f"{body}.{'0' * len(tag)}")
    async with httpx2.AsyncClient() as http:
        genuine = await http.get(url)
        refused = await http.get(forged)
    assert client_id.startswith("kdcr_")
    assert genuine.status_code == 302
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_request"


async def test_the_code_sent_back_to_the_app_names_this_server_as_its_issuer(served: Served) -> None:
    answer = await submit(served, DEMO_API_KEY)
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert answer.status_code == 303
    assert query["iss"] == [served.base_url]  # RFC 9207, as the metadata promises
    assert query["code"][0].startswith("kmcp_ac_")
    assert query["state"] == ["s1"]


async def test_cancel_on_the_page_sends_the_app_access_denied_and_issues_nothing(served: Served) -> None:
    _, answer = await post_sign_in(served, {"api_key": "", "action": "deny"})
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"{CALLBACK}?")
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["s1"]
    assert query["iss"] == [served.base_url]
    assert "code" not in query
    store = served.server.runtime.state
    assert isinstance(store, MemoryStore)
    assert store._values == {}
