"""The campaign progress and usage chart views in headless Chromium, inside the same minimal Apps test host as the
approval card (``tests/browser/test_apps_card.py``), each fed a real tool result from the sandbox.

Names, reasons and service labels come from outside: markup in them must stay text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from playwright.async_api import Browser, FrameLocator

from kupe_mcp.client import KupeClient
from kupe_mcp.sandbox._seed import DEMO_AGENT_ID, IN_PHONE_ID
from tests._approvals import approved_by_card
from tests._mcp import call, say_yes
from tests.browser.test_apps_card import HOST_PAGE
from tests.conftest import ServerFactory

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
UNREACHABLE = "+919876500000"  # the sandbox's carrier rejects numbers ending in 0000
MARKUP = "<img src=x onerror=alert(1)> line busy"


async def render(browser: Browser, html: str, result: dict[str, Any], ready: str) -> tuple[Any, FrameLocator]:
    """The view in the test host, fed ``result`` as its tool result; waits until ``ready`` is shown."""
    page = await browser.new_page(viewport={"width": 480, "height": 640})
    await page.expose_function("callServerTool", lambda params: "{}")
    await page.set_content(HOST_PAGE)
    await page.evaluate("([html, result]) => window.startView(html, result)", [html, result])
    view = page.frame_locator("#view")
    await view.locator(ready).first.wait_for()
    return page, view


async def test_the_campaign_view_shows_counts_a_bar_per_state_and_failures_with_reasons_as_text(
    make_server: ServerFactory, kupe_client: KupeClient, browser: Browser, tmp_path: Path
) -> None:
    created = await kupe_client.create_batch(
        {"batch_name": "Diwali <b>reminders</b>", "caller_phone_id": IN_PHONE_ID, "agent_id": DEMO_AGENT_ID}
    )
    batch_id = str(created.id)
    numbers = ["+919876543210", "+919876543211", UNREACHABLE, "+919876543212", "+14155550199", "+919876510000"]
    await kupe_client.upsert_batch_data(batch_id, [{"to_phonenumber": n, "variable_values": {}} for n in numbers])
    await kupe_client.start_batch(batch_id)
    async with Client(make_server(), extensions=[APPS]) as mcp:
        await call(mcp, "wait_for_batch", batch_id=batch_id, timeout_s=60)
        result = await mcp.call_tool("get_batch", {"batch_id": batch_id})
        html = (await mcp.read_resource("ui://kupe/batch-progress.html")).contents[0].text  # type: ignore[union-attr]
    fed = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    rows = fed["_meta"]["kupe/batch_failures"]["rows"]
    rows[-1] = rows[-1] | {"reason": MARKUP}  # a reason that looks like markup must stay text
    page, view = await render(browser, html, fed, "#failures tr")
    title = await view.locator("#title").inner_text()
    meta = await view.locator("#meta").inner_text()
    counts = {
        await li.get_attribute("data-state"): await li.locator(".n").inner_text()
        for li in await view.locator("#counts li").all()
    }
    widths = await view.locator("#bar span").evaluate_all("spans => spans.map(s => s.style.width)")
    failures = await view.locator("#failures tr").all_inner_texts()
    injected = await view.locator("img, b").count()
    background = await view.locator("body").evaluate("b => getComputedStyle(b).backgroundColor")
    await page.screenshot(path=str(tmp_path / "apps-batch-progress.png"), full_page=True)
    assert title == "Campaign Diwali <b>reminders</b>"
    assert meta == "completed · 6 of 6 done"
    assert counts["completed"] == "4"
    assert counts["failed"] == "2"
    assert counts["not_started"] == "0"
    assert widths == ["66.67%", "33.33%"]  # completed, failed: only states with recipients get a segment
    assert [f.split("\t")[0] for f in failures] == [UNREACHABLE, "+919876510000"]
    assert failures[0] == f"{UNREACHABLE}\tfailed\tDestination unreachable: carrier rejected the number"
    assert failures[1].endswith(MARKUP)
    assert injected == 0
    assert background == "rgb(253, 251, 246)"  # the host's theme variable


async def test_the_usage_view_draws_cost_per_service_and_period_as_inline_svg_with_labels_as_text(
    make_server: ServerFactory, browser: Browser, tmp_path: Path
) -> None:
    async with Client(make_server(), extensions=[APPS], elicitation_callback=say_yes) as mcp:
        for number in ("+919876543210", "+919876543211"):
            placed = await approved_by_card(mcp, "place_call", phone_number=number, agent_id=DEMO_AGENT_ID,
                                variable_values={"name": "Ada", "appointment_date": "Friday"})  # fmt: skip
            await call(mcp, "wait_for_call", request_id=placed["request_id"], timeout_s=30)
        result = await mcp.call_tool("get_usage_summary", {"time_period": "month"})
        tools = {t.name: t for t in (await mcp.list_tools()).tools}
        html = (await mcp.read_resource("ui://kupe/usage-chart.html")).contents[0].text  # type: ignore[union-attr]
    fed = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    data = fed["structuredContent"]
    data["by_service"] = data["by_service"] | {"<b>sms</b>": 0.001}  # a service name that looks like markup
    page, view = await render(browser, html, fed, "#period-chart rect")
    service_labels = await view.locator("#service-chart text.label").all_text_contents()
    bars = await view.locator("#service-chart rect").evaluate_all("rs => rs.map(r => Number(r.getAttribute('width')))")
    columns = await view.locator("#period-chart rect").count()
    period_labels = await view.locator("#period-chart text.label").all_text_contents()
    injected = await view.locator("b").count()
    meta = await view.locator("#meta").inner_text()
    await page.screenshot(path=str(tmp_path / "apps-usage-chart.png"), full_page=True)
    services = sorted(data["by_service"], key=lambda k: -data["by_service"][k])
    assert tools["get_usage_summary"].meta == {"ui": {"resourceUri": "ui://kupe/usage-chart.html"}}
    assert service_labels == services  # biggest first, the markup-like name as text
    assert "<b>sms</b>" in service_labels
    assert injected == 0
    assert bars == sorted(bars, reverse=True)
    assert bars[0] == pytest.approx(340)  # the biggest service spans the whole bar width
    assert columns == len(data["buckets"])
    assert period_labels == [b["period"] for b in data["buckets"]]
    assert meta == f"total {data['totals']['cost_usd']:.4f} USD · {data['totals']['calls']} calls · per day"
