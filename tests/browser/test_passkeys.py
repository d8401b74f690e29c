"""KUPE_APPROVAL_PROOF=passkey in a real browser: Debian's headless Chromium, driven by Playwright, with a CDP
virtual authenticator (CTAP2, internal transport, user verification) standing in for the person's fingerprint.

Only a verified assertion of a passkey enrolled for the approval's tenant, made for that approval, dials; and
it dials once. Both ways the page is served: stdio's loopback listener (links name ``localhost``) and the HTTP
transport reached as ``localhost``.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from playwright.async_api import Browser, Page, async_playwright
from pydantic import SecretStr

from kupe_mcp._loopback import LoopbackServer
from kupe_mcp.config import Credentials, Settings
from kupe_mcp.sandbox import DEMO_API_KEY, SandboxServer, SandboxSettings
from kupe_mcp.sandbox._seed import DEMO_AGENT_ID
from kupe_mcp.serve.server import KupeServer, build_client, create_server
from kupe_mcp.serve.transports import http_app
from tests._mcp import call

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HAVE_CHROMIUM = Path(CHROMIUM).exists()
CREATE_CALL = ("POST", "/api/call/create_call")
FIRST = {
    "phone_number": "+919876543210",
    "agent_id": DEMO_AGENT_ID,
    "variable_values": {"name": "Ada", "appointment_date": "Friday"},
}
SECOND = {
    "phone_number": "+919876543211",
    "agent_id": DEMO_AGENT_ID,
    "variable_values": {"name": "Alan", "appointment_date": "Monday"},
}


@dataclass
class Served:
    server: KupeServer
    sandbox: SandboxServer
    mcp_url: str | None  # None: the model's client talks to the server in-process (stdio's page listener)

    def calls_placed(self) -> int:
        return list(self.sandbox.sandbox.request_log).count(CREATE_CALL)

    async def ask(self, tool: str = "place_call", /, **args: Any) -> dict[str, Any]:
        """One tool call from a client with no elicitation: the person's only way in is the link."""
        if self.mcp_url is None:
            async with Client(self.server) as mcp:
                return await call(mcp, tool, **args)
        async with (
            httpx2.AsyncClient(timeout=30) as http,
            Client(streamable_http_client(self.mcp_url, http_client=http)) as mcp,
        ):
            return await call(mcp, tool, **args)


@pytest.fixture(params=["stdio", "http"])
async def served(request: pytest.FixtureRequest) -> AsyncIterator[Served]:
    with SandboxServer(SandboxSettings(call_step_s=0)) as sandbox:
        config = Settings(
            base_url=sandbox.base_url,
            credentials=Credentials(api_key=SecretStr(DEMO_API_KEY)),
            toolsets=("calls",),
            calling_hours="off",
            approval_proof="passkey",
        )
        server = create_server(config, build_client(config))
        if request.param == "stdio":
            try:
                yield Served(server, sandbox, None)
            finally:
                await (
                    server.runtime.aclose()
                )  # the page listener and the Kupe client (the HTTP app's lifespan does this)
            return
        with LoopbackServer(http_app(server, config, host="127.0.0.1", multi_tenant=False), lifespan="on") as srv:
            # WebAuthn needs a domain: the person (and so the link) reaches the server as localhost.
            yield Served(server, sandbox, f"{srv.base_url.replace('127.0.0.1', 'localhost')}/mcp")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not HAVE_CHROMIUM:
        pytest.skip("chromium is not installed (make test installs it)")
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        await launched.close()


async def with_authenticator(browser: Browser) -> Page:
    """A page whose browser has a platform passkey authenticator that verifies its user (a fingerprint)."""
    page = await browser.new_page()
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable")
    await cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return page


def base_of(url: str) -> str:
    return url.split("/approvals/")[0]


