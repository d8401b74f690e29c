"""The MCP Apps approval card in headless Chromium, inside a minimal test host page that speaks the Apps bridge
(JSON-RPC over postMessage: ``ui/initialize`` with host theme variables, ``ui/notifications/initialized``,
``ui/notifications/tool-result``, and the view's ``tools/call`` proxied to the MCP server).

The card is rendered from the server's own ``ui://`` resource, fed the real place_call result; its Approve button
must reach the app-only tool, after which wait_for_approval dials exactly once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from playwright.async_api import Browser

from kupe_mcp.sandbox._seed import DEMO_AGENT_ID
from tests._mcp import call
from tests.conftest import ServerFactory

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

CARD = "ui://kupe/approval-card.html"
CREATE_CALL = ("POST", "/api/call/create_call")

HOST_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>test host</title>
<style>body{margin:0;background:#e9e5dc}iframe{border:0;width:100%;height:860px;background:transparent}</style>
</head><body><iframe id="view" sandbox="allow-scripts"></iframe><script>
const frame = document.getElementById('view');
const hostContext = {theme: 'light', styles: {variables: {
  '--color-background-primary': '#fdfbf6', '--color-text-primary': '#1f2933', '--font-sans': 'Georgia, serif'}}};
window.hostLog = [];
window.addEventListener('message', async (event) => {
  if (event.source !== frame.contentWindow) return;
  const msg = event.data; window.hostLog.push(msg.method || ('reply ' + msg.id));
  const reply = (result) => frame.contentWindow.postMessage({jsonrpc: '2.0', id: msg.id, result}, '*');
  if (msg.method === 'ui/initialize') {
    reply({protocolVersion: msg.params.protocolVersion, hostInfo: {name: 'test-host', version: '1'},
           hostCapabilities: {serverTools: {}}, hostContext});
  } else if (msg.method === 'ui/notifications/initialized') {
    frame.contentWindow.postMessage({jsonrpc: '2.0', method: 'ui/notifications/tool-result',
                                     params: window.toolResult}, '*');
  } else if (msg.method === 'tools/call') {
    reply(JSON.parse(await window.callServerTool(JSON.stringify(msg.params))));
  }
});
window.startView = (html, result) => { window.toolResult = result; frame.srcdoc = html; };
</script></body></html>"""


async def test_the_card_shows_the_call_and_its_approve_reaches_the_app_only_tool_and_dials_once(
    make_server: ServerFactory, sandbox_app: Any, browser: Browser, tmp_path: Path
) -> None:
    server = make_server()
    apps = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
    tool_calls: list[str] = []
    try:
        async with Client(server, extensions=[apps]) as mcp:
            args = {
                "phone_number": "+919876543210",
                "agent_id": DEMO_AGENT_ID,
                "variable_values": {"name": "<i>Ada", "appointment_date": "Friday"},
            }
            result = await mcp.call_tool("place_call", args)
            html = (await mcp.read_resource(CARD)).contents[0].text  # type: ignore[union-attr]
            approval_id = (result.structured_content or {})["approval_id"]

            async def call_server_tool(params: str) -> str:
                request = json.loads(params)
                tool_calls.append(request["name"])
                answer = await mcp.call_tool(request["name"], request["arguments"])
                return answer.model_dump_json(by_alias=True, exclude_none=True)

            page = await browser.new_page(viewport={"width": 480, "height": 700})
            await page.expose_function("callServerTool", call_server_tool)
            await page.set_content(HOST_PAGE)
            await page.evaluate(
                "([html, result]) => window.startView(html, result)",
                [html, result.model_dump(mode="json", by_alias=True, exclude_none=True)],
            )
            view = page.frame_locator("#view")
            await view.get_by_role("button", name="Approve").wait_for()
            shown = await view.locator("main").inner_text()
            background = await view.locator("body").evaluate("b => getComputedStyle(b).backgroundColor")
            await page.screenshot(path=str(tmp_path / "apps-approval-card.png"), full_page=True)
            assert sandbox_app.state.sandbox.request_log.count(CREATE_CALL) == 0
            await view.get_by_role("button", name="Approve").click()
            await view.get_by_text("Approved. The assistant will now dial.").wait_for()
            done = await call(mcp, "wait_for_approval", approval_id=approval_id, timeout_s=5)
            host_log = await page.evaluate("window.hostLog")
    finally:
        server.runtime.approvals.close()
    assert "Place this phone call?" in shown
    assert "+919876543210 (India, mobile)" in shown
    assert 'name = "<i>Ada"' in shown  # the value as text
    assert "Sunrise Dental Receptionist" in shown
    assert "Cost estimate" in shown
    assert background == "rgb(253, 251, 246)"  # the host's theme variable
    assert host_log[:2] == ["ui/initialize", "ui/notifications/initialized"]
    assert tool_calls == ["answer_call_approval"]
    assert done["result"]["placed"] is True
    assert sandbox_app.state.sandbox.request_log.count(CREATE_CALL) == 1


async def test_the_call_view_shows_steps_summary_and_the_transcript_as_text_bubbles(
    make_server: ServerFactory, browser: Browser, tmp_path: Path
) -> None:
    from tests._approvals import approved_by_card
    from tests._mcp import say_yes

    server = make_server()  # client proof: the person approves on the card
    apps = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
    async with Client(server, extensions=[apps], elicitation_callback=say_yes) as mcp:
        tools = {t.name: t for t in (await mcp.list_tools()).tools}
        placed = await approved_by_card(
            mcp,
            "place_call",
            phone_number="+919876543210",
            agent_id=DEMO_AGENT_ID,
            variable_values={"name": "Ada", "appointment_date": "Friday"},
        )
        result = await mcp.call_tool("wait_for_call", {"request_id": placed["request_id"], "timeout_s": 30})
        html = (await mcp.read_resource("ui://kupe/call-card.html")).contents[0].text  # type: ignore[union-attr]
    data = dict(result.structured_content or {})
    # What a caller says is data: a line that looks like markup must stay text.
    data["transcript_excerpt"] = (data.get("transcript_excerpt") or "") + "\nCaller: <img src=x onerror=alert(1)> ok"
    fed = result.model_dump(mode="json", by_alias=True, exclude_none=True) | {"structuredContent": data}
    page = await browser.new_page(viewport={"width": 480, "height": 900})
    await page.expose_function("callServerTool", lambda params: "{}")
    await page.set_content(HOST_PAGE)
    await page.evaluate("([html, result]) => window.startView(html, result)", [html, fed])
    view = page.frame_locator("#view")
    await view.locator(".bubble").first.wait_for()
    steps = await view.locator("#steps li").all_inner_texts()
    current = await view.locator("#steps li[aria-current]").count()
    bubbles = await view.locator(".bubble").all_inner_texts()
    images = await view.locator("img").count()
    summary = await view.locator("#summary").inner_text()
    await page.screenshot(path=str(tmp_path / "apps-call-card.png"), full_page=True)
    assert tools["wait_for_call"].meta == {"ui": {"resourceUri": "ui://kupe/call-card.html"}}
    assert steps == ["queued", "ringing", "in progress", "completed"]
    assert current == 0  # a completed call: every step done, none current
    assert summary == data["summary"]
    assert bubbles[-1] == "Caller\n<img src=x onerror=alert(1)> ok"
    assert images == 0
    assert len(bubbles) == len([line for line in data["transcript_excerpt"].splitlines() if line.strip()])
