"""Idempotent dials: ``place_call`` / ``start_batch`` with an ``idempotency_key`` ring at most once per key.

A retried request (a client timeout, a reconnect, a model repeating itself) carries the same key: it gets
the first request's outcome back and never reaches Kupe again. Keys are per tenant, kept 24 hours, in the
call-safety state store (so every replica sharing Redis honours them), stored under a keyed digest.

* same key, same arguments: the first outcome (placed, pending approval, or unknown);
* same key, other arguments: refused in one sentence, nothing dialled;
* an attempt whose answer from Kupe was lost keeps its key as "outcome unknown": a retry must not dial
  what may already be ringing;
* answers that are not an outcome (a dry run, a refusal, a decline, a token to bring back) release the
  key, so the same request can be made again with it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import AfterValidator

from kupe_mcp.errors import CallOutcomeUnknown, KupeConnectionError
from kupe_mcp.safety.context import guards_of, server_of
from kupe_mcp.safety.outcomes import Answer, Placed, Started, must_replay, recorded, unknown

__all__ = [
    "KEEP",
    "RETRY_LOST",
    "IdempotencyKey",
    "Idempotent",
    "Outcome",
    "Prior",
    "call_arguments",
    "idempotent",
    "prior_batch",
    "prior_call",
]

KEEP = timedelta(hours=24)


# No description: the name says it, and every byte of a write tool's schema is in every model's context.
def _short_enough(value: str | None) -> str | None:
    """The 256-character cap, checked here rather than listed: every listing of place_call would pay for it."""
    if value is not None and len(value) > 256:
        raise ValueError("an idempotency_key is at most 256 characters")
    return value


IdempotencyKey = Annotated[str | None, AfterValidator(_short_enough)]


Outcome = Answer | Placed | Started


@dataclass
class Idempotent:
    """``prior``: the first outcome for this key (return it as is); otherwise call ``keep`` with the new outcome."""

    prior: Outcome | None = None
    outcome: Outcome | None = None

    def keep(self, outcome: Outcome) -> None:
        self.outcome = outcome


RETRY_LOST = (
    "Refused: a request with this idempotency_key was answered meanwhile and its record is gone; nothing was "
    "dialled: call again with the same arguments."
)


@dataclass(frozen=True)
class Prior:
    """What a resolver found for this request's key: the first outcome to return, or None (a new request)."""

    outcome: Outcome | None = None


def _args_digest(arguments: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(arguments, sort_keys=True, default=str).encode()).hexdigest()


async def _held(ctx: Context, tenant: str, tool: str, digests: tuple[str, ...]) -> dict[str, Any] | None:
    """What the store keeps under the first of ``digests`` that holds anything: a key's digest under the current
    secret or under one being rotated out (a retry after a rotation must still get its first outcome, not a second
    dial)."""
    server = server_of(ctx)
    for digest in digests:
        held = await server.state.get(tenant, f"idem:{tool}:{digest}", now=guards_of(ctx).clock())
        if held is not None:
            return dict(held)
    return None


async def _lookup(ctx: Context, tool: str, key: str, arguments: dict[str, Any]) -> Prior:
    server = server_of(ctx)
    held = await _held(ctx, await server.tenant_of(ctx), tool, server.state_keys.digests("idempotency", key))
    if held is None:
        return Prior()
    if held.get("args") != _args_digest(arguments):
        raise ToolError(
            f"Refused: this idempotency_key was already used for a {tool} with other arguments; nothing was "
            "dialled: use a new key for a new request."
        )
    outcome = held.get("outcome")
    return Prior(unknown(tool) if outcome is None else recorded(outcome, tool))


async def prior_call(
    ctx: Context,
    phone_number: str,
    agent_id: Any,
    workflow_id: Any,
    phone_number_id: Any,
    variable_values: dict[str, str] | None,
    dry_run: bool,
    idempotency_key: str | None,
) -> Prior:
    """place_call's first resolver: a retry with a used key gets the first outcome before any rule or question."""
    if dry_run or idempotency_key is None:
        return Prior()
    return await _lookup(
        ctx,
        "place_call",
        idempotency_key,
        call_arguments(phone_number, agent_id, workflow_id, phone_number_id, variable_values),
    )


async def prior_batch(ctx: Context, batch_id: Any, dry_run: bool, idempotency_key: str | None) -> Prior:
    """start_batch's first resolver (a started batch would be refused by its rules before the body runs)."""
    if dry_run or idempotency_key is None:
        return Prior()
    return await _lookup(ctx, "start_batch", idempotency_key, {"batch_id": str(batch_id)})


def call_arguments(
    phone_number: str, agent_id: Any, workflow_id: Any, phone_number_id: Any, variable_values: dict[str, str] | None
) -> dict[str, Any]:
    """What a place_call key is bound to."""
    return {
        "phone_number": phone_number,
        "agent_id": agent_id,
        "workflow_id": workflow_id,
        "phone_number_id": phone_number_id,
        "variable_values": variable_values,
    }


@asynccontextmanager
async def idempotent(ctx: Context, tool: str, key: str | None, arguments: dict[str, Any]) -> AsyncIterator[Idempotent]:
    """Hold ``key`` for this request (atomically: two replicas retrying at once dial once) around the body."""
    if key is None:
        yield Idempotent()
        return
    server = server_of(ctx)
    tenant = await server.tenant_of(ctx)
    now = guards_of(ctx).clock()
    current, *previous = server.state_keys.digests("idempotency", key)
    slot = f"idem:{tool}:{current}"
    args = _args_digest(arguments)
    # Only while a secret is being rotated out can the key be held where put_new does not look.
    earlier = await _held(ctx, tenant, tool, tuple(previous)) if previous else None
    fresh = earlier is None and await server.state.put_new(
        tenant, slot, {"args": args, "state": "running"}, expires=now + KEEP, now=now
    )
    if not fresh:
        held = earlier or await server.state.get(tenant, slot, now=now) or {}
        if held.get("args") != args:
            raise ToolError(
                f"Refused: this idempotency_key was already used for a {tool} with other arguments; nothing was "
                "dialled: use a new key for a new request."
            )
        outcome = held.get("outcome")
        yield Idempotent(prior=unknown(tool) if outcome is None else recorded(outcome, tool))
        return
    state = Idempotent()
    try:
        yield state
    except (CallOutcomeUnknown, KupeConnectionError) as exc:
        if isinstance(exc, KupeConnectionError) and not exc.may_have_reached:
            await server.state.take(tenant, slot, now=now)
        # else: the key stays "running", read back as outcome unknown
        raise
    except BaseException:
        with anyio.CancelScope(shield=True):
            await server.state.take(tenant, slot, now=now)
        raise
    if state.outcome is not None and must_replay(state.outcome):
        value = {"args": args, "state": "done", "outcome": state.outcome.model_dump(mode="json")}
        await server.state.put(tenant, slot, value, expires=now + KEEP)
    else:
        await server.state.take(tenant, slot, now=now)
