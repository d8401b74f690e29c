"""The MCP Apps views inside the official host side: ``AppBridge`` from ``@modelcontextprotocol/ext-apps`` (npm),
bundled for the browser by esbuild, in headless Chromium.

``tests/browser/test_apps_card.py`` drives the views from a hand-written host page, which can only agree with our
own reading of the Apps spec. Here the host is the one hosts build on: it validates every message our shared
bridge sends (``ui/initialize``, ``ui/notifications/initialized``, ``ui/notifications/size-changed``, ``tools/call``,
``ui/open-link``) and sends what real hosts send. Each view is the server's own ``ui://`` resource, fed a real tool
result; the card's ``tools/call`` goes through the bridge to the real MCP server.

``make test`` installs the host side into ``.tools/ext-apps`` and sets KUPE_EXT_APPS; without it these tests skip.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from playwright.async_api import Browser, FrameLocator, Page

from kupe_mcp.client import KupeClient
from kupe_mcp.sandbox._seed import DEMO_AGENT_ID, IN_PHONE_ID
from tests._approvals import approved_by_card
from tests._mcp import call, say_yes
from tests.conftest import ServerFactory

EXT_APPS = os.environ.get("KUPE_EXT_APPS")  # the npm prefix holding ext-apps, its SDK peers and esbuild
pytestmark = [
    pytest.mark.anyio,
    pytest.mark.slow,
    pytest.mark.skipif(not EXT_APPS, reason="KUPE_EXT_APPS is unset (make test sets it: the official MCP Apps host)"),
]

APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
CARD = "ui://kupe/approval-card.html"
CREATE_CALL = ("POST", "/api/call/create_call")
ARGS: dict[str, Any] = {
    "phone_number": "+919876543210",
    "agent_id": DEMO_AGENT_ID,
    "variable_values": {"name": "<i>Ada", "appointment_date": "Friday"},
}
ENTRY = 'export { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";\n'

# The host: AppBridge over the iframe's postMessage transport, connected before the view loads (the view asks
# ui/initialize as its script runs). It sizes the iframe from size-changed, proxies tools/call to the MCP server
# through the page's callServerTool, records open-link requests, and sends the tool result once the view is ready.
HOST_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>ext-apps host</title>
<style>body{margin:0;background:#e9e5dc}iframe{border:0;width:100%;height:40px;display:block}</style>
</head><body><iframe id="view" sandbox="allow-scripts"></iframe></body></html>"""
START_VIEW = """async ([html, result]) => {
  const {AppBridge, PostMessageTransport} = window.ExtAppsHost;
  const frame = document.getElementById('view');
  const log = window.hostLog = {initialized: 0, appInfo: null, sizes: [], openLinks: [], toolCalls: []};
  const bridge = window.bridge = new AppBridge(null, {name: 'kupe-test-host', version: '1'},
    {openLinks: {}, serverTools: {}},
    {hostContext: {theme: 'light', displayMode: 'inline', styles: {variables: {
      '--color-background-primary': '#fdfbf6', '--color-text-primary': '#1f2933', '--font-sans': 'Georgia, serif'}}}});
  bridge.oncalltool = async (params) => {
    log.toolCalls.push(params.name);
    return JSON.parse(await window.callServerTool(JSON.stringify(params)));
  };
  bridge.onopenlink = async (params) => { log.openLinks.push(params.url); return {}; };
  bridge.onsizechange = (size) => {
    log.sizes.push(size);
    if (size.height !== undefined) frame.style.height = size.height + 'px';
  };
  bridge.oninitialized = () => {
    log.initialized += 1; log.appInfo = bridge.getAppVersion();
    bridge.sendToolResult(result);
  };
  await bridge.connect(new PostMessageTransport(frame.contentWindow, frame.contentWindow));
  frame.srcdoc = html;
}"""


@pytest.fixture(scope="module")
def app_bridge(tmp_path_factory: pytest.TempPathFactory) -> str:
    """ext-apps' app-bridge and PostMessageTransport as one browser script (``window.ExtAppsHost``), bundled once."""
    assert EXT_APPS is not None
    out = tmp_path_factory.mktemp("ext-apps") / "app-bridge.js"
    esbuild = Path(EXT_APPS) / "node_modules" / ".bin" / "esbuild"
    command = [str(esbuild), "--bundle", "--format=iife", "--global-name=ExtAppsHost", "--platform=browser",
               "--log-level=warning", f"--outfile={out}"]  # fmt: skip
    # esbuild resolves the entry from EXT_APPS, the npm prefix the Makefile installed
    subprocess.run(command, input=ENTRY, cwd=EXT_APPS, check=True, text=True, timeout=120)  # noqa: S603 - fixed arguments
    return out.read_text(encoding="utf-8")