async def enrol(page: Page, base: str, *, api_key: str = "", code: str = "", name: str = "laptop") -> str:
    await page.goto(f"{base}/approvals/passkeys/enrol")
    if api_key:
        await page.fill("#api_key", api_key)
    if code:
        await page.fill("#code", code)
    await page.fill("#name", name)
    await page.get_by_role("button", name="Create passkey").click()
    status = page.locator("#msg")
    await status.filter(has_text="enrolled").or_(status.filter(has_text="Refused")).wait_for()
    return await status.inner_text()


async def assertion_for(page: Page, approval_url: str, allow: list[str] | None = None) -> dict[str, Any]:
    """What the page's script does, by hand: fetch the challenge for ``approval_url`` and sign it (optionally with
    a chosen credential), returning the assertion instead of sending it."""
    await page.goto(approval_url)
    result: dict[str, Any] = await page.evaluate(
        """async ([url, allow]) => {
            const r = await fetch(url + '/passkey/options', {method: 'POST',
                headers: {'content-type': 'application/json'}, body: '{}'});
            const o = await r.json();
            if (allow) o.allowCredentials = allow.map(id => ({type: 'public-key', id}));
            const c = await navigator.credentials.get({publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(o)});
            return c.toJSON();
        }""",
        [approval_url, allow],
    )
    return result


async def post_assertion(page: Page, approval_url: str, assertion: dict[str, Any]) -> int:
    status: int = await page.evaluate(
        """async ([url, body]) => (await fetch(url + '/passkey', {method: 'POST',
            headers: {'content-type': 'application/json'}, body: JSON.stringify(body)})).status""",
        [approval_url, assertion],
    )
    return status


async def test_enrol_with_the_kupe_api_key_then_approve_with_the_passkey_dials_exactly_once(
    served: Served, browser: Browser
) -> None:
    out = await served.ask(**FIRST)
    assert out["placed"] is False
    assert "kupe-app-mcp passkey add" in out["passkey"]  # the person is told how to enrol
    url = out["approval_url"]
    assert url.startswith("http://localhost:")
    page = await with_authenticator(browser)

    assert "enrolled" in await enrol(page, base_of(url), api_key=DEMO_API_KEY)
    await page.goto(url)
    await page.get_by_role("button", name="Approve").click()
    await page.get_by_text("Approved.").wait_for()
    assert served.calls_placed() == 0  # the page approves; the model's next call dials

    done = await served.ask("wait_for_approval", approval_id=out["approval_id"], timeout_s=10)
    again = await served.ask("wait_for_approval", approval_id=out["approval_id"], timeout_s=1)
    assert done["result"]["placed"] is True
    assert again["status"] == "used"
    assert served.calls_placed() == 1
    record = await served.server.runtime.approvals.store.get(out["approval_id"])
    assert record is not None
    assert "approved by the person with passkey 'laptop'" in [e["note"] for e in record.events]


async def test_without_an_enrolled_passkey_approve_approves_nothing(served: Served, browser: Browser) -> None:
    out = await served.ask(**FIRST)
    page = await with_authenticator(browser)
    await page.goto(out["approval_url"])
    await page.get_by_role("button", name="Approve").click()
    await page.get_by_text("No passkey is enrolled").wait_for()
    waited = await served.ask("wait_for_approval", approval_id=out["approval_id"], timeout_s=1)
    assert waited["status"] == "pending"
    assert served.calls_placed() == 0


async def test_a_wrong_api_key_enrols_nothing(served: Served, browser: Browser) -> None:
    out = await served.ask(**FIRST)
    page = await with_authenticator(browser)
    assert "Refused" in await enrol(page, base_of(out["approval_url"]), api_key="kupe_sbx_not_a_key_00000000")
    desk = served.server.runtime.approvals
    assert desk.passkeys is not None
    assert desk.check_key is not None
    assert await desk.passkeys.enrolled(str(await desk.check_key(DEMO_API_KEY))) == []
    await page.goto(out["approval_url"])
    await page.get_by_role("button", name="Approve").click()
    await page.get_by_text("No passkey is enrolled").wait_for()
    assert served.calls_placed() == 0


