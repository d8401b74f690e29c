"""The gate every dial goes through: decide, then hold a slot as a context around the one request that rings.

```python
gate = await decide(ctx, subject, dry_run=dry_run, token=confirmation_token, confirmation=confirmation)
if gate.answer is not None:
    return gate.answer          # a dry run, a decline, a pending approval, a token: nothing dialled
async with gate.reserve() as held:
    started = await kupe(ctx).create_call(held.numbers[0], ...)
    held.ref = f"request_id {started.request_id}"
```

``decide`` reads the person's answer (or redeems a token, or issues one), then rebuilds the
subject from Kupe and the state store (re-reading a batch's rows) and compares its digest with
the one approved: on any difference the person is asked again (2025-11-25, in the body) or the
call is refused saying so (nothing is dialled either way). ``reserve`` repeats that comparison
inside the store's atomic check-and-hold, so two replicas (or two parallel calls to one number)
cannot both dial on one approval: the second sees the first's slot as an earlier call, and its
digest no longer matches. On exit: success commits the slot; a known failure (Kupe said no)
releases it; an unknown outcome (or any other exception) keeps it, marked as such, so the
number's next call needs a fresh confirmation naming this attempt.

A decline is **not** an error: the result is ``placed: false`` (``started: false``) with the
reason. The person decided; nothing failed, and an ``isError`` would invite the model to "fix"
the call and retry it. Only a submitted form with confirm unticked is a person's no: a client
that declines, dismisses or never answers a form question (within KUPE_ELICITATION_TIMEOUT_S)
may never have shown it, so the result is ``placed: false`` with a ``link`` approval left open
on the page, for wait_for_approval to follow. Every refusal is a ``CallRefused`` raised before any write
reaches Kupe.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import anyio
from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context

from kupe_mcp.errors import (
    CallOutcomeUnknown,
    CallRefused,
    KupeAPIError,
    KupeConnectionError,
    KupeError,
    StateUnavailable,
)
from kupe_mcp.safety.approvals import decided_elsewhere, new_approval
from kupe_mcp.safety.ask import (
    ConfirmCall,
    Unanswered,
    accepted,
    ask_bounded,
    asks_in_band,
    can_ask_in_body,
    declined,
    outcome,
)
from kupe_mcp.safety.channels import declined as declined_answer
from kupe_mcp.safety.channels import human_channel, seek_approval
from kupe_mcp.safety.clock import from_json, to_json
from kupe_mcp.safety.context import approvals_of, guards_of, kupe, server_of, settings_of
from kupe_mcp.safety.outcomes import Answer, ApprovalPending, ConfirmationRequired, DryRun
from kupe_mcp.safety.preview import SAMPLE_ROWS, money, preview, question
from kupe_mcp.safety.rules import TOKEN_TTL_S, Recent, Slot
from kupe_mcp.safety.subjects import Subject, refresh
from kupe_mcp.safety.variables import balance_warning
from kupe_mcp.text.untrusted import one_line

__all__ = ["UNKNOWN_REF", "Gate", "Held", "decide"]

logger = logging.getLogger("kupe_mcp.safety")

UNKNOWN_REF = "an earlier attempt whose answer from Kupe was lost (outcome unknown)"
_ASK_AGAIN_ROUNDS = 2
_TOKEN_KEEP = timedelta(hours=1)  # the record outlives the token, so "expired" can be told from "unknown"


@dataclass
class Held:
    """The slot held for one dial; set ``ref`` (``request_id …``, ``batch …``) once Kupe answered."""

    subject: Subject
    slot: Slot
    ref: str = "a call placed"

    @property
    def numbers(self) -> tuple[str, ...]:
        return self.subject.numbers


@dataclass
class Gate:
    """What a call tool does next: answer without dialling (``answer``), or dial inside ``reserve()``."""

    ctx: Context
    subject: Subject
    answer: Answer | None = None
    approved: str | None = None
    approval_id: str = ""
    channel: str = "none"

    async def _after_dial(self, event: str, ref: str) -> None:
        """Write what became of an approved dial into its approval's record, the audit ``list_call_approvals`` reads.

        ``ref`` names the request_id or batch, says the outcome is unknown, or why nothing was dialled. Best
        effort: a store failure here must not hide that a call may be ringing.
        """
        try:
            if self.approval_id:
                await approvals_of(self.ctx).store.record_outcome(self.approval_id, ref)
        except StateUnavailable as exc:
            logger.warning("Could not record %s for %s: %s", event, self.subject.tool, exc)

    async def keep_decision(self, declined: str | None = None) -> None:
        """Keep a decision no approval record held (the client's form, a token, no question needed) as its audit:
        a yes, or the person's no with ``declined`` saying why.

        Before a dial this must succeed: a store that cannot keep the record refuses the call (StateUnavailable),
        so nothing rings without its record.
        """
        if self.approval_id or self.channel not in _DECIDED_ELSEWHERE:
            return
        subject, desk = self.subject, approvals_of(self.ctx)
        asked = new_approval(
            tenant=subject.tenant,
            digest=self.approved or subject.digest,
            tool=subject.tool,
            arguments=_arguments(subject),
            facts=_audit_facts(subject),
            channel=self.channel,  # type: ignore[arg-type]
            now=desk.clock(),
            ttl_s=0,
        )
        if declined is None:
            record = decided_elsewhere(asked, approved=True, note=_DECIDED_ELSEWHERE[self.channel])
        else:
            record = decided_elsewhere(
                asked, approved=False, note=f"declined by the person in the client's form: {declined}"
            )
        await desk.store.keep(record)
        self.approval_id = record.id

    @asynccontextmanager
    async def reserve(self) -> AsyncIterator[Held]:
        """Hold the subject's slots atomically (re-checking the approved digest), then settle them on exit."""
        await self.keep_decision()
        subject, guards = self.subject, guards_of(self.ctx)
        store = server_of(self.ctx).state
        now = guards.clock()
        slot = Slot(secrets.token_hex(8), now, subject.plan.count, subject.numbers)

        def check(recent: Recent) -> None:
            plan = guards.assess(subject.destinations, subject.plan.notes, recent, what=subject.what)
            if subject.digest_for(plan) != self.approved:
                raise CallRefused(_changed(subject, subject.with_plan(plan)))

        # Everyone's slots are judged (and contended for) only under KUPE_MAX_CALLS_PER_HOUR_TOTAL.
        try:
            await store.hold(
                subject.tenant, slot, check, now=now, everyone=guards.policy.max_per_hour_total is not None
            )
        except CallRefused as exc:
            await self._after_dial("refused", str(exc))  # the approval's record says it dialled nothing, and why
            raise
        held = Held(subject, slot)
        try:
            yield held
        except KupeError as exc:
            with anyio.CancelScope(shield=True):
                if _outcome_unknown(exc):
                    await _settle(self, slot, UNKNOWN_REF, "unknown")
                    await self._after_dial("outcome_unknown", UNKNOWN_REF)
                else:
                    await store.release(subject.tenant, slot.id)
                    await self._after_dial("failed", _nothing_rang(exc))
            raise
        except BaseException:
            with anyio.CancelScope(shield=True):
                await _settle(self, slot, UNKNOWN_REF, "unknown")
                await self._after_dial("outcome_unknown", UNKNOWN_REF)
            raise
        await _settle(self, slot, held.ref, "placed")
        await self._after_dial("dialled", held.ref)


def _outcome_unknown(exc: KupeError) -> bool:
    """Kupe may have dialled: its answer was lost (the client's classification, or a connection lost after sending)."""
    return isinstance(exc, CallOutcomeUnknown) or (isinstance(exc, KupeConnectionError) and exc.may_have_reached)


def _nothing_rang(exc: KupeError) -> str:
    """The audit's outcome of a dial Kupe refused (a known answer: nobody was rung), in one line."""
    if isinstance(exc, KupeAPIError):
        return f"nothing rang: Kupe refused it ({exc.status}: {one_line(exc.detail)[:200] or 'no detail given'})"
    return f"nothing rang: {one_line(str(exc))[:300]}"


async def _settle(gate: Gate, slot: Slot, ref: str, state: str) -> None:
    try:
        await server_of(gate.ctx).state.settle(gate.subject.tenant, slot.id, ref=ref, state=state)
    except StateUnavailable as exc:
        # The slot stays "being placed now": it still counts and still names the attempt.
        logger.warning("Could not settle a call slot: %s", exc)


def _changed(approved: Subject, now: Subject) -> str:
    """Why a fresh look differs from what the person approved, as one refusal sentence."""
    if approved.plan.count != now.plan.count:
        why = f"it would ring {now.plan.count} people, not the {approved.plan.count} approved"
    elif [p.describe() for p in approved.plan.prior] != [p.describe() for p in now.plan.prior]:
        earlier = "; ".join(f"{p.e164}: {p.describe()}" for p in now.plan.prior) or "none any more"
        why = f"an earlier call to the same number is now known ({earlier})"
    else:
        why = "the numbers, values, runner or caller line are no longer the ones approved"
    return (
        f"Refused: what {approved.tool} would dial changed after it was approved ({why}); nothing was dialled: "
        f"call {approved.tool} again so the person is asked about what is true now."
    )


def _confirmation_mode(ctx: Context, subject: Subject) -> str:
    if not subject.plan.needs_confirmation:
        return "not needed: KUPE_CONFIRM_CALLS=off and every destination is on KUPE_ALLOWED_DESTINATIONS"
    if asks_in_band(ctx):
        return "the person will be asked to confirm when you call without dry_run"
    channel = human_channel(ctx)
    if channel == "token":
        return "calling without dry_run returns a confirmation_token to use after the person says yes"
    if channel is None:
        return "calling without dry_run is refused: no way to ask the person (KUPE_CONFIRM_FALLBACK=off)"
    return {
        "url": "the client will open an approval page for the person when you call without dry_run",
        "app": "the person will see an approval card when you call without dry_run",
        "link": "calling without dry_run returns an approval link for the person to open and approve",
    }[channel]


NO_CHANNEL = (
    "Refused: this client cannot ask a person to approve calls (it offers no form or URL elicitation and no MCP "
    "Apps) and KUPE_CONFIRM_FALLBACK=off; set KUPE_CONFIRM_FALLBACK=link to send an approval page, or use a "
    "client that can ask."
)
TOKENS_OFF = (
    "Refused: confirmation tokens are not accepted here (KUPE_CONFIRM_FALLBACK is not token, or "
    "KUPE_APPROVAL_PROOF=passkey); call again without confirmation_token and the person approves through the "
    "channel offered."
)


def _arguments(subject: Subject) -> dict[str, Any]:
    """The tool's arguments as JSON, so wait_for_approval can dial the approved request itself."""
    if subject.batch is not None:
        return {"batch_id": subject.batch.batch_id}
    request = subject.call
    assert request is not None
    args: dict[str, Any] = {
        "phone_number": request.phone_number,
        "agent_id": str(request.agent_id) if request.agent_id else None,
        "workflow_id": str(request.workflow_id) if request.workflow_id else None,
        "phone_number_id": str(request.phone_number_id) if request.phone_number_id else None,
        "variable_values": request.variable_values,
    }
    return {k: v for k, v in args.items() if v is not None}


async def _facts(ctx: Context, subject: Subject) -> dict[str, Any]:
    """What the approval page and card show: the preview, local time zones, the cost estimate and balance."""
    shown = await preview(ctx, subject)
    facts: dict[str, Any] = {"kind": "batch" if subject.batch is not None else "call", **shown}
    facts.update(await money(kupe(ctx), subject.plan.count))
    if subject.batch is None:
        facts["time_zones"] = list(subject.destinations[0].time_zones)
    else:
        facts["sample"] = [
            {**row, "time_zones": list(dest.time_zones)}
            for row, dest in zip(shown.get("sample", []), subject.destinations, strict=False)
        ]
    return facts


async def _by_person(gate: Gate, channel: str, note: str | None = None) -> Answer | None:
    """Approval through a page, URL elicitation or card: an answer for the model, or None once redeemed."""
    ctx, subject = gate.ctx, gate.subject
    sought = await seek_approval(
        ctx,
        channel,  # type: ignore[arg-type]
        tenant=subject.tenant,
        tool=subject.tool,
        digest=subject.digest,
        arguments=_arguments(subject),
        facts=lambda: _facts(ctx, subject),
        nothing_done=subject.nothing_done,
        note=note,
    )
    gate.channel = channel
    if sought.answer is not None:
        answer = sought.answer
        gate.approval_id = answer.approval_id if isinstance(answer, ApprovalPending) else ""
        return sought.answer
    gate.approval_id = sought.approval_id or ""
    fresh = await refresh(ctx, subject)
    if fresh.digest != subject.digest:
        refusal = _changed(subject, fresh)
        await gate._after_dial("refused", refusal)  # the redeemed approval says it dialled nothing, and why
        raise CallRefused(refusal)
    gate.subject, gate.approved = fresh, fresh.digest
    return None


_DECIDED_ELSEWHERE = {
    "elicitation": "approved by the person in the client's own confirmation form (elicitation)",
    "token": (
        "approved with a confirmation token the model brought back (that the person said yes is the model's word)"
    ),
    "unattended": "no question needed: KUPE_CONFIRM_CALLS=off and every destination is on KUPE_ALLOWED_DESTINATIONS",
}
"""The channels whose decision no pending approval held, and what their audit record says of a yes."""


def _audit_facts(subject: Subject) -> dict[str, Any]:
    """What an audit record of a decision taken elsewhere shows: the destinations as judged, asking Kupe nothing
    (the page and card facts look up names and balances; a dial must not wait on that for its record)."""
    dests = subject.destinations
    facts: dict[str, Any] = {"kind": "batch" if subject.batch is not None else "call", "recipients": len(dests)}
    if subject.batch is not None:
        facts["batch_id"] = subject.batch.batch_id
    facts["destinations"] = [d.e164 for d in dests[:SAMPLE_ROWS]]
    return facts


async def _declined_in_band(gate: Gate, reason: str, nothing_done: str) -> Answer:
    """The person's no in the client's form: kept as a declined record (best effort: nothing rings either way)."""
    try:
        await gate.keep_decision(declined=reason)
    except StateUnavailable as exc:
        logger.warning("Could not keep a declined confirmation of %s: %s", gate.subject.tool, exc)
    return declined_answer(reason, nothing_done)


async def _issue_token(gate: Gate) -> ConfirmationRequired:
    ctx, subject = gate.ctx, gate.subject
    server, guards = server_of(ctx), guards_of(ctx)
    token = server.state_keys.new_token()
    now = guards.clock()
    ttl = guards.policy.token_ttl_s
    gate.channel = "token"
    record = {"digest": subject.digest, "expires": to_json(now + timedelta(seconds=ttl))}
    key = f"token:{server.state_keys.token_id(token)}"
    await server.state.put(subject.tenant, key, record, expires=now + timedelta(seconds=ttl) + _TOKEN_KEEP)
    return ConfirmationRequired(
        preview=await preview(ctx, subject),
        confirmation_token=token,
        expires_in_s=int(TOKEN_TTL_S),
        next=(
            f"Show this preview to the user. Only if they say yes, call {subject.tool} again with the same "
            "arguments and this confirmation_token; never use it on your own."
        ),
    )


async def _redeem_token(gate: Gate, token: str) -> None:
    """Take the token (single use, atomically, any replica) and bind it to the subject as it is now."""
    ctx = gate.ctx
    server, guards = server_of(ctx), guards_of(ctx)
    fresh = await refresh(ctx, gate.subject)
    raw = None
    for token_id in server.state_keys.token_ids(token):  # issued under the current secret, or before a rotation
        raw = await server.state.take(fresh.tenant, f"token:{token_id}", now=guards.clock())
        if raw is not None:
            break
    held = None
    if raw is not None:
        held = (str(raw.get("digest")), from_json(raw.get("expires", 0)))  # epoch seconds before ISO 8601
        gate.channel = "token"
    guards.check_token(held, fresh.digest)
    gate.subject, gate.approved = fresh, fresh.digest


async def _confirm_in_band(gate: Gate) -> Answer | None:
    """The person said yes to ``gate.subject``: look again now, and ask again (or refuse) if it changed."""
    ctx = gate.ctx
    gate.channel = "elicitation"
    approved = gate.subject
    fresh = await refresh(ctx, approved)
    rounds = 0
    while fresh.digest != approved.digest:
        if not can_ask_in_body(ctx) or rounds >= _ASK_AGAIN_ROUNDS:
            raise CallRefused(_changed(approved, fresh))
        rounds += 1
        again = await ask_bounded(ctx, await question(ctx, fresh))
        gate.subject = fresh
        if isinstance(again, Unanswered):
            return await _by_person(gate, "link", again.note)
        if not again.confirm:
            return await _declined_in_band(gate, "The person did not tick confirm", fresh.nothing_done)
        approved, fresh = fresh, await refresh(ctx, fresh)
    gate.subject, gate.approved = fresh, fresh.digest
    return None


async def decide(
    ctx: Context,
    subject: Subject,
    *,
    dry_run: bool,
    token: str | None,
    confirmation: ElicitationResult[ConfirmCall],
    redeem: bool = False,
) -> Gate:
    """The flow place_call and start_batch share once every rule has passed for ``subject``.

    A dry run reports; a declined or cancelled question reports; a request that needs a yes
    nobody gave in-band redeems the token it brought, or gets one, but only when the client
    cannot be asked: a client that can elicit and was not asked is refused (the rules gave
    different answers while asking), never handed a token in place of a question. ``redeem`` (wait_for_approval)
    dials only on an approval the person already gave.
    """
    gate = Gate(ctx, subject)
    answer = outcome(confirmation)
    if dry_run:
        funds = await money(kupe(ctx), subject.plan.count)
        warning = balance_warning(funds.get("credit_balance_usd"), funds.get("estimated_cost_usd"))
        gate.answer = DryRun(
            preview=await preview(ctx, subject),
            confirmation=_confirmation_mode(ctx, subject),
            calls_left_this_hour=subject.plan.calls_left_this_hour,
            balance_warning=warning or None,
            **funds,
        )
        return gate
    if isinstance(answer, Unanswered):
        # No person said no: leave the approval answerable on the page, as the link channel does.
        gate.answer = await _by_person(gate, "link", answer.note)
        return gate
    reason = declined(answer)
    if reason:
        gate.channel = "elicitation"
        gate.answer = await _declined_in_band(gate, reason, subject.nothing_done)
        return gate
    if accepted(answer):
        gate.answer = await _confirm_in_band(gate)
        return gate
    if token is not None:
        if settings_of(ctx).confirm_fallback != "token" or settings_of(ctx).proof == "passkey":
            raise CallRefused(TOKENS_OFF)
        await _redeem_token(gate, token)
        return gate
    if subject.plan.needs_confirmation:
        if redeem:  # wait_for_approval: only a yes already given on an approval dials, whatever the client is
            gate.answer = await _by_person(gate, human_channel(ctx) or "link")
            return gate
        if asks_in_band(ctx):
            raise CallRefused(
                f"Refused: the person could not be asked to confirm (the call-safety rules changed their answer "
                f"while the question was prepared); {subject.nothing_done}. Call {subject.tool} again."
            )
        channel = human_channel(ctx)
        if channel is None:
            raise CallRefused(NO_CHANNEL)
        if channel == "token":
            gate.answer = await _issue_token(gate)
            return gate
        gate.answer = await _by_person(gate, channel)
        return gate
    fresh = await refresh(ctx, subject)
    if fresh.digest != subject.digest:
        raise CallRefused(_changed(subject, fresh))
    gate.subject, gate.approved, gate.channel = fresh, fresh.digest, "unattended"
    return gate
