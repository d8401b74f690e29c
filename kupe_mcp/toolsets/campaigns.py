"""Toolset ``campaigns``: outbound batch calls (create a batch, add recipients, launch, follow progress).

A batch rings every recipient once it is started, so ``start_batch`` is the one tool
here that spends credits; everything before it only prepares the list.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from mcp.server.apps import client_supports_apps
from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Resolve
from pydantic import BaseModel, Field

from kupe_mcp.client import Batch, BatchStatus, BatchStatusCounts
from kupe_mcp.errors import CallRefused, KupeError
from kupe_mcp.safety.agent import placeholders_of
from kupe_mcp.safety.ask import ConfirmCall, ask_to_start_batch, not_asked
from kupe_mcp.safety.channels import RESULT_META, dialler
from kupe_mcp.safety.gate import decide
from kupe_mcp.safety.idempotency import RETRY_LOST, IdempotencyKey, Prior, idempotent
from kupe_mcp.safety.outcomes import Answer, BatchOutcome, Started, batch_outcome
from kupe_mcp.safety.recipients import RecipientRow, recipients_from_csv, screen_recipients
from kupe_mcp.safety.subjects import Subject, batch_subject
from kupe_mcp.safety.variables import check_variable_names, missing_values
from kupe_mcp.toolsets._apps import APPROVAL_CARD, BATCH_PROGRESS
from kupe_mcp.toolsets._context import guards_of, kupe, refuse_server_disk, server_of, settings_of
from kupe_mcp.toolsets._files import read_upload
from kupe_mcp.toolsets._registry import Toolset
from kupe_mcp.toolsets._shape import Page, View, page_of
from kupe_mcp.toolsets._types import AgentId, ConfirmationToken, DryRun, PageSize, PhoneNumberId, WorkflowId
from kupe_mcp.toolsets._types import Page as PageNo
from kupe_mcp.toolsets._wait import is_final, poll_until, status_words

toolset = Toolset("campaigns", "Batch call campaigns: create, add recipients, launch, follow progress.")

BatchId = Annotated[UUID, Field(description="From list_batches or create_batch.")]
RecipientStatus = Literal["not_started", "calling", "completed", "failed", "no_answer"]
BatchState = Literal["not_started", "in_progress", "completed"]
VariableValue = str | int | float | bool


class Recipient(BaseModel):
    # One person to call. No docstring on purpose: pydantic would copy it into the tool's schema.

    phone_number: str = Field(min_length=3, max_length=32, description="Number, e.g. +919876543210.")
    variables: dict[str, VariableValue] | None = Field(
        default=None, description="Values for the batch's variable_names, e.g. {name: Ada}."
    )


class RecipientsAdded(BaseModel):
    """What adding recipients did: counts, and only the rows that were refused (with the reason)."""

    batch_id: str
    submitted: int
    inserted: int | None = None
    updated: int | None = None
    failed: int | None = None
    rejected: list[dict[str, Any]]
    errors: list[Any] | None = None
    next: str | None = None


class BatchOut(BaseModel):
    """A campaign's settings and state, and how many recipients are in each call state."""

    batch: Batch
    status_counts: BatchStatusCounts | None = None


class BatchItem(View):
    id: str | None = None
    batch_name: str | None = None
    status: str | None = None
    agent_id: str | None = None
    created_at: str | None = None


class RecipientItem(View):
    id: str | None = None
    to_phonenumber: str | None = None
    variable_values: dict[str, Any] | None = None
    status: str | None = None
    error_message: str | None = None


class BatchWait(BaseModel):
    """Where a followed campaign stands."""

    batch_id: str
    done: bool
    status: str | None = None
    progress: str
    status_counts: dict[str, int]
    waited_s: float
    next: str | None = None


def recipient_row(index: int, recipient: Recipient) -> RecipientRow:
    """A tool argument row (1-based ``index``) as the recipient screen sees it (the single place rows are parsed)."""
    return RecipientRow(index, recipient.phone_number, dict(recipient.variables or {}))


