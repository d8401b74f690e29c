"""Issue 16 §1 on a hosted server: passkey enrolment through the OAuth sign-in, in Chromium with a CDP virtual
authenticator (tests/browser/test_passkeys.py's) standing in for the person's fingerprint.

The person ticks the sign-in page's passkey offer, lands on the enrolment page with a one-time code for their own
account (in the URL fragment), creates exactly one passkey, and continues to the app's redirect with an
authorization code the app can redeem. The page follows nothing but the redirect minted with the code.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from playwright.async_api import Browser, Page, Route

from kupe_mcp.sandbox import DEMO_API_KEY, NO_CREDIT_API_KEY
from kupe_mcp.serve.transports import PASSKEY_OFFER_LABEL
from tests.browser._page import with_authenticator
from tests.oauth._oauth import CALLBACK, Served, serve
from tests.oauth.test_oauth_flow import DEMO_USER, authorization_url

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636 appendix B: authorization_url's challenge
CODE = re.compile(r"[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}")
EVIL = "https://evil.example/steal"


@pytest.fixture
def served() -> Iterator[Served]:
    """The multi-tenant server (passkey proof, the default) reached as localhost: WebAuthn needs a host name."""
    with serve() as s:
        yield Served(s.server, s.sandbox, s.base_url.replace("127.0.0.1", "localhost"))


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    page = await with_authenticator(browser)
    yield page
    await page.close()


class Landings:
    """Where the browser went outside the server: the app's loopback redirect and the attacker's site."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    async def install(self, page: Page) -> None:
        async def land(route: Route) -> None:
            self.urls.append(route.request.url)
            await route.fulfill(status=200, content_type="text/plain", body="Landed.")

        await page.route(f"{CALLBACK.rsplit('/', 1)[0]}/**", land)
        await page.route("https://evil.example/**", land)


async def sign_in_with_the_offer(page: Page, served: Served, key: str = DEMO_API_KEY) -> tuple[str, str]:
    """The person signs in with the passkey box ticked: (the one-time code the enrolment page filled in, the app's
    client id)."""
    url, registered = await authorization_url(served)
    await page.goto(url)
    await page.get_by_label("Kupe App API key").fill(key)
    await page.get_by_label(PASSKEY_OFFER_LABEL).check()
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{served.base_url}/approvals/passkeys/enrol")  # the fragment read, then dropped
    return await page.input_value("#code"), str(registered["client_id"])


async def create_passkey(page: Page, name: str) -> str:
    await page.fill("#name", name)
    await page.get_by_role("button", name="Create passkey").click()
    status = page.locator("#msg")
    await status.filter(has_text="enrolled").or_(status.filter(has_text="Refused")).wait_for()
    return await status.inner_text()


async def enrolled(served: Served, key: str) -> list[str]:
    """The names of the passkeys enrolled for the account of ``key``."""
    desk = served.server.runtime.approvals
    assert desk.passkeys is not None
    assert desk.check_key is not None
    tenant = await desk.check_key(key)
    assert tenant is not None
    return [p.name for p in await desk.passkeys.enrolled(tenant)]


async def redeem(served: Served, client_id: str, landed: str) -> httpx2.Response:
    """The app, at its redirect: exchange the authorization code it landed with (PKCE)."""
    form = {
        "grant_type": "authorization_code",
        "code": parse_qs(urlsplit(landed).query)["code"][0],
        "redirect_uri": CALLBACK,
        "client_id": client_id,
        "code_verifier": VERIFIER,
    }
    async with httpx2.AsyncClient() as http:
        return await http.post(f"{served.base_url}/token", data=form)


