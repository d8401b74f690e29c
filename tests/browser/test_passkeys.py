"""KUPE_APPROVAL_PROOF=passkey in a real browser: Debian's headless Chromium, driven by Playwright, with a CDP
virtual authenticator (CTAP2, internal transport, user verification) standing in for the person's fingerprint.

Only a verified assertion of a passkey enrolled for the approval's tenant, made for that approval, dials; and
it dials once. Both ways the page is served: stdio's loopback listener (links name ``localhost``) and the HTTP
transport reached as ``localhost``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from kupe_mcp.sandbox import DEMO_API_KEY
from kupe_mcp.sandbox._seed import DEMO_AGENT_ID
from tests._safety import ADA_CALL, Served, calls_on
from tests.browser._page import with_authenticator

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

FIRST = ADA_CALL
SECOND = {
    "phone_number": "+919876543211",
    "agent_id": DEMO_AGENT_ID,
    "variable_values": {"name": "Alan", "appointment_date": "Monday"},
}


@pytest.fixture(params=["stdio", "http"])
async def served(request: pytest.FixtureRequest) -> AsyncIterator[Served]:
    async with calls_on(request.param, approval_proof="passkey") as served:
        yield served


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


async def assert_approve_finds_no_passkey(served: Served, page: Page, approval_url: str) -> None:
    """The demo tenant has no passkey enrolled: Approve on its page says so, and nothing is dialled."""
    desk = served.server.runtime.approvals
    assert desk.passkeys is not None
    assert desk.check_key is not None
    assert await desk.passkeys.enrolled(str(await desk.check_key(DEMO_API_KEY))) == []
    await page.goto(approval_url)
    await page.get_by_role("button", name="Approve").click()
    await page.get_by_text("No passkey is enrolled").wait_for()
    assert served.calls_placed() == 0


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
    await assert_approve_finds_no_passkey(served, page, out["approval_url"])


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

    await assert_approve_finds_no_passkey(served, page, out["approval_url"])  # a revoked one approves nothing
