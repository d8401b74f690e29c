"""Between the call tools and ``kupe_mcp.guards``: asking a person, previews, tokens and dry runs.

How a ``place_call`` or ``start_batch`` is confirmed (README "Call safety"):

* The tool has a parameter ``Annotated[ElicitationResult[ConfirmCall], Resolve(ask_…)]``
  (not in the input schema). Its resolver runs first, on both protocol generations. It
  runs every rule and, when a person must confirm and the client can elicit, returns
  ``Elicit(question, ConfirmCall)``: the SDK asks the person (a standalone request on
  2025-11-25, an ``InputRequiredResult`` round on 2026-07-28) and injects the outcome.
  The question names no current time, so it renders the same on every round.
* Otherwise the resolver returns ``NotAsked`` and the body decides: a dry run reports;
  a call that needs no confirmation proceeds; a client without elicitation gets a
  preview and a single-use ``confirmation_token`` bound to the exact normalised request,
  and must call again with it after the person has said yes.
* A decline or cancel is **not** an error: the result is ``placed: false`` (``started:
  false``) with the reason. The person decided; nothing failed, and an ``isError`` would
  invite the model to "fix" the call and retry it.

Every refusal is a ``CallRefused`` raised before any write reaches Kupe.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any
from uuid import UUID

from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field

from kupe_mcp.client import KupeClient, KupeModel
from kupe_mcp.errors import CallRefused, KupeConnectionError, KupeError
from kupe_mcp.guards import TOKEN_TTL_S, CallGuards, CallPlan, Reservation, request_digest
from kupe_mcp.toolsets._context import guards_of, kupe, server_of

__all__ = [
    "CallRequest",
    "ConfirmCall",
    "ConfirmationToken",
    "DryRun",
    "Gate",
    "NotAsked",
    "RecipientRow",
    "ask_to_place_call",
    "ask_to_start_batch",
    "can_elicit",
    "check_runner",
    "gate_batch",
    "gate_call",
    "recipients_from_csv",
    "screen_recipients",
]

SAMPLE_ROWS = 5
INPUT_REQUIRED_VERSION = "2026-07-28"  # first protocol revision that elicits through InputRequiredResult rounds
COST_SAMPLE = 20

DryRun = Annotated[bool, Field(description="Check and preview only; dials nothing.")]
ConfirmationToken = Annotated[str | None, Field(description="From a preview, once the user said yes.")]


class ConfirmCall(BaseModel):
    """The person's answer to a call or batch confirmation: one tick box."""

    confirm: bool = Field(description="Yes, dial now.")


@dataclass(frozen=True)
class NotAsked:
    """A confirmation resolver's answer when nobody was asked in-band; the tool body decides what follows.

    The SDK injects a resolver's plain return value as an ``AcceptedElicitation`` whose
    ``data`` is this object; ``_outcome`` tells it apart from a person's yes.
    """


def can_elicit(ctx: Context) -> bool:
    """Whether the person can be asked in-band: the client declared form elicitation (a bare ``elicitation: {}``
    counts) and the transport can carry the question (2026-07-28 rounds, or a 2025-11-25 session that can send
    requests; stateless HTTP on the old protocol cannot, and gets the token flow instead).
    """
    caps = ctx.client_capabilities
    elicitation = caps.elicitation if caps is not None else None
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return False
    version = ctx.protocol_version
    return (version is not None and is_version_at_least(version, INPUT_REQUIRED_VERSION)) or bool(
        ctx.session.can_send_request
    )


def check_runner(agent_id: UUID | None, workflow_id: UUID | None) -> None:
    if (agent_id is None) == (workflow_id is None):
        raise ToolError("Pass exactly one of agent_id or workflow_id.")


def _outcome(confirmation: ElicitationResult[ConfirmCall]) -> ElicitationResult[ConfirmCall] | None:
    """The person's answer, or None when the resolver asked nobody (it returned NotAsked, injected as accepted)."""
    if isinstance(confirmation, AcceptedElicitation) and isinstance(confirmation.data, NotAsked):
        return None
    return confirmation


