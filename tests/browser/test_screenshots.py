"""The README's pictures, made from the demo tour's data (``kupe_mcp.dist.demo``): what a person would really see.

Each test drives the tour's steps through a real MCP client on the sandbox (the Acme Dental agent, Priya's call,
the "Appointment reminders" campaign), renders the approval page or an MCP Apps view in headless Chromium, checks
that the picture shows that data, and with ``UPDATE_SCREENSHOTS=1`` writes it to docs/. The escaping checks, with
markup in names and reasons, stay in test_approval_page.py, test_apps_card.py and test_apps_views.py: they are
tests, not pictures.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp.client import Client
from mcp.client.extension import advertise
from mcp.client.streamable_http import streamable_http_client
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from playwright.async_api import Browser, FrameLocator, Page

from kupe_mcp.dist.demo import AGENT, CALL, CAMPAIGN, RECIPIENTS
from tests._approvals import approved_by_card
from tests._mcp import call, say_yes
from tests._safety import calls_over_http
from tests.browser.test_apps_card import HOST_PAGE
from tests.conftest import ServerFactory

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PICTURES = ("approval-page", "apps-approval-card", "apps-call-card", "apps-batch-progress", "apps-usage-chart")
APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
# One more person on the campaign's list, whose number the sandbox's carrier rejects (it ends in 0000): the campaign
# view then shows its "Not reached" table as a real campaign would.
UNREACHABLE = {"phone_number": "+91 98765 00000", "variables": {"name": "Kavya", "date": "Thu 4pm"}}


# Pictures another test makes from its own realistic run, with the same UPDATE_SCREENSHOTS=1.
MADE_ELSEWHERE = {"oauth-sign-in": "tests/browser/test_oauth_sign_in.py"}


def test_every_picture_in_the_readme_is_one_a_test_makes() -> None:
    shown = re.findall(r"\(docs/([\w-]+)\.png\)", (ROOT / "README.md").read_text())
    assert sorted(shown) == sorted([*PICTURES, *MADE_ELSEWHERE])
    assert all((DOCS / f"{name}.png").is_file() for name in [*PICTURES, *MADE_ELSEWHERE])
    assert all((ROOT / maker).is_file() for maker in MADE_ELSEWHERE.values())


def keep(path: Path) -> None:
    """With UPDATE_SCREENSHOTS=1, the picture becomes the README's."""
    if os.environ.get("UPDATE_SCREENSHOTS"):
        DOCS.mkdir(exist_ok=True)
        shutil.copy(path, DOCS / path.name)


async def agent_and_line(mcp: Client) -> tuple[str, str]:
    """The tour's first steps: the Acme Dental agent, and the account's first phone line."""
    agent = await call(mcp, "create_agent", **AGENT)
    line = (await call(mcp, "list_phone_numbers"))["items"][0]
    return agent["agent"]["id"], line["id"]


async def tour_call(mcp: Client) -> tuple[str, str, dict[str, Any]]:
    """The tour's call to Priya, approved on the card: (agent id, line id, what ``place_call`` answered)."""
    agent_id, line_id = await agent_and_line(mcp)
    placed = await approved_by_card(mcp, "place_call", agent_id=agent_id, phone_number_id=line_id, **CALL)
    return agent_id, line_id, placed


async def campaign(mcp: Client, agent_id: str, line_id: str) -> str:
    """The tour's campaign, run to its end (the person approves the start on the card)."""
    batch = await call(
        mcp, "create_batch", name=CAMPAIGN, phone_number_id=line_id, agent_id=agent_id, variable_names=["name", "date"]
    )
    await call(mcp, "add_batch_recipients", batch_id=batch["id"], recipients=[*RECIPIENTS, UNREACHABLE])
    await approved_by_card(mcp, "start_batch", batch_id=batch["id"])  # client proof: Apps hosts show the card
    await call(mcp, "wait_for_batch", batch_id=batch["id"], timeout_s=60)
    batch_id: str = batch["id"]
    return batch_id


async def view_of(browser: Browser, html: str, result: Any, ready: str, width: int = 480) -> tuple[Page, FrameLocator]:
    """An MCP Apps view in the test host, fed ``result``; the page is cut to the view's content (no empty half)."""
    fed = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    page = await browser.new_page(viewport={"width": width, "height": 900})
    await page.expose_function("callServerTool", lambda params: "{}")
    await page.set_content(HOST_PAGE)
    await page.evaluate("([html, result]) => window.startView(html, result)", [html, fed])
    view = page.frame_locator("#view")
    await view.locator(ready).first.wait_for()
    height = await view.locator("body").evaluate(
        "b => Math.ceil(Math.max(...[...b.children].map(c => c.getBoundingClientRect().bottom))) + 16"
    )
    await page.evaluate("h => { document.getElementById('view').style.height = h + 'px'; }", height)
    await page.set_viewport_size({"width": width, "height": height})
    return page, view