def _status(status: BatchStatus) -> dict[str, Any]:
    """``data`` of a batch status answer (batch metadata and counts) as JSON."""
    return status.data.to_json() if status.data else {}


FAILURES_META_KEY = "kupe/batch_failures"
FAILURES_SHOWN = 20  # per state: the view lists a sample; list_batch_recipients pages through the rest


async def _failures_for_view(ctx: Context, batch_id: str, counts: dict[str, int]) -> None:
    """For an MCP Apps host only: the failed and unanswered recipients with reasons, in the result's ``_meta``.

    The campaign view lists them; the model-facing result stays exactly as it is for every client.
    A failed read leaves the view with counts only: the tool's own answer does not depend on it.
    """
    holder = RESULT_META.get()
    if holder is None or not client_supports_apps(ctx):
        return
    rows: list[dict[str, Any]] = []
    for state in ("failed", "no_answer"):
        if not counts.get(state):
            continue
        try:
            found = await kupe(ctx).list_batch_data(batch_id, status=state)
        except KupeError:
            return
        rows += [
            {
                "phone_number": r.to_phonenumber,
                "status": r.status or state,
                "reason": r.error_message or ("no answer" if state == "no_answer" else None),
            }
            for r in found[:FAILURES_SHOWN]
        ]
    holder[FAILURES_META_KEY] = {"rows": rows, "shown_per_state": FAILURES_SHOWN}


@toolset.tool(title="Create a campaign", read_only=False, destructive=False, idempotent=False)
async def create_batch(
    ctx: Context,
    name: Annotated[str, Field(min_length=1, max_length=200, description="Campaign name.")],
    phone_number_id: Annotated[PhoneNumberId, Field(description="Line that calls out (list_phone_numbers).")],
    agent_id: AgentId | None = None,
    workflow_id: WorkflowId | None = None,
    variable_names: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=64)]] | None,
        Field(max_length=50, description="{{var}} names the agent prompt uses, e.g. [name, company_name]."),
    ] = None,
    batch_size: Annotated[int, Field(ge=1, le=100, description="Max calls dialled at once.")] = 1,
    description: Annotated[str | None, Field(max_length=2000, description="Internal description.")] = None,
) -> Batch:
    """Set up (prepare) a new campaign: a call list for one agent or workflow. Calls nobody yet.

    Next: add_batch_recipients, then start_batch to ring them.
    """
    if (agent_id is None) == (workflow_id is None):
        raise ToolError("Pass exactly one of agent_id or workflow_id: the batch is run by an agent or a workflow.")
    if agent_id is not None:  # every {{placeholder}} of the agent's prompt must be a batch variable
        expected = await placeholders_of(ctx, agent_id)
        check_variable_names(expected, variable_names, what=f"create batch {name[:60]!r}")
    body: dict[str, Any] = {"batch_name": name, "caller_phone_id": str(phone_number_id), "batch_size": batch_size}
    if agent_id is not None:
        body["agent_id"] = str(agent_id)
    if workflow_id is not None:
        body["workflow_id"] = str(workflow_id)
    if variable_names:
        body["variable_names"] = variable_names
    if description is not None:
        body["description"] = description
    return await kupe(ctx).create_batch(body)


async def _rows_with_values(
    ctx: Context, batch_id: str, rows: list[RecipientRow]
) -> tuple[list[RecipientRow], list[dict[str, Any]]]:
    """The rows that fill every placeholder of the batch agent's prompt, and the others as rejections.

    Raises CallRefused when no row is left, so nothing is sent.
    """
    batch = await kupe(ctx).get_batch(batch_id)
    expected = await placeholders_of(ctx, batch.agent_id)
    kept, unfilled = [], []
    for row in rows:
        why = missing_values(expected, row.variables)
        if why is None:
            kept.append(row)
        else:
            unfilled.append({"row": row.row, "phone_number": row.phone_number, "reason": why})
    if rows and not kept:
        raise CallRefused(
            f"Refused to add recipients to batch {batch_id}: none of the {len(rows)} rows has a value for every "
            f"placeholder the agent's prompt uses ({', '.join(expected)}); add those values and try again."
        )
    return kept, unfilled