def _declined(outcome: ElicitationResult[ConfirmCall] | None) -> str | None:
    """Why nothing may be dialled after the person was asked, or None when they were not asked or said yes."""
    if outcome is None:
        return None
    if outcome.action == "decline":
        return "The person declined"
    if outcome.action == "cancel":
        return "The person dismissed the confirmation"
    data = outcome.data if isinstance(outcome, AcceptedElicitation) else None
    if isinstance(data, ConfirmCall) and not data.confirm:
        return "The person did not tick confirm"
    return None


def _asked_and_accepted(outcome: ElicitationResult[ConfirmCall] | None) -> bool:
    return isinstance(outcome, AcceptedElicitation) and isinstance(outcome.data, ConfirmCall) and outcome.data.confirm


def _values_text(values: dict[str, Any] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted((values or {}).items())) or "none"


def _repeat_note(guards: CallGuards, plan: CallPlan) -> list[str]:
    window = guards.policy.repeat_window_s
    span = f"{window / 60:g} min" if window >= 60 else f"{window:g} s"
    return [f"{p.e164} was already called in the last {span} ({p.describe()})." for p in plan.prior]


LABEL_TTL_S = 120.0


async def _label(ctx: Context, kind: str, key: str, fetch: Callable[[], Awaitable[str]]) -> str:
    """A preview label (agent name, caller line), remembered briefly per tenant.

    On 2026-07-28 a confirmation takes two rounds, and the resolver builds the question in
    each: the memo spares Kupe the second lookups and keeps both questions identical.
    """
    labels = server_of(ctx).preview_labels
    slot = (kupe(ctx).credentials.fingerprint(), kind, key)
    now = time.monotonic()
    hit = labels.get(slot)
    if hit is not None and now - hit[0] < LABEL_TTL_S:
        return hit[1]
    text = await fetch()
    if len(labels) > 1024:
        labels.clear()
    labels[slot] = (now, text)
    return text


async def _runner_name(ctx: Context, agent_id: UUID | str | None, workflow_id: UUID | str | None) -> str:
    if not agent_id:
        return f"workflow {workflow_id or 'unknown'}"

    async def fetch() -> str:
        agent = (await kupe(ctx).get_agent(str(agent_id))).to_json().get("agent") or {}
        return f"{agent.get('name') or 'unnamed agent'} ({agent_id})"

    return await _label(ctx, "agent", str(agent_id), fetch)


async def _line_text(ctx: Context, phone_number_id: UUID | None) -> str:
    if phone_number_id is None:
        return "a line Kupe picks"

    async def fetch() -> str:
        for line in await kupe(ctx).list_phone_numbers():
            row = line.to_json()
            if str(row.get("id")) == str(phone_number_id):
                name = f" ({row['friendly_name']})" if row.get("friendly_name") else ""
                return f"{row.get('phone_number')}{name}"
        return f"line {phone_number_id} (not among list_phone_numbers)"

    return await _label(ctx, "line", str(phone_number_id), fetch)


# -- place_call -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CallRequest:
    """place_call's arguments, as the rules and the token digest see them."""

    phone_number: str
    agent_id: UUID | None
    workflow_id: UUID | None
    phone_number_id: UUID | None
    variable_values: dict[str, str] | None

    def digest(self, plan: CallPlan) -> str:
        return request_digest(
            "place_call",
            to=plan.destinations[0].e164,
            agent_id=self.agent_id,
            workflow_id=self.workflow_id,
            phone_number_id=self.phone_number_id,
            variable_values=self.variable_values or {},
            prior=[p.describe() for p in plan.prior],
        )


def _plan_call(guards: CallGuards, request: CallRequest) -> CallPlan:
    return guards.plan([request.phone_number], what=f"call {request.phone_number.strip()[:40]!r}")


async def _call_preview(ctx: Context, guards: CallGuards, plan: CallPlan, request: CallRequest) -> dict[str, Any]:
    dest = plan.destinations[0]
    preview: dict[str, Any] = {
        "destination": dest.e164,
        "country": dest.country,
        "line_type": dest.kind or None,
        "agent": await _runner_name(ctx, request.agent_id, request.workflow_id),
        "caller_line": await _line_text(ctx, request.phone_number_id),
        "variable_values": request.variable_values or {},
    }
    notes = _repeat_note(guards, plan) + list(plan.notes)
    if notes:
        preview["notes"] = notes
    return preview


