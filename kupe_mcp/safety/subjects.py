"""What an approval is about: one subject type for a call or a batch (what will be dialled, its digest).

A ``Subject`` is built by a resolver (``call_subject`` / ``batch_subject``) once per request,
shared by the confirmation resolver and the tool body (the SDK runs a resolver once per call),
and rebuilt from Kupe and the state store immediately before dialling (``refresh``): the gate
dials only when the fresh subject's digest equals the one the person approved.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Annotated, Any, Literal
from uuid import UUID

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Resolve

from kupe_mcp.client import KupeClient, KupeModel
from kupe_mcp.errors import CallRefused, KupeError
from kupe_mcp.safety.agent import placeholders_of
from kupe_mcp.safety.context import guards_of, kupe, server_of
from kupe_mcp.safety.idempotency import Prior, prior_batch, prior_call
from kupe_mcp.safety.rules import CallPlan, Destination, Recent, request_digest
from kupe_mcp.safety.variables import check_batch_rows, check_call_values

__all__ = [
    "Batch",
    "CallRequest",
    "Subject",
    "batch_subject",
    "build_batch_subject",
    "build_call_subject",
    "call_subject",
    "check_runner",
    "load_batch",
    "refresh",
]


def check_runner(agent_id: UUID | None, workflow_id: UUID | None) -> None:
    if (agent_id is None) == (workflow_id is None):
        raise ToolError("Pass exactly one of agent_id or workflow_id.")


@dataclass(frozen=True)
class CallRequest:
    """place_call's arguments, as the rules and the digest see them."""

    phone_number: str
    agent_id: UUID | None
    workflow_id: UUID | None
    phone_number_id: UUID | None
    variable_values: dict[str, str] | None


@dataclass(frozen=True)
class Batch:
    """A campaign as the rules see it: its metadata and the rows still to be called."""

    batch_id: str
    meta: dict[str, Any]
    rows: list[dict[str, Any]]

    @property
    def numbers(self) -> list[str]:
        return [str(r.get("to_phonenumber") or "") for r in self.rows]


@dataclass(frozen=True)
class Subject:
    """A call or a batch: who will be rung, by what, from which line, with which values, under which plan."""

    tool: Literal["place_call", "start_batch"]
    tenant: str
    plan: CallPlan
    what: str
    fields: dict[str, Any] = field(default_factory=dict)
    call: CallRequest | None = None
    batch: Batch | None = None

    @property
    def flag(self) -> str:
        return "placed" if self.tool == "place_call" else "started"

    @property
    def destinations(self) -> tuple[Destination, ...]:
        return self.plan.destinations

    @property
    def numbers(self) -> tuple[str, ...]:
        return tuple(d.e164 for d in self.plan.destinations)

    @property
    def nothing_done(self) -> str:
        if self.batch is not None:
            return f"batch {self.batch.batch_id} was not started, nobody was rung"
        return f"nothing was dialled to {self.numbers[0]}"

    @property
    def summary(self) -> str:
        """What an approval record says was to be dialled."""
        if self.batch is not None:
            return f"batch {self.batch.batch_id} ({self.plan.count} rows)"
        return self.numbers[0]

    def digest_for(self, plan: CallPlan) -> str:
        """The digest an approval is bound to: everything dialled, the tenant, and the earlier calls named."""
        return request_digest(
            self.tool,
            tenant=self.tenant,
            **self.fields,
            prior=[p.describe() for p in plan.prior],
            confirm=plan.needs_confirmation,
        )

    @property
    def digest(self) -> str:
        return self.digest_for(self.plan)

    def with_plan(self, plan: CallPlan) -> Subject:
        return replace(self, plan=plan)


async def _recent(ctx: Context, tenant: str) -> Recent:
    guards = guards_of(ctx)
    return await server_of(ctx).state.recent(
        tenant, now=guards.clock(), everyone=guards.policy.max_per_hour_total is not None
    )


async def build_call_subject(ctx: Context, request: CallRequest) -> Subject:
    """Every rule on place_call's arguments (who and when first: a refusal costs no lookup), then the plan."""
    guards = guards_of(ctx)
    what = f"call {request.phone_number.strip()[:40]!r}"
    destinations, notes = guards.screen([request.phone_number], what=what)
    # Every {{placeholder}} of the agent's prompt needs a value, or the callee hears "Hi {{name}}".
    expected = await placeholders_of(ctx, request.agent_id)
    check_call_values(expected, request.variable_values, what=f"call {destinations[0].e164}")
    tenant = await server_of(ctx).tenant_of(ctx)
    plan = guards.assess(destinations, notes, await _recent(ctx, tenant), what=what)
    fields = {
        "to": destinations[0].e164,
        "agent_id": request.agent_id,
        "workflow_id": request.workflow_id,
        "phone_number_id": request.phone_number_id,
        "variable_values": request.variable_values or {},
    }
    return Subject("place_call", tenant, plan, what, fields, call=request)


