"""Toolset ``billing``: wallet, usage and cost (read-only; API keys may only read billing).

The credit balance itself is in ``account`` (a default toolset): "how much credit do I have
left" must be answerable without opting in to billing.

Exports can answer with a file (ZIP or CSV bytes) or with a JSON note that the export
was emailed; ``describe_export`` turns either into a few facts, so binary never reaches
the model's context.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from kupe_mcp.client import Download, SessionUsage, UsageOverview, UsageSummary, Wallet
from kupe_mcp.toolsets._apps import USAGE_CHART
from kupe_mcp.toolsets._context import kupe
from kupe_mcp.toolsets._registry import Toolset
from kupe_mcp.toolsets._shape import Page, View, page_of
from kupe_mcp.toolsets._types import CallRequestId, PageSize
from kupe_mcp.toolsets._types import Page as PageNo

toolset = Toolset("billing", "Wallet, usage records and cost, exports (read-only).")

SessionId = Annotated[UUID, Field(description="Call session id: call_session_id of a call, session_id of a usage row.")]
TimeFilter = Annotated[str | None, Field(max_length=32, description="Kupe time filter; default all.")]
UsageType = Annotated[str | None, Field(max_length=64, description="Only this usage type, e.g. llm, tts, stt, call.")]
FromDate = Annotated[date | None, Field(description="First day, YYYY-MM-DD.")]
ToDate = Annotated[date | None, Field(description="Last day, YYYY-MM-DD.")]


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


class ExportOut(BaseModel):
    """What an export did: a file came back (described, never shown) or Kupe queued or emailed it."""

    delivered: str
    bytes: int | None = None
    content_type: str | None = None
    first_line: str | None = None
    message: str | None = None
    export_id: str | None = None
    filters: dict[str, Any] | None = None
    note: str | None = None


class UsageItem(View):
    session_id: str | None = None
    request_id: str | None = None
    agent_name: str | None = None
    session_type: str | None = None
    created_at: str | None = None
    duration_seconds: float | None = None
    total_cost_usd: float | None = None


def describe_export(result: Download) -> ExportOut:
    """A few facts about an export answer instead of its bytes."""
    if result.content is None:
        ack = result.ack
        return ExportOut(
            delivered="queued or emailed",
            message=ack.message if ack else None,
            export_id=ack.export_id if ack else None,
            filters=ack.filters if ack else None,
        )
    data = result.content
    if not data:
        return ExportOut(delivered="file", bytes=0, note="Kupe returned an empty file: nothing matched.")
    first_line = None
    if data[:4] == b"PK\x03\x04":
        kind = "application/zip"
    else:
        try:
            kind, first_line = "text/csv", data.decode("utf-8").splitlines()[0][:200]
        except UnicodeDecodeError:
            kind = "application/octet-stream"
    return ExportOut(
        delivered="file",
        bytes=len(data),
        content_type=kind,
        first_line=first_line or None,
        note="The file is not shown here; download it from the Kupe dashboard.",
    )


@toolset.tool(title="Get wallet", read_only=True)
async def get_wallet(ctx: Context) -> Wallet:
    """Your wallet: balance, this month's spend and spending cap (USD), wallet id."""
    return await kupe(ctx).my_wallet()


@toolset.tool(title="List usage records", read_only=True)
async def list_usage_records(
    ctx: Context,
    time_filter: TimeFilter = None,
    usage_type: UsageType = None,
    search: Annotated[str | None, Field(max_length=200, description="Text to match, e.g. a session id.")] = None,
    page: PageNo = 1,
    page_size: PageSize = 20,
) -> Page[UsageItem]:
    """Individual charges: metered usage rows (service, quantity, cost in USD) per call, a page at a time."""
    found = await kupe(ctx).billing_usage_records_filtered(
        time_filter=time_filter, usage_type=usage_type, search=search, limit=page_size, offset=(page - 1) * page_size
    )
    return page_of(UsageItem, found.sessions, page=page, page_size=page_size, total=found.total, paged=True)


@toolset.tool(title="Spending by service and period", read_only=True, view=USAGE_CHART)
async def get_usage_summary(
    ctx: Context,
    time_period: Annotated[str | None, Field(max_length=32, description="Kupe period; default all.")] = None,
) -> UsageSummary:
    """Spending broken down by service (LLM, voice, telephony) and period: aggregated usage, as the dashboard charts
    show.
    """
    return await kupe(ctx).billing_usage_summary(time_period=time_period)


@toolset.tool(title="Total spent so far", read_only=True)
async def get_usage_overview(ctx: Context) -> UsageOverview:
    """How much have I spent: total usage cost so far and this month's (USD)."""
    return await kupe(ctx).billing_usage_overview()


@toolset.tool(title="What one call cost", read_only=True)
async def get_session_cost(ctx: Context, session_id: SessionId) -> SessionUsage:
    """What one call (session) cost in USD: telephony, LLM, TTS and STT."""
    return await kupe(ctx).billing_session_usage(str(session_id))


@toolset.tool(title="Export usage", read_only=True)
async def export_usage(
    ctx: Context,
    time_filter: TimeFilter = None,
    usage_type: UsageType = None,
    from_date: FromDate = None,
    to_date: ToDate = None,
) -> ExportOut:
    """Export usage as a CSV spreadsheet; Kupe usually emails it. Returns what happened, never the file."""
    result = await kupe(ctx).export_billing_usage(
        time_filter=time_filter,
        usage_type=usage_type,
        from_date=_iso(from_date),
        to_date=_iso(to_date),
    )
    return describe_export(result)


@toolset.tool(title="Export call logs", read_only=True)
async def export_call_logs(
    ctx: Context,
    request_id: Annotated[CallRequestId | None, Field(description="One call to export (its request_id).")] = None,
    start_date: FromDate = None,
    end_date: ToDate = None,
    include_recordings: Annotated[bool, Field(description="Add call recordings to the ZIP.")] = False,
) -> ExportOut:
    """Download call logs (and recordings) as a ZIP: one call (request_id) or a date range, often by email.

    Returns what happened, never the file.
    """
    if request_id is not None and (start_date or end_date):
        raise ToolError("Pass request_id or a date range, not both: request_id exports one call.")
    if request_id is None and (start_date is None or end_date is None):
        raise ToolError("Pass request_id, or both start_date and end_date (YYYY-MM-DD).")
    if start_date and end_date and start_date > end_date:
        raise ToolError("start_date must not be after end_date.")
    result = await kupe(ctx).export_call_analytics(
        request_id=str(request_id) if request_id else None,
        start_date=_iso(start_date),
        end_date=_iso(end_date),
        include_recordings=include_recordings,
    )
    return describe_export(result)