def _call_question(preview: dict[str, Any]) -> str:
    kind = f", {preview['line_type']}" if preview.get("line_type") else ""
    lines = [
        "Place this phone call now? It rings a real phone and spends credits.",
        f"To: {preview['destination']} ({preview['country']}{kind})",
        f"Agent: {preview['agent']}",
        f"From: {preview['caller_line']}",
        f"Values: {_values_text(preview['variable_values'])}",
    ]
    lines += [f"Note: {n}" for n in preview.get("notes", [])]
    return "\n".join(lines)


async def ask_to_place_call(
    ctx: Context,
    phone_number: str,
    agent_id: UUID | None,
    workflow_id: UUID | None,
    phone_number_id: UUID | None,
    variable_values: dict[str, str] | None,
    dry_run: bool,
    confirmation_token: str | None,
) -> Elicit[ConfirmCall] | NotAsked:
    """place_call's confirmation resolver: ask the person only when every rule passed and one must confirm."""
    if dry_run or confirmation_token is not None or not can_elicit(ctx):
        return NotAsked()
    guards = guards_of(ctx)
    request = CallRequest(phone_number, agent_id, workflow_id, phone_number_id, variable_values)
    try:
        check_runner(agent_id, workflow_id)
        plan = _plan_call(guards, request)
    except (ToolError, KupeError):
        return NotAsked()  # the body raises the same refusal, before anything is sent
    if not plan.needs_confirmation:
        return NotAsked()
    try:
        preview = await _call_preview(ctx, guards, plan, request)
    except KupeError as exc:
        raise ToolError(str(exc)) from exc
    return Elicit(_call_question(preview), ConfirmCall)


# -- the gate the bodies go through ------------------------------------------------------------


@dataclass
class Gate:
    """What a call tool does next: answer without dialling (``answer``), or dial and report back."""

    guards: CallGuards
    answer: dict[str, Any] | None = None
    held: Reservation | None = None
    numbers: tuple[str, ...] = field(default=())

    def placed(self, ref: str) -> None:
        if self.held is not None:
            self.guards.commit(self.held, ref)

    def failed(self, exc: BaseException) -> None:
        """Kupe did not dial, or may have: keep the slot only when the request may have reached Kupe."""
        if self.held is None:
            return
        if isinstance(exc, KupeConnectionError) and exc.may_have_reached:
            self.guards.commit(self.held, "a call whose answer from Kupe was lost")
        else:
            self.guards.release(self.held)


async def _money(client: KupeClient, count: int) -> dict[str, Any]:
    """Credit balance and a cost estimate from recent usage, for dry runs; absent data is said, not guessed."""
    out: dict[str, Any] = {}
    try:
        data = (await client.credit_balance()).to_json()
        value = next(
            (data[k] for k in ("available_balance_usd", "balance_usd", "credit_balance_usd") if k in data), None
        )
        out["credit_balance_usd"] = value
    except KupeError as exc:
        out["credit_balance_usd"] = None
        out["credit_balance_note"] = str(exc)
    costs = await _recent_costs(client)
    if costs:
        each = sum(costs) / len(costs)
        out["estimated_cost_usd"] = round(each * count, 4)
        out["estimate_basis"] = (
            f"{count} call(s) x ${each:.4f}, the average of your last {len(costs)} calls; "
            "the real cost depends on how long each call lasts"
        )
    else:
        out["estimated_cost_usd"] = None
        out["estimate_basis"] = "no usage data to estimate from yet"
    return out