@toolset.tool(title="Add people to a campaign", read_only=False, destructive=False, idempotent=False)
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
) -> RecipientsAdded:
    """Add people or target numbers (rows or a CSV) to a campaign's call list, with values for its variables. Rings
    nobody.

    Numbers are checked first; refused rows come back in rejected, with reasons.
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
    # Numbers first (no Kupe request is spent on a list nobody may call), then the prompt's variables.
    accepted, rejected = screen_recipients(guards_of(ctx), rows, batch_id=str(batch_id))
    refused = {int(r["row"]) for r in rejected}
    numbered = [r for r in rows if r.row not in refused]
    kept, unfilled = await _rows_with_values(ctx, str(batch_id), numbered)
    keep = {r.row for r in kept}
    accepted = [item for row, item in zip(numbered, accepted, strict=True) if row.row in keep]
    rejected = sorted(unfilled + rejected, key=lambda r: int(r["row"]))
    written = await kupe(ctx).upsert_batch_data(str(batch_id), accepted)
    # Counts and refused rows only: echoing every saved row floods the context (list_batch_recipients has them).
    return RecipientsAdded(
        batch_id=str(batch_id),
        submitted=len(accepted),
        inserted=written.inserted,
        updated=written.updated,
        failed=written.failed,
        rejected=rejected,
        errors=written.errors or None,
        next=f"list_batch_recipients(batch_id={batch_id}) shows the saved rows.",
    )


@toolset.tool(title="Campaign progress", read_only=True, view=BATCH_PROGRESS)
async def get_batch(ctx: Context, batch_id: BatchId) -> BatchOut:
    """Show how a campaign is doing: its settings, state and how many people are waiting, being called, done or
    failed.
    """
    client = kupe(ctx)
    meta = (await client.get_batch(str(batch_id))).to_json()
    status = _status(await client.get_batch_status(str(batch_id)))
    counts = status.get("status_counts")
    await _failures_for_view(ctx, str(batch_id), _counts(status))
    return BatchOut(
        batch=Batch.model_validate(meta.get("batch", meta)),
        status_counts=BatchStatusCounts.model_validate(counts) if isinstance(counts, dict) else None,
    )


@toolset.tool(title="List batch recipients", read_only=True)
async def list_batch_recipients(
    ctx: Context,
    batch_id: BatchId,
    status: Annotated[RecipientStatus | None, Field(description="Only recipients in this call state.")] = None,
    page: PageNo = 1,
    page_size: PageSize = 25,
) -> Page[RecipientItem]:
    """Who (which target numbers) is on a campaign's list and each one's call status or error: e.g. who did not
    answer.
    """
    rows = await kupe(ctx).list_batch_data(str(batch_id), status=status)
    return page_of(RecipientItem, rows, page=page, page_size=page_size)


@toolset.tool(title="List my campaigns (batches)", read_only=True)
async def list_batches(
    ctx: Context,
    page: PageNo = 1,
    page_size: PageSize = 20,
    status: Annotated[BatchState | None, Field(description="Only batches in this state.")] = None,
) -> Page[BatchItem]:
    """All my campaigns (batches), newest first: id, name, state, size. Gives the batch_id."""
    rows = sorted(await kupe(ctx).list_my_batches(), key=lambda b: b.created_at or "", reverse=True)
    if status is not None:
        rows = [b for b in rows if b.status == status]
    return page_of(BatchItem, rows, page=page, page_size=page_size)


@toolset.tool(
    title="Launch a campaign (rings everyone)", read_only=False, destructive=True, idempotent=False, view=APPROVAL_CARD
)
async def start_batch(
    ctx: Context,
    batch_id: BatchId,
    dry_run: DryRun = False,
    confirmation_token: ConfirmationToken = None,
    idempotency_key: IdempotencyKey = None,
    *,
    subject: Annotated[Subject | None, Resolve(batch_subject)],
    confirmation: Annotated[ElicitationResult[ConfirmCall], Resolve(ask_to_start_batch)],
) -> BatchOutcome:
    """⚠️ Launch (kick off) a campaign now: phones EVERYONE on its list and spends credits; cannot be undone.

    Every number is checked and the user approves first. A result with approval_url: ask them to open it, then
    wait_for_approval. Then wait_for_batch.
    """
    bid = str(batch_id)
    key = None if dry_run else idempotency_key  # a dry run dials nothing: it neither uses nor spends a key
    async with idempotent(ctx, "start_batch", key, {"batch_id": bid}) as once:
        if once.prior is not None:
            return batch_outcome(once.prior, bid)
        if subject is None:
            raise ToolError(RETRY_LOST)
        outcome = await _start(ctx, subject, confirmation, dry_run, confirmation_token, bid)
        once.keep(outcome)
    return batch_outcome(outcome, bid)


@dialler("start_batch")
async def _start_approved_batch(ctx: Context, arguments: dict[str, Any]) -> BatchOutcome:
    """wait_for_approval's way to start an approved batch: the same subject, gate and request as start_batch."""
    bid = str(arguments["batch_id"])
    subject = await batch_subject(ctx, UUID(bid), Prior())
    assert subject is not None  # Prior() has no outcome: the subject is always built
    outcome = await _start(ctx, subject, not_asked(), False, None, bid, redeem=True)
    return batch_outcome(outcome, bid)