async def test_ticking_the_passkey_offer_enrols_one_passkey_for_that_tenant_then_continues_to_the_app_signed_in(
    served: Served, page: Page
) -> None:
    landings = Landings()
    await landings.install(page)
    code, client_id = await sign_in_with_the_offer(page, served)
    assert CODE.fullmatch(code), code
    assert await page.locator("#api_key").is_hidden()  # the code proves who they are: no key to type again

    said = await create_passkey(page, "phone")
    await page.get_by_role("link", name="Continue to 127.0.0.1").click()
    await page.wait_for_url(f"{CALLBACK}?**")
    tokens = await redeem(served, client_id, landings.urls[-1])

    assert said == "Passkey 'phone' enrolled: you can approve calls with it now."
    assert landings.urls == [page.url]
    assert parse_qs(urlsplit(page.url).query)["state"] == ["s1"]
    assert tokens.status_code == 200
    assert tokens.json()["access_token"].startswith("kmcp_at_")
    assert await enrolled(served, DEMO_API_KEY) == ["phone"]
    assert await enrolled(served, NO_CREDIT_API_KEY) == []


async def test_an_attacker_continue_on_the_enrolment_url_is_not_followed(served: Served, page: Page) -> None:
    landings = Landings()
    await landings.install(page)
    code, _ = await sign_in_with_the_offer(page, served)
    # The same code, on a link whose query and fragment both name another site to continue to.
    await page.goto(f"{served.base_url}/approvals/passkeys/enrol?continue={EVIL}#code={code}&continue={EVIL}")
    said = await create_passkey(page, "phone")
    onward = page.locator("#next a")
    href = await onward.get_attribute("href")
    await onward.click()
    await page.wait_for_url(f"{CALLBACK}?**")

    assert said == "Passkey 'phone' enrolled: you can approve calls with it now."
    assert await onward.count() == 0  # the page left for the app
    assert href is not None
    assert href.startswith(f"{CALLBACK}?code=kmcp_ac_")
    assert landings.urls == [href]


async def test_a_code_minted_without_a_redirect_offers_no_continue_link_whatever_the_url_says(
    served: Served, page: Page
) -> None:
    passkeys = served.server.runtime.approvals.passkeys
    assert passkeys is not None
    code = await passkeys.enrolment_code(f"user:{DEMO_USER}")  # as `kupe-app-mcp passkey add` mints one
    await page.goto(f"{served.base_url}/approvals/passkeys/enrol?continue={EVIL}#code={code}&continue={EVIL}")
    said = await create_passkey(page, "desk")
    assert said == "Passkey 'desk' enrolled: you can approve calls with it now."
    assert await page.locator("#next").inner_html() == ""
    assert await enrolled(served, DEMO_API_KEY) == ["desk"]


async def test_the_sign_in_code_is_single_use(served: Served, page: Page) -> None:
    code, _ = await sign_in_with_the_offer(page, served)
    first = await create_passkey(page, "phone")
    await page.goto("about:blank")  # a fresh load of the link, not a same-document fragment change
    await page.goto(f"{served.base_url}/approvals/passkeys/enrol#code={code}")
    assert await page.input_value("#code") == code
    second = await create_passkey(page, "again")
    assert first == "Passkey 'phone' enrolled: you can approve calls with it now."
    assert second == "Refused: that API key or one-time code is not valid for a Kupe account."
    assert await enrolled(served, DEMO_API_KEY) == ["phone"]


async def test_a_code_from_tenant_a_sign_in_never_enrols_for_tenant_b(served: Served, page: Page) -> None:
    await sign_in_with_the_offer(page, served, NO_CREDIT_API_KEY)  # tenant A's sign-in
    # Tenant B's key typed beside A's code (the field is hidden, not gone): the code decides whose passkey it is.
    await page.evaluate(f"document.getElementById('api_key').value = {DEMO_API_KEY!r}")
    said = await create_passkey(page, "phone")
    assert said == "Passkey 'phone' enrolled: you can approve calls with it now."
    assert await enrolled(served, NO_CREDIT_API_KEY) == ["phone"]
    assert await enrolled(served, DEMO_API_KEY) == []