async def _recent_costs(client: KupeClient) -> list[float]:
    def numbers(rows: list[Any], keys: tuple[str, ...]) -> list[float]:
        found = []
        for row in rows:
            if isinstance(row, dict):
                value = next((row[k] for k in keys if isinstance(row.get(k), int | float)), None)
                if value is not None and not isinstance(value, bool) and value > 0:
                    found.append(float(value))
        return found

    try:
        usage = await client.billing_usage_records_filtered(page_size=COST_SAMPLE)
        costs = numbers([s.to_json() for s in usage.sessions], ("total_cost_usd", "cost_usd", "cost"))
        if costs:
            return costs[:COST_SAMPLE]
    except KupeError:
        pass
    try:
        calls = await client.call_analytics(page=1, page_size=COST_SAMPLE)
    except KupeError:
        return []
    return numbers([c.to_json() for c in calls], ("cost", "cost_usd", "total_cost_usd"))[:COST_SAMPLE]


def _confirmation_mode(ctx: Context, plan: CallPlan) -> str:
    if not plan.needs_confirmation:
        return "not needed: KUPE_CONFIRM_CALLS=off and every destination is on KUPE_ALLOWED_DESTINATIONS"
    if can_elicit(ctx):
        return "the person will be asked to confirm when you call without dry_run"
    return "calling without dry_run returns a confirmation_token to use after the person says yes"


def _token_answer(tool: str, flag: str, preview: dict[str, Any], token: str) -> dict[str, Any]:
    return {
        flag: False,
        "confirmation_required": True,
        "preview": preview,
        "confirmation_token": token,
        "expires_in_s": int(TOKEN_TTL_S),
        "next": (
            f"Show this preview to the user. Only if they say yes, call {tool} again with the same arguments "
            "and this confirmation_token; never use it on your own."
        ),
    }


def _declined_answer(flag: str, reason: str, what: str) -> dict[str, Any]:
    return {
        flag: False,
        "declined": True,
        "reason": f"{reason}; {what}. Do not try again unless the user asks.",
    }


async def gate_call(
    ctx: Context,
    request: CallRequest,
    *,
    dry_run: bool,
    token: str | None,
    confirmation: ElicitationResult[ConfirmCall],
) -> Gate:
    """Every rule, then the dry run, the person's answer or the token; returns a Gate holding the slot to dial."""
    guards = guards_of(ctx)
    plan = _plan_call(guards, request)
    return await _decide(
        ctx,
        guards,
        plan,
        Gate(guards, numbers=(plan.destinations[0].e164,)),
        confirmation=confirmation,
        dry_run=dry_run,
        token=token,
        tool="place_call",
        flag="placed",
        preview=lambda: _call_preview(ctx, guards, plan, request),
        digest=lambda: request.digest(plan),
        rows=1,
        nothing_done=f"nothing was dialled to {plan.destinations[0].e164}",
    )


async def _decide(
    ctx: Context,
    guards: CallGuards,
    plan: CallPlan,
    gate: Gate,
    *,
    confirmation: ElicitationResult[ConfirmCall],
    dry_run: bool,
    token: str | None,
    tool: str,
    flag: str,
    preview: Callable[[], Awaitable[dict[str, Any]]],
    digest: Callable[[], str],
    rows: int,
    nothing_done: str,
) -> Gate:
    """The flow place_call and start_batch share once every rule has passed.

    A dry run reports; a declined or cancelled question reports; a request that needs a
    yes nobody gave in-band gets a token (or redeems the one it brought); then the
    hourly slot is held for the dial.
    """
    outcome = _outcome(confirmation)
    if dry_run:
        gate.answer = {
            "dry_run": True,
            flag: False,
            "checks": "passed",
            "preview": await preview(),
            "confirmation": _confirmation_mode(ctx, plan),
            "calls_left_this_hour": plan.calls_left_this_hour,
            **await _money(kupe(ctx), rows),
        }
        return gate
    reason = _declined(outcome)
    if reason:
        gate.answer = _declined_answer(flag, reason, nothing_done)
        return gate
    if plan.needs_confirmation and not _asked_and_accepted(outcome):
        # Bound to the caller too: on a multi-tenant server one tenant's token is worthless to another.
        bound = f"{digest()}:{kupe(ctx).credentials.fingerprint()}"
        if token is None:
            gate.answer = _token_answer(tool, flag, await preview(), guards.issue_token(bound))
            return gate
        guards.redeem_token(token, bound)
    gate.held = guards.reserve(plan)
    return gate