@dataclass
class Hosted:
    """A view running in the official host: its page, its frame, and the errors the page and the view logged."""

    page: Page
    view: FrameLocator
    errors: list[str] = field(default_factory=list)

    async def log(self) -> dict[str, Any]:
        """What the host saw: initialized count, the view's appInfo, size-changed params, open-link URLs, tool calls."""
        seen: dict[str, Any] = await self.page.evaluate("window.hostLog")
        return seen

    async def view_height(self) -> int:
        """The view's own document height, as the spec's size-changed should report it."""
        height: int = await self.view.locator("html").evaluate("h => Math.ceil(h.getBoundingClientRect().height)")
        return height


async def host(
    browser: Browser,
    app_bridge: str,
    html: str,
    result: dict[str, Any],
    ready: str,
    call_server_tool: Callable[[str], Awaitable[str]] | None = None,
) -> Hosted:
    """The view in the official host, fed ``result``; waits until ``ready`` shows and the host has sized the frame."""
    page = await browser.new_page(viewport={"width": 480, "height": 700})
    hosted = Hosted(page, page.frame_locator("#view"))
    page.on("console", lambda m: hosted.errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: hosted.errors.append(f"pageerror: {e}"))

    async def refuse(params: str) -> str:
        raise AssertionError(f"this view must not call tools: {params}")

    await page.expose_function("callServerTool", call_server_tool or refuse)
    await page.set_content(HOST_PAGE)
    await page.add_script_tag(content=app_bridge)
    await page.evaluate(START_VIEW, [html, result])
    await hosted.view.locator(ready).first.wait_for()
    await page.wait_for_function("window.hostLog.sizes.length > 0", timeout=5000)
    return hosted


def fed(result: Any) -> dict[str, Any]:
    """A CallToolResult as the host forwards it (the wire shape)."""
    wire: dict[str, Any] = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    return wire


async def test_the_card_in_the_official_host_shows_the_call_and_its_approve_reaches_the_app_only_tool_and_dials_once(
    make_server: ServerFactory, sandbox_app: Any, browser: Browser, app_bridge: str, tmp_path: Path
) -> None:
    server = make_server()  # KUPE_APPROVAL_PROOF=client: the card's own Approve answers
    try:
        async with Client(server, extensions=[APPS]) as mcp:
            result = await mcp.call_tool("place_call", ARGS)
            html = (await mcp.read_resource(CARD)).contents[0].text  # type: ignore[union-attr]
            approval_id = (result.structured_content or {})["approval_id"]

            async def call_server_tool(params: str) -> str:
                request = json.loads(params)
                answer = await mcp.call_tool(request["name"], request["arguments"])
                return answer.model_dump_json(by_alias=True, exclude_none=True)

            hosted = await host(browser, app_bridge, html, fed(result), "#approve", call_server_tool)
            approve = hosted.view.get_by_role("button", name="Approve")
            shown = await hosted.view.locator("main").inner_text()
            injected = await hosted.view.locator("main i").count()
            background = await hosted.view.locator("body").evaluate("b => getComputedStyle(b).backgroundColor")
            first = await hosted.log()
            height = await hosted.view_height()
            await hosted.page.screenshot(path=str(tmp_path / "ext-apps-approval-card.png"), full_page=True)
            dialled_before = sandbox_app.state.sandbox.request_log.count(CREATE_CALL)
            await approve.click()
            await hosted.view.get_by_text("Approved. The assistant will now dial.").wait_for()
            buttons_after = await approve.is_visible()
            done = await call(mcp, "wait_for_approval", approval_id=approval_id, timeout_s=5)
            after = await hosted.log()
    finally:
        server.runtime.approvals.close()
    assert "Place this phone call?" in shown
    assert "+919876543210 (India, mobile)" in shown
    assert "Sunrise Dental Receptionist" in shown
    assert 'name = "<i>Ada"' in shown  # the value as text
    assert injected == 0
    assert background == "rgb(253, 251, 246)"  # the host context's theme variable
    assert first["initialized"] == 1
    assert first["appInfo"]["name"] == "kupe-approval-card"
    assert first["sizes"][-1]["height"] == height  # the host sized the frame to the card
    assert dialled_before == 0
    assert buttons_after is False  # answered: the actions are gone, not just disabled
    assert after["toolCalls"] == ["answer_call_approval"]
    assert after["openLinks"] == []
    assert done["result"]["placed"] is True
    assert sandbox_app.state.sandbox.request_log.count(CREATE_CALL) == 1
    assert hosted.errors == []


