"""Toolset ``campaigns``: outbound batch calls (create a batch, add recipients, launch, follow progress).

A batch rings every recipient once it is started, so ``start_batch`` is the one tool
here that spends credits; everything before it only prepares the list.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Resolve
from pydantic import BaseModel, Field

from kupe_mcp.client import KupeModel
from kupe_mcp.files import read_upload
from kupe_mcp.toolsets._context import guards_of, kupe, refuse_server_disk, server_of, settings_of
from kupe_mcp.toolsets._registry import Toolset
from kupe_mcp.toolsets._safety import (
    ConfirmationToken,
    ConfirmCall,
    DryRun,
    RecipientRow,
    ask_to_start_batch,
    gate_batch,
    recipients_from_csv,
    screen_recipients,
)
from kupe_mcp.toolsets._shape import PageOut, items_of, local_page
from kupe_mcp.toolsets._types import AgentId, Page, PageSize, PhoneNumberId, WorkflowId
from kupe_mcp.toolsets._wait import is_final, poll_until, status_words

toolset = Toolset("campaigns", "Batch call campaigns: create, add recipients, launch, follow progress.")

BatchId = Annotated[UUID, Field(description="Batch id, from create_batch or list_batches.")]
RecipientStatus = Literal["not_started", "calling", "completed", "failed", "no_answer"]
BatchState = Literal["not_started", "in_progress", "completed"]
VariableValue = str | int | float | bool


class Recipient(BaseModel):
    """One person to call in a batch."""

    phone_number: str = Field(min_length=3, max_length=32, description="Number, e.g. +919876543210.")
    variables: dict[str, VariableValue] | None = Field(
        default=None, description="Values for the batch's variable_names, e.g. {name: Ada}."
    )


def recipient_row(index: int, recipient: Recipient) -> RecipientRow:
    """A tool argument row (1-based ``index``) as the recipient screen sees it (the single place rows are parsed)."""
    return RecipientRow(index, recipient.phone_number, dict(recipient.variables or {}))


def _json(value: Any) -> Any:
    """A Kupe answer as plain JSON data, unwrapping the ``{"success", "data": {...}}`` envelope."""
    if isinstance(value, KupeModel):
        value = value.to_json()
    if isinstance(value, dict) and isinstance(value.get("data"), dict):
        return value["data"]
    return value


def _data_dict(value: Any) -> dict[str, Any]:
    """A Kupe answer as a dict, envelope unwrapped (campaign routes wrap theirs in ``data``)."""
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
    return _data_dict(await kupe(ctx).create_batch(body))


@toolset.tool(title="Add batch recipients", read_only=False, destructive=False, idempotent=False)
async def add_batch_recipients(
    ctx: Context,
    batch_id: BatchId,
    recipients: Annotated[
        list[Recipient] | None, Field(min_length=1, max_length=500, description="People to call.")
    ] = None,
    csv_path: Annotated[
        str | None,
        Field(max_length=1000, description="Or a CSV under the upload roots: to_phonenumber + a column per variable."),
    ] = None,
) -> dict[str, Any]:
    """Add people to a batch that has not started: phone number plus values for its variables. Rings nobody.

    Every number is checked first; rows that may not be called come back in rejected, with the reason.
    """
    if (recipients is None) == (csv_path is None):
        raise ToolError("Pass exactly one of recipients or csv_path.")
    if csv_path is not None:
        refuse_server_disk(ctx, "csv_path", "pass the rows as recipients instead")
        settings = settings_of(ctx)
        name, data = read_upload(csv_path, settings.upload_roots, int(settings.max_upload_mb * 1_000_000))
        rows = recipients_from_csv(name, data)
    else:
        rows = [recipient_row(i, r) for i, r in enumerate(recipients or [], start=1)]
    accepted, rejected = screen_recipients(guards_of(ctx), rows, batch_id=str(batch_id))
    result = await kupe(ctx).upsert_batch_data(str(batch_id), accepted)
    return {"batch_id": str(batch_id), "submitted": len(accepted), "rejected": rejected, **_data_dict(result)}


@toolset.tool(title="Get batch", read_only=True)
async def get_batch(ctx: Context, batch_id: BatchId) -> dict[str, Any]:
    """Get a campaign's settings, state and how many recipients are not_started, calling, completed or failed."""
    client = kupe(ctx)
    meta = _data_dict(await client.get_batch(str(batch_id)))
    status = _data_dict(await client.get_batch_status(str(batch_id)))
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
async def start_batch(
    ctx: Context,
    batch_id: BatchId,
    dry_run: DryRun = False,
    confirmation_token: ConfirmationToken = None,
    *,
    confirmation: Annotated[ElicitationResult[ConfirmCall], Resolve(ask_to_start_batch)],
) -> dict[str, Any]:
    """LAUNCHES THE CAMPAIGN: starts real phone calls to EVERY recipient and spends credits; cannot be undone.

    Every number is checked and the user confirms first. A result with confirmation_token: show its preview;
    only after their yes, call again with it. Then wait_for_batch.
    """
    bid = str(batch_id)
    gate = await gate_batch(ctx, batch_id, dry_run=dry_run, token=confirmation_token, confirmation=confirmation)
    if gate.answer is not None:
        return {"batch_id": bid, **gate.answer}
    try:
        result = _data_dict(await kupe(ctx).start_batch(bid))
    except Exception as exc:
        gate.failed(exc)
        raise
    gate.placed(f"batch {bid}")
    return {"batch_id": bid, "started": True, **result}