# -- start_batch -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    """A campaign as the rules see it: its metadata and the rows still to be called."""

    batch_id: str
    meta: dict[str, Any]
    rows: list[dict[str, Any]]

    @property
    def numbers(self) -> list[str]:
        return [str(r.get("to_phonenumber") or "") for r in self.rows]

    def digest(self, plan: CallPlan) -> str:
        rows = sorted(
            (d.e164, sorted((r.get("variable_values") or {}).items()))
            for d, r in zip(plan.destinations, self.rows, strict=True)
        )
        prior = [p.describe() for p in plan.prior]
        return request_digest("start_batch", batch_id=self.batch_id, rows=rows, prior=prior)


def _data(value: Any) -> dict[str, Any]:
    if isinstance(value, KupeModel):
        value = value.to_json()
    if isinstance(value, dict) and isinstance(value.get("data"), dict):
        value = value["data"]
    if isinstance(value, dict) and isinstance(value.get("batch"), dict):
        value = value["batch"]
    return value if isinstance(value, dict) else {}


async def _load_batch(client: KupeClient, batch_id: UUID) -> Batch:
    bid = str(batch_id)
    meta = _data(await client.get_batch(bid))
    rows = [r.to_json() for r in await client.list_batch_data(bid, status="not_started")]
    return Batch(bid, meta, rows)


def _plan_batch(guards: CallGuards, batch: Batch) -> CallPlan:
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
    plan = guards.plan(batch.numbers, what=what)
    guards.check_pace(plan, calls_at_once=batch.meta.get("batch_size"), what=what)
    return plan


async def _batch_preview(ctx: Context, guards: CallGuards, plan: CallPlan, batch: Batch) -> dict[str, Any]:
    meta = batch.meta
    agent_id, workflow_id = meta.get("agent_id"), meta.get("workflow_id")
    runner = await _runner_name(ctx, str(agent_id) if agent_id else None, workflow_id)
    sample = [
        {"to": d.e164, "country": d.country, "variable_values": r.get("variable_values") or {}}
        for d, r in zip(plan.destinations[:SAMPLE_ROWS], batch.rows, strict=False)
    ]
    preview: dict[str, Any] = {
        "batch_id": batch.batch_id,
        "name": meta.get("batch_name"),
        "recipients": plan.count,
        "agent": runner,
        "caller_line": meta.get("caller_phone_number") or meta.get("caller_phone_id"),
        "calls_at_once": meta.get("batch_size"),
        "sample": sample,
    }
    notes = _repeat_note(guards, plan) + list(plan.notes)
    if notes:
        preview["notes"] = notes
    return preview


def _batch_question(preview: dict[str, Any]) -> str:
    sample = "; ".join(f"{s['to']} ({s['country']}) {_values_text(s['variable_values'])}" for s in preview["sample"])
    more = preview["recipients"] - len(preview["sample"])
    lines = [
        f"Start the campaign {preview['name']!r} now? It rings {preview['recipients']} people and spends credits.",
        f"Agent: {preview['agent']}",
        f"From: {preview['caller_line']}",
        f"Sample: {sample}" + (f" (and {more} more)" if more > 0 else ""),
    ]
    lines += [f"Note: {n}" for n in preview.get("notes", [])]
    return "\n".join(lines)


async def ask_to_start_batch(
    ctx: Context, batch_id: UUID, dry_run: bool, confirmation_token: str | None
) -> Elicit[ConfirmCall] | NotAsked:
    """start_batch's confirmation resolver: read the batch, run every rule on its rows, then ask the person."""
    if dry_run or confirmation_token is not None or not can_elicit(ctx):
        return NotAsked()
    guards = guards_of(ctx)
    try:
        batch = await _load_batch(kupe(ctx), batch_id)
    except KupeError as exc:
        raise ToolError(str(exc)) from exc
    try:
        plan = _plan_batch(guards, batch)
    except KupeError:
        return NotAsked()  # the body raises the same refusal, before anything is sent
    if not plan.needs_confirmation:
        return NotAsked()
    try:
        preview = await _batch_preview(ctx, guards, plan, batch)
    except KupeError as exc:
        raise ToolError(str(exc)) from exc
    return Elicit(_batch_question(preview), ConfirmCall)