async def shoot(page: Page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    await page.screenshot(path=str(path))
    keep(path)
    return path


@pytest.fixture
def served() -> Iterator[str]:
    """kupe-app-mcp over streamable HTTP (loopback) with every toolset, on a sandbox on loopback: its MCP URL."""
    # approval_proof: the picture shows the tour's page, which the demo answers in-band
    with calls_over_http(toolsets=("all",), approval_proof="client") as (_server, _sandbox, base_url):
        yield f"{base_url}/mcp"


async def test_the_approval_page_picture_shows_the_tours_call(served: str, browser: Browser, tmp_path: Path) -> None:
    # A client with no elicitation: the approval page is the person's only channel.
    async with (
        httpx2.AsyncClient(timeout=30) as http,
        Client(streamable_http_client(served, http_client=http)) as mcp,
    ):
        agent_id, line_id = await agent_and_line(mcp)
        out = await call(mcp, "place_call", agent_id=agent_id, phone_number_id=line_id, **CALL)
    page = await browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    await page.goto(out["approval_url"])
    text = await page.inner_text("main")
    path = tmp_path / "approval-page.png"
    await page.screenshot(path=str(path), full_page=True)
    keep(path)
    assert "+919876543210 (India, mobile)" in text
    assert AGENT["name"] in text
    assert "name = 'Priya'" in text
    assert "date = 'Tuesday 10am'" in text
    assert "<" not in text


async def test_the_apps_approval_card_picture_shows_the_tours_call(
    make_server: ServerFactory, browser: Browser, tmp_path: Path
) -> None:
    server = make_server()
    try:
        async with Client(server, extensions=[APPS]) as mcp:
            agent_id, line_id = await agent_and_line(mcp)
            result = await mcp.call_tool("place_call", {"agent_id": agent_id, "phone_number_id": line_id, **CALL})
            html = (await mcp.read_resource("ui://kupe/approval-card.html")).contents[0].text  # type: ignore[union-attr]
        page, view = await view_of(browser, html, result, "button")
        shown = await view.locator("main").inner_text()
        await shoot(page, tmp_path, "apps-approval-card")
    finally:
        server.runtime.approvals.close()
    assert AGENT["name"] in shown
    assert 'name = "Priya"' in shown
    assert "<" not in shown


async def test_the_apps_call_view_picture_shows_the_tours_call_to_its_end(
    make_server: ServerFactory, browser: Browser, tmp_path: Path
) -> None:
    async with Client(make_server(), extensions=[APPS], elicitation_callback=say_yes) as mcp:
        *_, placed = await tour_call(mcp)
        result = await mcp.call_tool("wait_for_call", {"request_id": placed["request_id"], "timeout_s": 30})
        html = (await mcp.read_resource("ui://kupe/call-card.html")).contents[0].text  # type: ignore[union-attr]
    page, view = await view_of(browser, html, result, ".bubble")
    bubbles = await view.locator(".bubble").all_inner_texts()
    await shoot(page, tmp_path, "apps-call-card")
    assert bubbles[0] == "Agent\nHello Priya, this is Asha from Acme Dental."
    assert bubbles[-1].startswith("Agent\nThank you, Priya!")
    assert all("{{" not in bubble and "<" not in bubble for bubble in bubbles)


async def test_the_apps_campaign_picture_shows_the_tours_campaign(
    make_server: ServerFactory, browser: Browser, tmp_path: Path
) -> None:
    async with Client(make_server(), extensions=[APPS], elicitation_callback=say_yes) as mcp:
        batch_id = await campaign(mcp, *await agent_and_line(mcp))
        result = await mcp.call_tool("get_batch", {"batch_id": batch_id})
        html = (await mcp.read_resource("ui://kupe/batch-progress.html")).contents[0].text  # type: ignore[union-attr]
    page, view = await view_of(browser, html, result, "#failures tr")
    title = await view.locator("#title").inner_text()
    failures = await view.locator("#failures tr").all_inner_texts()
    await shoot(page, tmp_path, "apps-batch-progress")
    assert title == f"Campaign {CAMPAIGN}"
    assert failures == ["+919876500000\tfailed\tDestination unreachable: carrier rejected the number"]


async def test_the_apps_usage_picture_shows_the_tours_spending(
    make_server: ServerFactory, browser: Browser, tmp_path: Path
) -> None:
    async with Client(make_server(), extensions=[APPS], elicitation_callback=say_yes) as mcp:
        agent_id, line_id, placed = await tour_call(mcp)
        await call(mcp, "wait_for_call", request_id=placed["request_id"], timeout_s=30)
        await campaign(mcp, agent_id, line_id)
        result = await mcp.call_tool("get_usage_summary", {"time_period": "month"})
        html = (await mcp.read_resource("ui://kupe/usage-chart.html")).contents[0].text  # type: ignore[union-attr]
    page, view = await view_of(browser, html, result, "#period-chart rect")
    services = await view.locator("#service-chart text.label").all_text_contents()
    await shoot(page, tmp_path, "apps-usage-chart")
    assert sorted(services) == ["llm", "stt", "telephony", "tts"]