_ROW_FINAL = ("completed", "failed", "no_answer")


def _counts(status: dict[str, Any]) -> dict[str, int]:
    raw = status.get("status_counts")
    counts = {k: v for k, v in raw.items() if isinstance(v, int)} if isinstance(raw, dict) else {}
    counts.setdefault("total", sum(v for k, v in counts.items() if k != "total"))
    return counts


def _batch_state(status: dict[str, Any]) -> str:
    batch = status.get("batch")
    return str(batch.get("status") or "") if isinstance(batch, dict) else ""


def _batch_done(status: dict[str, Any]) -> bool:
    state, counts = _batch_state(status), _counts(status)
    if is_final(state):
        return True
    finished = sum(counts.get(k, 0) for k in _ROW_FINAL)
    return state not in ("", "not_started") and counts["total"] > 0 and finished >= counts["total"]


def _batch_words(status: dict[str, Any]) -> str:
    """``in progress: 12/40 done, 3 failed, 1 no answer, 5 calling``."""
    counts = _counts(status)
    finished = sum(counts.get(k, 0) for k in _ROW_FINAL)
    parts = [f"{finished}/{counts['total']} done"]
    parts += [f"{counts[k]} {k.replace('_', ' ')}" for k in ("failed", "no_answer", "calling") if counts.get(k)]
    return f"{status_words(_batch_state(status))}: {', '.join(parts)}"


@toolset.tool(title="Wait for batch", read_only=True)
async def wait_for_batch(
    ctx: Context,
    batch_id: BatchId,
    timeout_s: Annotated[int, Field(ge=5, le=3600, description="Most seconds to wait.")] = 600,
) -> dict[str, Any]:
    """Follow a started campaign until every call has ended, reporting progress; returns the final counts.

    done=false means it is still running: call again to keep waiting.
    """
    client, bid = kupe(ctx), str(batch_id)

    async def read() -> dict[str, Any]:
        return _data_dict(await client.get_batch_status(bid))

    outcome = await poll_until(
        ctx,
        server_of(ctx).pacing,
        timeout_s=timeout_s,
        read=read,
        done=_batch_done,
        describe=lambda status, _elapsed: _batch_words(status),
    )
    status = outcome.last
    result: dict[str, Any] = {
        "batch_id": bid,
        "done": outcome.done,
        "status": _batch_state(status) or None,
        "progress": _batch_words(status),
        "status_counts": _counts(status),
        "waited_s": outcome.waited_s,
    }
    if outcome.done:
        result["next"] = f"list_batch_recipients(batch_id={bid}, status=failed) shows who was not reached."
    elif _batch_state(status) == "not_started":
        result["next"] = "The batch has not been started: start_batch launches it (after the user confirms)."
    else:
        result["next"] = f"Still running after {outcome.waited_s:g}s: call wait_for_batch(batch_id={bid}) again."
    return result