async def test_with_passkey_proof_the_cards_approve_asks_the_host_to_open_the_approval_page_and_dials_nothing(
    make_server: ServerFactory, sandbox_app: Any, browser: Browser, app_bridge: str
) -> None:
    server = make_server(approval_proof="passkey")
    try:
        async with Client(server, extensions=[APPS]) as mcp:
            result = await mcp.call_tool("place_call", ARGS)
            html = (await mcp.read_resource(CARD)).contents[0].text  # type: ignore[union-attr]
            card = (result.meta or {})["kupe/approval"]
            hosted = await host(browser, app_bridge, html, fed(result), "#approve")
            await hosted.view.get_by_role("button", name="Approve").click()
            status = hosted.view.locator("#status")
            await status.get_by_text("Approve on the page that opened, with your passkey.").wait_for()
            seen = await hosted.log()
            waited = await call(mcp, "wait_for_approval", approval_id=card["approval_id"], timeout_s=1)
    finally:
        server.runtime.approvals.close()
    assert card["approval_url"].endswith(f"/approvals/{card['approval_id']}")
    assert seen["openLinks"] == [card["approval_url"]]
    assert seen["toolCalls"] == []
    assert waited["status"] == "pending"
    assert sandbox_app.state.sandbox.request_log.count(CREATE_CALL) == 0
    assert hosted.errors == []


async def test_the_call_campaign_and_usage_views_render_real_results_in_the_official_host_without_errors(
    make_server: ServerFactory, kupe_client: KupeClient, browser: Browser, app_bridge: str, tmp_path: Path
) -> None:
    created = await kupe_client.create_batch(
        {"batch_name": "Diwali reminders", "caller_phone_id": IN_PHONE_ID, "agent_id": DEMO_AGENT_ID}
    )
    batch_id = str(created.id)
    await kupe_client.upsert_batch_data(
        batch_id, [{"to_phonenumber": n, "variable_values": {}} for n in ("+919876543211", "+919876500000")]
    )
    await kupe_client.start_batch(batch_id)
    async with Client(make_server(), extensions=[APPS], elicitation_callback=say_yes) as mcp:
        # An Apps client gets the card first: its person presses Approve there (client proof).
        placed = await approved_by_card(
            mcp, "place_call", **(ARGS | {"variable_values": {"name": "Ada", "appointment_date": "Fri"}})
        )
        waited = await mcp.call_tool("wait_for_call", {"request_id": placed["request_id"], "timeout_s": 30})
        await call(mcp, "wait_for_batch", batch_id=batch_id, timeout_s=60)
        batch = await mcp.call_tool("get_batch", {"batch_id": batch_id})
        usage = await mcp.call_tool("get_usage_summary", {"time_period": "month"})
        pages = {
            name: (await mcp.read_resource(f"ui://kupe/{name}.html")).contents[0].text  # type: ignore[union-attr]
            for name in ("call-card", "batch-progress", "usage-chart")
        }
    call_view = await host(browser, app_bridge, pages["call-card"], fed(waited), ".bubble")
    summary = await call_view.view.locator("#summary").inner_text()
    call_height = await call_view.view_height()
    batch_view = await host(browser, app_bridge, pages["batch-progress"], fed(batch), "#failures tr")
    batch_meta = await batch_view.view.locator("#meta").inner_text()
    failed = await batch_view.view.locator("#failures tr").all_inner_texts()
    usage_view = await host(browser, app_bridge, pages["usage-chart"], fed(usage), "#period-chart rect")
    columns = await usage_view.view.locator("#period-chart rect").count()
    services_empty = await usage_view.view.locator("#services-empty").is_visible()
    # A host tears a view down before removing it; the view must answer (the spec's ui/resource-teardown).
    torn_down = await usage_view.page.evaluate("window.bridge.teardownResource({}, {timeout: 3000}).then(() => true)")
    for hosted in (call_view, batch_view, usage_view):
        await hosted.page.screenshot(path=str(tmp_path / f"ext-apps-{id(hosted)}.png"), full_page=True)
    logs = [await hosted.log() for hosted in (call_view, batch_view, usage_view)]
    assert summary == (waited.structured_content or {})["summary"]
    assert batch_meta == "completed · 2 of 2 done"
    assert [row.split("\t")[0] for row in failed] == ["+919876500000"]
    assert columns == len((usage.structured_content or {})["buckets"])
    assert services_empty is False
    assert torn_down is True
    assert [log["appInfo"]["name"] for log in logs] == ["kupe-call-card", "kupe-batch-progress", "kupe-usage-chart"]
    assert [log["initialized"] for log in logs] == [1, 1, 1]
    assert logs[0]["sizes"][-1]["height"] == call_height
    assert [call_view.errors, batch_view.errors, usage_view.errors] == [[], [], []]
