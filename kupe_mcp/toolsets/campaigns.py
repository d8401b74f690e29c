"""Toolset ``campaigns``: outbound batch calls (create a batch, add recipients, launch, follow progress).

A batch rings every recipient once it is started, so ``start_batch`` is the one tool
here that spends credits; everything before it only prepares the list.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from kupe_mcp.client import KupeModel
from kupe_mcp.toolsets._context import kupe
from kupe_mcp.toolsets._registry import Toolset
from kupe_mcp.toolsets._shape import PageOut, items_of, local_page
from kupe_mcp.toolsets._types import AgentId, Page, PageSize, PhoneNumberId, WorkflowId

toolset = Toolset("campaigns", "Batch call campaigns: create, add recipients, launch, follow progress.")

BatchId = Annotated[UUID, Field(description="Batch id, from create_batch or list_batches.")]
RecipientStatus = Literal["not_started", "calling", "completed", "failed", "no_answer"]
BatchState = Literal["not_started", "in_progress", "completed"]
VariableValue = str | int | float | bool


class Recipient(BaseModel):
    """One person to call in a batch."""

    phone_number: str = Field(min_length=3, max_length=32, description="E.164 number, e.g. +919876543210.")
    variables: dict[str, VariableValue] | None = Field(
        default=None, description="Values for the batch's variable_names, e.g. {name: Ada}."
    )


def recipient_row(recipient: Recipient) -> dict[str, Any]:
    """One Kupe ``BatchDataUpsertItem`` from a tool argument row (the single place rows are parsed)."""
    return {"to_phonenumber": recipient.phone_number.strip(), "variable_values": dict(recipient.variables or {})}


def _json(value: Any) -> Any:
    """A Kupe answer as plain JSON data, unwrapping the ``{"success", "data": {...}}`` envelope."""
    if isinstance(value, KupeModel):
        value = value.to_json()
    if isinstance(value, dict) and isinstance(value.get("data"), dict):
        return value["data"]
    return value


def _dict(value: Any) -> dict[str, Any]:
    data = _json(value)
    return data if isinstance(data, dict) else {"result": data}


@toolset.tool(title="Create batch", read_only=False, destructive=False, idempotent=False)
async def create_batch(
    ctx: Context,
    name: Annotated[str, Field(min_length=1, max_length=200, description="Campaign name.")],
    caller_phone_id: PhoneNumberId,
    agent_id: AgentId | None = None,
    workflow_id: WorkflowId | None = None,
    variable_names: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=64)]] | None,
        Field(max_length=50, description="{{var}} names the agent prompt uses, e.g. [name, company_name]."),
    ] = None,
    batch_size: Annotated[int, Field(ge=1, le=100, description="Max calls dialled at once.")] = 1,
    description: Annotated[str | None, Field(max_length=2000, description="Internal description.")] = None,
) -> dict[str, Any]:
    """Create an empty campaign run by one agent or workflow (exactly one). Rings nobody yet.

    Next: add_batch_recipients, then start_batch.
    """
    if (agent_id is None) == (workflow_id is None):
        raise ToolError("Pass exactly one of agent_id or workflow_id: the batch is run by an agent or a workflow.")
    body: dict[str, Any] = {"batch_name": name, "caller_phone_id": str(caller_phone_id), "batch_size": batch_size}
    if agent_id is not None:
        body["agent_id"] = str(agent_id)
    if workflow_id is not None:
        body["workflow_id"] = str(workflow_id)
    if variable_names:
        body["variable_names"] = variable_names
    if description is not None:
        body["description"] = description
    return _dict(await kupe(ctx).create_batch(body))


@toolset.tool(title="Add batch recipients", read_only=False, destructive=False, idempotent=False)
async def add_batch_recipients(
    ctx: Context,
    batch_id: BatchId,
    recipients: Annotated[list[Recipient], Field(min_length=1, max_length=500, description="People to call.")],
) -> dict[str, Any]:
    """Add people to a batch that has not started: phone number plus values for its variables. Rings nobody."""
    rows = [recipient_row(r) for r in recipients]
    result = await kupe(ctx).upsert_batch_data(str(batch_id), rows)
    return {"batch_id": str(batch_id), "submitted": len(rows), **_dict(result)}


@toolset.tool(title="Get batch", read_only=True)
async def get_batch(ctx: Context, batch_id: BatchId) -> dict[str, Any]:
    """Get a campaign's settings, state and how many recipients are not_started, calling, completed or failed."""
    client = kupe(ctx)
    meta = _dict(await client.get_batch(str(batch_id)))
    status = _dict(await client.get_batch_status(str(batch_id)))
    return {"batch": meta.get("batch", meta), "status_counts": status.get("status_counts")}


@toolset.tool(title="List batch recipients", read_only=True)
async def list_batch_recipients(
    ctx: Context,
    batch_id: BatchId,
    status: Annotated[RecipientStatus | None, Field(description="Only recipients in this call state.")] = None,
    page: Page = 1,
    page_size: PageSize = 50,
) -> PageOut:
    """List a batch's recipients with their call status and error, a page at a time."""
    payload = _json(await kupe(ctx).list_batch_data(str(batch_id), status=status))
    rows = [r.to_json() if isinstance(r, KupeModel) else r for r in items_of(payload)]
    return local_page(rows, page=page, page_size=page_size)


@toolset.tool(title="List batches", read_only=True)
async def list_batches(
    ctx: Context,
    page: Page = 1,
    page_size: PageSize = 20,
    status: Annotated[BatchState | None, Field(description="Only batches in this state.")] = None,
) -> PageOut:
    """List your batch campaigns (id, name, state, size), newest first. Use it to find a batch_id."""
    rows = items_of(_json(await kupe(ctx).list_my_batches()))
    rows.sort(key=lambda r: str(r.get("created_at") or "") if isinstance(r, dict) else "", reverse=True)
    if status is not None:
        rows = [r for r in rows if isinstance(r, dict) and r.get("status") == status]
    return local_page(rows, page=page, page_size=page_size)


@toolset.tool(title="Start batch (rings everyone)", read_only=False, destructive=True, idempotent=False)
async def start_batch(ctx: Context, batch_id: BatchId) -> dict[str, Any]:
    """LAUNCHES THE CAMPAIGN: starts real phone calls to EVERY recipient and spends credits; cannot be undone.

    Only after the user explicitly confirms; check get_batch first.
    """
    return {"batch_id": str(batch_id), **_dict(await kupe(ctx).start_batch(str(batch_id)))}