async def _start(
    ctx: Context,
    subject: Subject,
    confirmation: ElicitationResult[ConfirmCall],
    dry_run: bool,
    confirmation_token: str | None,
    bid: str,
    *,
    redeem: bool = False,
) -> Answer | Started:
    """start_batch once the key (if any) is held: the gate, then the one request that starts it.

    Only Kupe's ``message`` is read from its acknowledgement (the whole of it is kept under ``kupe``): an odd
    payload never turns a started batch into a failure.
    """
    gate = await decide(
        ctx, subject, dry_run=dry_run, token=confirmation_token, confirmation=confirmation, redeem=redeem
    )
    if gate.answer is not None:
        return gate.answer
    async with gate.reserve() as held:
        ack = await kupe(ctx).start_batch(bid)
        held.ref = f"batch {bid}"
    return Started(batch_id=bid, message=ack.message, kupe=ack.to_json())


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


@toolset.tool(title="Wait for batch", read_only=True, view=BATCH_PROGRESS)
async def wait_for_batch(
    ctx: Context,
    batch_id: BatchId,
    timeout_s: Annotated[int, Field(ge=5, le=3600, description="Most seconds to wait.")] = 600,
) -> BatchWait:
    """Wait until a started campaign has finished calling everyone, with progress; then tells the final counts.

    done=false means it is still running: call again to keep waiting.
    """
    client, bid = kupe(ctx), str(batch_id)

    async def read() -> dict[str, Any]:
        return _status(await client.get_batch_status(bid))

    outcome = await poll_until(
        ctx,
        server_of(ctx).pacing,
        timeout_s=timeout_s,
        read=read,
        done=_batch_done,
        describe=lambda status, _elapsed: _batch_words(status),
    )
    status = outcome.last
    await _failures_for_view(ctx, bid, _counts(status))
    if outcome.done:
        hint = f"list_batch_recipients(batch_id={bid}, status=failed) shows who was not reached."
    elif _batch_state(status) == "not_started":
        hint = "The batch has not been started: start_batch launches it (after the user confirms)."
    else:
        hint = f"Still running after {outcome.waited_s:g}s: call wait_for_batch(batch_id={bid}) again."
    return BatchWait(
        batch_id=bid,
        done=outcome.done,
        status=_batch_state(status) or None,
        progress=_batch_words(status),
        status_counts=_counts(status),
        waited_s=outcome.waited_s,
        next=hint,
    )
