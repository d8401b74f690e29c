"""Issue 17 end to end: the SDK's own OAuth client, a client metadata document, and a person signing in in Chromium.

The client presents an https ``client_id`` (CIMD) whose document a test https server serves; the server
fetches it (test-only trust of the test certificate and of loopback), redirects the person's browser
(Debian's headless Chromium, driven by Playwright) to the sign-in page, where they paste a sandbox key. The
code comes back on the client's loopback redirect (intercepted in the browser), the client exchanges it,
calls tools as that tenant, refreshes, and after revocation the next call gets 401.

Screenshots land under each test's temp dir; ``UPDATE_SCREENSHOTS=1`` also refreshes the one in docs/.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult
from playwright.async_api import Browser, Page, Route
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as WebRoute

from kupe_mcp.sandbox import DEMO_API_KEY
from kupe_mcp.serve.oauth import OAuthOptions
from tests._mcp import call
from tests.oauth._oauth import CALLBACK, MemoryTokens, Person, Served, list_tools_bearing, oauth_client, serve
from tests.oauth._tls import TlsServer, make_cert, trusting

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

DOCS = Path(__file__).resolve().parents[2] / "docs"
DEMO_USER = "4f79c29a-53f2-5e5a-8825-ed0c4d2a4c57"


@pytest.fixture
def document_url(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A client metadata document on https://127.0.0.1 (the client's identity), and the certificate to trust."""
    cert, key = make_cert(tmp_path)
    where: dict[str, str] = {}

    async def document(request: Request) -> Response:
        return JSONResponse(
            {
                "client_id": where["url"],
                "client_name": "Test Desktop App",
                "redirect_uris": [CALLBACK],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
            }
        )

    with TlsServer(Starlette(routes=[WebRoute("/oauth/client.json", document)]), cert, key) as srv:
        where["url"] = f"{srv.base_url}/oauth/client.json"
        yield where["url"], cert


@pytest.fixture
def served(document_url: tuple[str, Path]) -> Iterator[Served]:
    _, cert = document_url
    with serve(options=OAuthOptions(documents_allow_private=True, documents_verify=trusting(cert))) as s:
        yield s


class BrowserPerson(Person):
    """The person, in Chromium on a phone-sized screen: opens the URL, pastes the key, presses Sign in."""

    def __init__(self, browser: Browser, key: str, tmp_path: Path) -> None:
        super().__init__(key)
        self.browser = browser
        self.tmp_path = tmp_path
        self.page: Page | None = None
        self.landed: list[str] = []

    async def open(self, authorization_url: str) -> None:
        self.authorize_urls.append(authorization_url)
        page = await self.browser.new_page(viewport={"width": 390, "height": 844})
        self.page = page

        async def land(route: Route) -> None:  # the app's loopback redirect: read the code off it
            self.landed.append(route.request.url)
            await route.fulfill(status=200, content_type="text/plain", body="Signed in; you can close this page.")

        await page.route(f"{CALLBACK.rsplit('/', 1)[0]}/**", land)
        response = await page.goto(authorization_url)
        assert response is not None
        assert response.status == 200
        self.pages.append(await page.content())
        await page.screenshot(path=str(self.tmp_path / "oauth-sign-in.png"), full_page=True)
        await page.get_by_label("Kupe App API key").fill(self.key)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(f"{CALLBACK}?**")
        self.pages.append(await page.content())

    async def callback(self) -> AuthorizationCodeResult:
        query = parse_qs(urlsplit(self.landed[-1]).query)
        return AuthorizationCodeResult(code=query["code"][0], state=query["state"][0], iss=query["iss"][0])


async def test_sign_in_through_a_client_metadata_document_in_chromium_then_call_refresh_and_revoke(
    served: Served, document_url: tuple[str, Path], browser: Browser, tmp_path: Path
) -> None:
    client_id, _ = document_url
    person = BrowserPerson(browser, DEMO_API_KEY, tmp_path)
    storage = MemoryTokens()
    auth = oauth_client(served.mcp_url, person, storage=storage, client_metadata_url=client_id)
    async with (
        httpx2.AsyncClient(auth=auth, timeout=60) as http,
        Client(streamable_http_client(served.mcp_url, http_client=http)) as mcp,
    ):
        me = await call(mcp, "whoami")
        first = storage.tokens
        auth.context.token_expiry_time = 1.0  # expired: the next request refreshes
        again = await call(mcp, "whoami")
    assert person.page is not None
    assert "Test Desktop App" in person.pages[0]
    assert me["user_id"] == again["user_id"] == DEMO_USER
    assert storage.client is not None
    assert storage.client.client_id == client_id  # CIMD: no registration happened
    assert first is not None
    assert storage.tokens is not None
    assert storage.tokens.refresh_token != first.refresh_token
    assert len(person.authorize_urls) == 1
    if _update_docs():
        shutil.copy(tmp_path / "oauth-sign-in.png", DOCS / "oauth-sign-in.png")

    async with httpx2.AsyncClient() as plain:
        revoked = await plain.post(
            f"{served.base_url}/revoke", data={"token": storage.tokens.access_token, "client_id": client_id}
        )
        after = await list_tools_bearing(plain, served.mcp_url, storage.tokens.access_token)
    assert revoked.status_code == 200
    assert after.status_code == 401
    assert all(DEMO_API_KEY not in page for page in person.pages)


async def test_a_hub_key_pasted_in_chromium_is_refused_with_one_sentence_and_not_shown_again(
    served: Served, document_url: tuple[str, Path], browser: Browser, tmp_path: Path
) -> None:
    client_id, _ = document_url
    person = BrowserPerson(browser, DEMO_API_KEY, tmp_path)
    auth = oauth_client(served.mcp_url, person, client_metadata_url=client_id)
    # Only as far as the page: the flow's redirect handler is replaced by a look at the page with a Hub key.
    seen: list[str] = []

    async def open_only(url: str) -> None:
        page = await browser.new_page(viewport={"width": 390, "height": 844})
        await page.goto(url)
        await page.get_by_label("Kupe App API key").fill("sk-kupe-live-0123456789abcdef")
        await page.get_by_role("button", name="Sign in").click()
        seen.append(await page.get_by_role("alert").inner_text())
        seen.append(await page.get_by_label("Kupe App API key").input_value())
        raise RuntimeError("stop here")

    auth.context.redirect_handler = open_only
    with pytest.raises(RuntimeError, match="stop here"):
        async with httpx2.AsyncClient(auth=auth, timeout=60) as http:
            await http.post(served.mcp_url, json={})
    assert seen == [
        "That is a Kupe Hub key (sk-kupe-…), which this server cannot use: paste a Kupe App API key from the "
        "Kupe App dashboard (Settings → API keys) instead.",
        "",
    ]


def _update_docs() -> bool:
    import os

    return bool(os.environ.get("UPDATE_SCREENSHOTS"))