def _data(value: Any) -> dict[str, Any]:
    if isinstance(value, KupeModel):
        value = value.to_json()
    if isinstance(value, dict) and isinstance(value.get("data"), dict):
        value = value["data"]
    if isinstance(value, dict) and isinstance(value.get("batch"), dict):
        value = value["batch"]
    return value if isinstance(value, dict) else {}


async def load_batch(client: KupeClient, batch_id: UUID | str) -> Batch:
    bid = str(batch_id)
    meta = _data(await client.get_batch(bid))
    rows = [r.to_json() for r in await client.list_batch_data(bid, status="not_started")]
    return Batch(bid, meta, rows)


async def build_batch_subject(ctx: Context, batch: Batch) -> Subject:
    """Every rule on the batch's waiting rows; refuses a batch already started or with nobody to call."""
    guards = guards_of(ctx)
    state = str(batch.meta.get("status") or "not_started")
    if state != "not_started":
        raise CallRefused(
            f"Refused to start batch {batch.batch_id}: it was already started (state {state}); "
            "a batch starts once, so create a new one to call people again."
        )
    if not batch.rows:
        raise CallRefused(
            f"Refused to start batch {batch.batch_id}: it has no recipients waiting to be called; "
            "add some with add_batch_recipients first."
        )
    what = f"start batch {batch.batch_id}"
    destinations, notes = guards.screen(batch.numbers, what=what)
    expected = await placeholders_of(ctx, batch.meta.get("agent_id"))
    rows = [(str(r.get("to_phonenumber") or "?"), r.get("variable_values")) for r in batch.rows]
    check_batch_rows(expected, rows, what=what)
    tenant = await server_of(ctx).tenant_of(ctx)
    plan = guards.assess(destinations, notes, await _recent(ctx, tenant), what=what)
    guards.check_pace(plan, calls_at_once=batch.meta.get("batch_size"), what=what)  # the window at Kupe's pace
    rows = sorted(
        (d.e164, sorted((r.get("variable_values") or {}).items()))
        for d, r in zip(destinations, batch.rows, strict=True)
    )
    meta = batch.meta
    fields = {
        "batch_id": batch.batch_id,
        "agent_id": meta.get("agent_id"),
        "workflow_id": meta.get("workflow_id"),
        "caller": meta.get("caller_phone_id") or meta.get("caller_phone_number"),
        "rows": rows,
    }
    return Subject("start_batch", tenant, plan, what, fields, batch=batch)


async def refresh(ctx: Context, subject: Subject) -> Subject:
    """The same subject built again now: the batch's rows re-read from Kupe, the plan from the state store."""
    if subject.batch is not None:
        return await build_batch_subject(ctx, await load_batch(kupe(ctx), subject.batch.batch_id))
    assert subject.call is not None
    return await build_call_subject(ctx, subject.call)


async def call_subject(
    ctx: Context,
    phone_number: str,
    agent_id: UUID | None,
    workflow_id: UUID | None,
    phone_number_id: UUID | None,
    variable_values: dict[str, str] | None,
    prior: Annotated[Prior, Resolve(prior_call)],
) -> Subject | None:
    """place_call's subject resolver: the confirmation resolver and the body share what it returns (None for a
    retry whose idempotency_key already has an outcome: no rule runs, nobody is asked, nothing is dialled)."""
    if prior.outcome is not None:
        return None
    check_runner(agent_id, workflow_id)
    request = CallRequest(phone_number, agent_id, workflow_id, phone_number_id, variable_values)
    try:
        return await build_call_subject(ctx, request)
    except KupeError as exc:
        raise ToolError(str(exc)) from exc


async def batch_subject(ctx: Context, batch_id: UUID, prior: Annotated[Prior, Resolve(prior_batch)]) -> Subject | None:
    """start_batch's subject resolver: the batch and its waiting rows, read from Kupe, with every rule applied
    (None for a retry whose idempotency_key already has an outcome)."""
    if prior.outcome is not None:
        return None
    try:
        return await build_batch_subject(ctx, await load_batch(kupe(ctx), batch_id))
    except KupeError as exc:
        raise ToolError(str(exc)) from exc
