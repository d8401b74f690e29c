"""The approval page in a real browser (Debian's headless Chromium, driven by Playwright), served by the real HTTP
transport in front of the sandbox: what the person sees, and that only their click dials, exactly once.

Screenshots land under each test's temp dir only: the values here carry markup on purpose, so they are never the
README's pictures (tests/browser/test_screenshots.py makes those from the demo tour's data).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from kupe_mcp.sandbox._seed import DEMO_AGENT_ID
from tests._clock import FakeClock
from tests._safety import Served, calls_over_http

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

INDIA = "+919876543210"
ARGS: dict[str, Any] = {
    "phone_number": INDIA,
    "agent_id": DEMO_AGENT_ID,
    "variable_values": {"name": "Ada <b>Lovelace</b>", "appointment_date": "Friday"},
}


@pytest.fixture
def served() -> Iterator[Served]:
    """kupe-app-mcp over streamable HTTP (single tenant, loopback) on a sandbox that also listens on loopback."""
    with calls_over_http(approval_proof="client") as (server, sandbox, base_url):  # the page's own Approve button
        yield Served(server, sandbox, f"{base_url}/mcp")


def shot(page: Page, tmp_path: Path, name: str) -> Any:
    return page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)


async def test_the_page_shows_what_will_be_dialled_and_approve_dials_exactly_once(
    served: Served, browser: Browser, tmp_path: Path
) -> None:
    out = await served.ask(**ARGS)
    page = await browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    response = await page.goto(out["approval_url"])
    assert response is not None
    assert response.status == 200
    text = await page.inner_text("main")
    assert "Place this phone call?" in text
    assert f"{INDIA} (India, mobile)" in text
    assert re.search(r"Local time there\s+\w{3} \d\d:\d\d \(Asia/Calcutta|Asia/Kolkata\)", text)
    assert "Sunrise Dental Receptionist" in text
    assert "a line Kupe picks" in text
    assert "name = 'Ada <b>Lovelace</b>'" in text  # shown as text, not markup
    assert await page.locator("main b").count() == 0
    assert "Cost estimate" in text
    assert "Balance\n$" in text
    # Keyboard order: the first Tab reaches Approve, the next Decline.
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Approve"
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Decline"
    await shot(page, tmp_path, "approval-page")
    assert served.calls_placed() == 0

    await page.get_by_role("button", name="Approve").click()
    await page.wait_for_url(out["approval_url"])
    assert "Approved" in await page.inner_text("main")
    await shot(page, tmp_path, "approval-page-approved")
    done = await served.ask("wait_for_approval", approval_id=out["approval_id"], timeout_s=10)
    again = await served.ask("wait_for_approval", approval_id=out["approval_id"], timeout_s=1)
    await page.reload()  # the page now says it was used; no buttons
    assert await page.get_by_role("button", name="Approve").count() == 0
    assert done["result"]["placed"] is True
    assert again["status"] == "used"
    assert served.calls_placed() == 1


async def test_decline_in_the_browser_dials_nothing(served: Served, browser: Browser, tmp_path: Path) -> None:
    out = await served.ask(**ARGS)
    page = await browser.new_page()
    await page.goto(out["approval_url"])
    await page.get_by_role("button", name="Decline").click()
    assert "Declined" in await page.inner_text("main")
    await shot(page, tmp_path, "approval-page-declined")
    waited = await served.ask("wait_for_approval", approval_id=out["approval_id"], timeout_s=5)
    repeated = await served.ask(**ARGS)
    assert waited["status"] == "declined"
    assert repeated["declined"] is True
    assert served.calls_placed() == 0


async def test_an_expired_approval_shows_no_buttons_and_a_late_click_dials_nothing(
    served: Served, browser: Browser, tmp_path: Path
) -> None:
    clock = FakeClock()
    desk = served.server.runtime.approvals
    desk.clock = desk.store.clock = clock  # type: ignore[attr-defined]
    out = await served.ask(**ARGS)
    page = await browser.new_page()
    await page.goto(out["approval_url"])  # opened in time ...
    clock.advance(desk.ttl_s + 1)  # ... clicked too late
    await page.get_by_role("button", name="Approve").click()
    assert "already expired" in await page.inner_text("main")
    await page.goto(out["approval_url"])
    assert await page.get_by_role("button", name="Approve").count() == 0
    waited = await served.ask("wait_for_approval", approval_id=out["approval_id"], timeout_s=1)
    assert waited["status"] == "expired"
    assert served.calls_placed() == 0


async def post_approve_from(hostile: Page, approval_url: str, *, secret: str) -> str:
    """A form on ``hostile`` that posts ``answer=approve`` and ``secret`` to the approval URL: the page it lands on."""
    await hostile.set_content(
        f"<form id=f method=post action='{approval_url}'>"
        f"<input name=answer value=approve><input name=secret value='{secret}'></form>"
    )
    async with hostile.expect_navigation():
        await hostile.evaluate("document.getElementById('f').submit()")
    return await hostile.inner_text("body")


async def test_a_forged_post_from_another_page_is_refused(served: Served, browser: Browser) -> None:
    out = await served.ask(**ARGS)
    page = await browser.new_page()
    # The person first opens the real page (so their browser holds its cookie), then visits a hostile page
    # that posts a guessed answer to the approval URL.
    await page.goto(out["approval_url"])
    hostile = await browser.new_page()
    assert "Refused" in await post_approve_from(hostile, out["approval_url"], secret="guessed")
    record = await served.server.runtime.approvals.store.get(out["approval_id"])
    assert record is not None
    assert record.status == "pending"
    # The same form, with the page's own form value (as the person's page holds it) but from a foreign origin, is
    # refused too.
    secret = await page.locator("input[name=secret]").get_attribute("value")
    assert secret is not None
    assert "Refused" in await post_approve_from(hostile, out["approval_url"], secret=secret)
    record = await served.server.runtime.approvals.store.get(out["approval_id"])
    assert record is not None
    assert record.status == "pending"
    assert served.calls_placed() == 0
