"""Toolset ``billing`` against the sandbox with an API key: balances, usage, cost and exports."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kupe_mcp.client import Download, ExportAck
from kupe_mcp.sandbox._seed import DEMO_BALANCE_USD
from kupe_mcp.toolsets import account, billing
from kupe_mcp.toolsets.billing import describe_export
from tests._mcp import call
from tests.toolsets.conftest import Serve, refused_before_kupe

pytestmark = pytest.mark.anyio


async def test_balance_and_wallet_work_with_an_api_key(serve: Serve) -> None:
    async with serve(account, billing) as mcp:
        balance = await call(mcp, "get_credit_balance")
        wallet = await call(mcp, "get_wallet")
    assert balance["available_balance_usd"] == pytest.approx(DEMO_BALANCE_USD)
    assert wallet["balance_usd"] == pytest.approx(DEMO_BALANCE_USD)
    assert wallet["wallet_id"]


async def test_usage_records_summary_overview_and_session_cost_agree(serve: Serve) -> None:
    async with serve(billing) as mcp:
        records = await call(mcp, "list_usage_records", page_size=5)
        matched = await call(mcp, "list_usage_records", search=records["items"][0]["request_id"])
        nothing = await call(mcp, "list_usage_records", search="no-such-call")
        summary = await call(mcp, "get_usage_summary", time_period="month")
        overview = await call(mcp, "get_usage_overview")
        session = records["items"][0]
        cost = await call(mcp, "get_session_cost", session_id=session["session_id"])
    assert records["total"] >= 1
    assert len(matched["items"]) == 1
    assert nothing["items"] == []
    assert cost["total_cost_usd"] == pytest.approx(session["total_cost_usd"])
    assert overview["total"]["cost_usd"] >= cost["total_cost_usd"]
    assert summary["totals"]["calls"] >= 1


async def test_export_call_logs_describes_the_zip_instead_of_returning_it(serve: Serve) -> None:
    async with serve(billing) as mcp:
        records = await call(mcp, "list_usage_records")
        request_id = records["items"][0]["request_id"]
        one = await call(mcp, "export_call_logs", request_id=request_id)
        bulk = await call(mcp, "export_call_logs", start_date="2020-01-01", end_date="2099-12-31")
    assert one["content_type"] == "application/zip"
    assert one["bytes"] > 0
    assert "PK" not in json.dumps(one)
    assert bulk["delivered"] == "queued or emailed"
    assert "emailed" in bulk["message"]


async def test_export_usage_reports_the_queued_email(serve: Serve) -> None:
    async with serve(billing) as mcp:
        result = await call(mcp, "export_usage", from_date="2026-01-01", to_date="2026-12-31")
    assert result["delivered"] == "queued or emailed"
    assert result["filters"]["from_date"] == "2026-01-01"


async def test_export_call_logs_needs_one_selection_and_checks_it_before_any_request(
    serve: Serve, sandbox_app: Any
) -> None:
    request_id = "6f1c1c4e-58d5-4c0e-9d6e-0a1b2c3d4e5f"
    async with serve(billing) as mcp:
        await refused_before_kupe(
            mcp,
            sandbox_app,
            ("export_call_logs", {}, "request_id"),
            ("export_call_logs", {"start_date": "2026-01-01"}, "end_date"),
            (
                "export_call_logs",
                {"request_id": request_id, "start_date": "2026-01-01", "end_date": "2026-01-31"},
                "not both",
            ),
            ("export_call_logs", {"start_date": "2026-02-01", "end_date": "2026-01-01"}, "start_date"),
            ("export_call_logs", {"start_date": "yesterday", "end_date": "2026-01-01"}, "start_date"),
            ("get_session_cost", {"session_id": "s-1"}, "session_id"),
        )


async def test_every_billing_tool_is_read_only(serve: Serve) -> None:
    async with serve(billing) as mcp:
        tools = (await mcp.list_tools()).tools
    assert len(tools) == 7  # get_credit_balance lives in account (a default toolset)
    assert all(t.annotations and t.annotations.read_only_hint and t.annotations.open_world_hint for t in tools)


def test_describe_export_never_returns_file_bytes() -> None:
    zipped = describe_export(Download(content=b"PK\x03\x04" + b"\x00" * 100)).model_dump(exclude_none=True)
    csv = describe_export(Download(content=b"session_id,cost_usd\nabc,0.5\n")).model_dump(exclude_none=True)
    binary = describe_export(Download(content=b"\xff\xfe\x00garbage")).model_dump(exclude_none=True)
    assert zipped == {
        "delivered": "file",
        "bytes": 104,
        "content_type": "application/zip",
        "note": zipped["note"],
    }
    assert csv["content_type"] == "text/csv"
    assert csv["first_line"] == "session_id,cost_usd"
    assert "abc" not in json.dumps(csv)
    assert binary["content_type"] == "application/octet-stream"
    assert "first_line" not in binary
    emailed = describe_export(Download(ack=ExportAck(message="emailed"))).model_dump(exclude_none=True)
    assert emailed == {"delivered": "queued or emailed", "message": "emailed"}