async def test_a_passkey_of_another_tenant_approves_nothing(served: Served, browser: Browser) -> None:
    out = await served.ask(**FIRST)
    url = out["approval_url"]
    page = await with_authenticator(browser)
    passkeys = served.server.runtime.approvals.passkeys
    assert passkeys is not None
    # The person enrols their own passkey; someone else's account enrols one in the same browser (a one-time code
    # minted for that tenant, as an OAuth sign-in would).
    assert "enrolled" in await enrol(page, base_of(url), api_key=DEMO_API_KEY, name="mine")
    code = await passkeys.enrolment_code("user:someone-else")
    assert "enrolled" in await enrol(page, base_of(url), code=code, name="theirs")
    theirs = (await passkeys.enrolled("user:someone-else"))[0].id

    # Sign this approval's challenge with the other tenant's passkey: refused, nothing approved.
    forged = await assertion_for(page, url, allow=[theirs])
    assert forged["id"] == theirs
    assert await post_assertion(page, url, forged) == 403
    waited = await served.ask("wait_for_approval", approval_id=out["approval_id"], timeout_s=1)
    assert waited["status"] == "pending"
    assert served.calls_placed() == 0


async def test_an_assertion_for_another_approval_or_replayed_approves_nothing_more(
    served: Served, browser: Browser
) -> None:
    first = await served.ask(**FIRST)
    second = await served.ask(**SECOND)
    page = await with_authenticator(browser)
    assert "enrolled" in await enrol(page, base_of(first["approval_url"]), api_key=DEMO_API_KEY)

    signed = await assertion_for(page, first["approval_url"])  # a good assertion, made for the first approval
    assert await post_assertion(page, second["approval_url"], signed) == 403  # ... spent on the second: refused
    assert await post_assertion(page, first["approval_url"], signed) == 403  # its challenge was used up
    again = await assertion_for(page, first["approval_url"])
    assert await post_assertion(page, first["approval_url"], again) == 200
    assert await post_assertion(page, first["approval_url"], again) == 409  # replayed: it is approved already
    assert await post_assertion(page, second["approval_url"], again) == 403

    done = await served.ask("wait_for_approval", approval_id=first["approval_id"], timeout_s=10)
    other = await served.ask("wait_for_approval", approval_id=second["approval_id"], timeout_s=1)
    assert done["result"]["placed"] is True
    assert other["status"] == "pending"
    assert served.calls_placed() == 1


async def test_passkeys_are_listed_renamed_and_revoked_on_the_page_with_the_api_key(
    served: Served, browser: Browser
) -> None:
    out = await served.ask(**FIRST)
    base = base_of(out["approval_url"])
    page = await with_authenticator(browser)
    assert "enrolled" in await enrol(page, base, api_key=DEMO_API_KEY, name="laptop")
    await page.goto(f"{base}/approvals/passkeys")
    await page.fill("#api_key", DEMO_API_KEY)
    await page.get_by_role("button", name="Show my passkeys").click()
    await page.get_by_role("cell", name="laptop").wait_for()

    page.once("dialog", lambda dialog: dialog.accept("office"))
    await page.get_by_role("button", name="Rename").click()
    await page.get_by_role("cell", name="office").wait_for()
    await page.get_by_role("button", name="Revoke").click()
    await page.get_by_text("No passkeys are enrolled for this account.").wait_for()

    desk = served.server.runtime.approvals
    assert desk.passkeys is not None
    assert desk.check_key is not None
    assert await desk.passkeys.enrolled(str(await desk.check_key(DEMO_API_KEY))) == []
    await page.goto(out["approval_url"])  # a revoked passkey approves nothing
    await page.get_by_role("button", name="Approve").click()
    await page.get_by_text("No passkey is enrolled").wait_for()
    assert served.calls_placed() == 0