async def gate_batch(
    ctx: Context,
    batch_id: UUID,
    *,
    dry_run: bool,
    token: str | None,
    confirmation: ElicitationResult[ConfirmCall],
) -> Gate:
    """start_batch's rules over every waiting row, then the dry run, the person's answer or the token."""
    guards = guards_of(ctx)
    batch = await _load_batch(kupe(ctx), batch_id)
    plan = _plan_batch(guards, batch)
    return await _decide(
        ctx,
        guards,
        plan,
        Gate(guards, numbers=tuple(d.e164 for d in plan.destinations)),
        confirmation=confirmation,
        dry_run=dry_run,
        token=token,
        tool="start_batch",
        flag="started",
        preview=lambda: _batch_preview(ctx, guards, plan, batch),
        digest=lambda: batch.digest(plan),
        rows=plan.count,
        nothing_done=f"batch {batch.batch_id} was not started, nobody was rung",
    )


# -- add_batch_recipients ------------------------------------------------------------------------

MAX_CSV_ROWS = 5000
_PHONE_COLUMNS = ("to_phonenumber", "phone_number", "phone", "number")


@dataclass(frozen=True)
class RecipientRow:
    """One submitted recipient: where it came from (for the rejection report), its number and variables."""

    row: int
    phone_number: str
    variables: dict[str, Any]


def recipients_from_csv(name: str, data: bytes) -> list[RecipientRow]:
    """Rows of a recipients CSV: a phone column (to_phonenumber, phone_number, phone or number), the rest variables.

    Raises ToolError when the file is not such a CSV.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ToolError(f"{name} is not UTF-8 text: save it as a UTF-8 CSV and try again.") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = {c.strip().lower(): c for c in reader.fieldnames or [] if c}
    phone = next((columns[c] for c in _PHONE_COLUMNS if c in columns), None)
    if phone is None:
        raise ToolError(
            f"{name} has no phone column: name one to_phonenumber (or phone_number), one column per variable."
        )
    rows: list[RecipientRow] = []
    for index, record in enumerate(reader, start=2):
        if len(rows) >= MAX_CSV_ROWS:
            raise ToolError(f"{name} has more than {MAX_CSV_ROWS} rows: split it into several files.")
        variables = {
            k.strip(): v.strip() for k, v in record.items() if k and k != phone and isinstance(v, str) and v.strip()
        }
        rows.append(RecipientRow(index, str(record.get(phone) or ""), variables))
    return rows


def screen_recipients(
    guards: CallGuards, rows: list[RecipientRow], *, batch_id: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Kupe upsert items for the rows whose numbers may be called, and the rejected rows with reasons.

    Checks what §1 of the rules checks (valid, dialable, not premium-rate or emergency,
    block and allow lists) and refuses duplicates; calling hours are checked when the batch
    starts. Raises CallRefused when no row is left, so nothing is sent.
    """
    accepted: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for row in rows:
        try:
            dest = guards.destination(row.phone_number)
        except CallRefused as exc:
            rejected.append({"row": row.row, "phone_number": row.phone_number, "reason": str(exc)})
            continue
        if dest.e164 in seen:
            reason = f"{dest.e164} is already in row {seen[dest.e164]}; each person is called once."
            rejected.append({"row": row.row, "phone_number": row.phone_number, "reason": reason})
            continue
        seen[dest.e164] = row.row
        accepted.append({"to_phonenumber": dest.e164, "variable_values": dict(row.variables)})
    if not accepted:
        reasons = "; ".join(f"row {r['row']}: {r['reason'].rstrip('.')}" for r in rejected[:3])
        raise CallRefused(
            f"Refused to add recipients to batch {batch_id}: none of the {len(rows)} rows may be called "
            f"({reasons}); fix the numbers and try again."
        )
    return accepted, rejected
