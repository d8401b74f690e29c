"""The campaign and usage MCP Apps views, through a real MCP client on both protocol generations: which tools link
to them, and that what only the view needs (failed recipients with reasons) rides in the result's ``_meta`` for an
Apps host while the model-facing result stays byte for byte what every other client gets.
"""

from __future__ import annotations

from typing import Any

import pytest
from mcp.client import Client
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

from kupe_mcp.client import KupeClient
from kupe_mcp.sandbox._seed import DEMO_AGENT_ID, IN_PHONE_ID
from tests._approvals import text_of
from tests.conftest import ServerFactory

pytestmark = pytest.mark.anyio

BATCH_VIEW = "ui://kupe/batch-progress.html"
USAGE_VIEW = "ui://kupe/usage-chart.html"
UNREACHABLE = "+919876500000"  # the sandbox's carrier rejects numbers ending in 0000


async def started_batch(kupe: KupeClient, numbers: list[str]) -> str:
    """A campaign started directly on the sandbox (the approval flow is tested elsewhere)."""
    created = await kupe.create_batch(
        {"batch_name": "Views test", "caller_phone_id": IN_PHONE_ID, "agent_id": DEMO_AGENT_ID, "batch_size": 5}
    )
    batch_id = str(created.id)
    await kupe.upsert_batch_data(batch_id, [{"to_phonenumber": n, "variable_values": {}} for n in numbers])
    await kupe.start_batch(batch_id)
    return batch_id


async def test_the_batch_and_usage_tools_link_to_their_views(make_server: ServerFactory, client_mode: str) -> None:
    async with Client(make_server(), mode=client_mode) as mcp:
        tools = {t.name: t for t in (await mcp.list_tools()).tools}
        listed = {str(r.uri): r for r in (await mcp.list_resources()).resources}
    assert tools["wait_for_batch"].meta == {"ui": {"resourceUri": BATCH_VIEW}}
    assert tools["get_batch"].meta == {"ui": {"resourceUri": BATCH_VIEW}}
    assert tools["get_usage_summary"].meta == {"ui": {"resourceUri": USAGE_VIEW}}
    assert listed[BATCH_VIEW].mime_type == APP_MIME_TYPE
    assert listed[USAGE_VIEW].mime_type == APP_MIME_TYPE


@pytest.mark.parametrize("tool", ["wait_for_batch", "get_batch"])
async def test_an_apps_host_gets_the_failed_recipients_in_meta_and_the_model_sees_the_same_result(
    make_server: ServerFactory, kupe_client: KupeClient, client_mode: str, tool: str
) -> None:
    batch_id = await started_batch(kupe_client, ["+919876543210", UNREACHABLE, "+919876543211"])
    args: dict[str, Any] = {"batch_id": batch_id} | ({"timeout_s": 30} if tool == "wait_for_batch" else {})
    server = make_server()
    apps = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
    async with Client(server, mode=client_mode, extensions=[apps]) as mcp:
        shown = await mcp.call_tool(tool, args)
    async with Client(server, mode=client_mode) as mcp:
        plain = await mcp.call_tool(tool, args)
    failures = (shown.meta or {})["kupe/batch_failures"]
    assert failures["rows"] == [
        {
            "phone_number": UNREACHABLE,
            "status": "failed",
            "reason": "Destination unreachable: carrier rejected the number",
        }
    ]
    assert "kupe/batch_failures" not in (plain.meta or {})
    assert text_of(shown) == text_of(plain)
    assert shown.structured_content == plain.structured_content
    assert UNREACHABLE not in text_of(shown)


async def test_a_batch_without_failures_costs_the_apps_host_no_extra_kupe_request(
    make_server: ServerFactory, kupe_client: KupeClient, sandbox_app: Any, client_mode: str
) -> None:
    batch_id = await started_batch(kupe_client, ["+919876543210"])
    apps = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
    log = sandbox_app.state.sandbox.request_log
    async with Client(make_server(), mode=client_mode, extensions=[apps]) as mcp:
        before = len(log)
        shown = await mcp.call_tool("get_batch", {"batch_id": batch_id})
        after = len(log)
    assert (shown.meta or {})["kupe/batch_failures"] == {"rows": [], "shown_per_state": 20}
    assert after - before == 2  # the batch and its status; no recipients list
