"""Approvals on a shared state store (``KUPE_STATE_URL``): one replica asks, another serves the page, one dial.

Two kupe-app-mcp servers share one SQLite state file (as replicas share Redis); the person answers on replica B's
approval page, replica A's ``wait_for_approval`` dials, and a concurrent redeem on both dials once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client import Client

from kupe_mcp._loopback import LoopbackServer
from kupe_mcp.config import Settings
from kupe_mcp.safety.approvals import StateApprovals
from kupe_mcp.safety.state import open_store
from kupe_mcp.serve.server import create_server
from kupe_mcp.serve.transports import http_app
from tests._approvals import answer_page
from tests._mcp import call
from tests._safety import ADA_CALL
from tests.conftest import make_kupe

pytestmark = pytest.mark.anyio

CREATE_CALL = ("POST", "/api/call/create_call")


async def test_an_approval_asked_on_one_replica_is_answered_on_another_and_dials_once(
    sandbox_app: Any, client_mode: str, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'state.sqlite3'}"
    config = Settings(toolsets=("calls",), calling_hours="off", approval_proof="client")  # a page POST approves
    a = create_server(config, make_kupe(sandbox_app), state=open_store(url, secret_set=False))
    b = create_server(config, make_kupe(sandbox_app), state=open_store(url, secret_set=False))
    assert isinstance(a.runtime.approvals.store, StateApprovals)
    try:
        with LoopbackServer(http_app(b, config, host="127.0.0.1", multi_tenant=False)) as page_b:
            async with Client(a, mode=client_mode) as on_a, Client(b, mode=client_mode) as on_b:
                out = await call(on_a, "place_call", **ADA_CALL)
                again_b = await call(on_b, "place_call", **ADA_CALL)  # replica B knows the same pending approval
                await answer_page(f"{page_b.base_url}/approvals/{out['approval_id']}", "approve")
                results: list[Any] = []

                async def wait(mcp: Client) -> None:
                    args = {"approval_id": out["approval_id"], "timeout_s": 5}
                    results.append(await mcp.call_tool("wait_for_approval", args))

                async with anyio.create_task_group() as tg:
                    tg.start_soon(wait, on_a)
                    tg.start_soon(wait, on_b)
    finally:
        a.runtime.approvals.close()
        b.runtime.approvals.close()
    assert again_b["approval_id"] == out["approval_id"]
    # The replica that lost the race answers without a dial result (null, so left out of structuredContent).
    dialled = [((r.structured_content or {}).get("result") or {}) for r in results if not r.is_error]
    placed = [d for d in dialled if d.get("placed") is True]
    assert len(results) == 2
    assert len(placed) == 1  # whichever replica lost the race dialled nothing (it refused, or asked afresh)
    assert list(sandbox_app.state.sandbox.request_log).count(CREATE_CALL) == 1
