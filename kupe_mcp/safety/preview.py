"""What the person is shown: previews, the confirmation question, and dry runs' money facts.

Text that comes from outside the person (agent and batch names, caller-line names, variable
values, row values, ids Kupe returned) is shown as quoted data (``quoted``): a newline or any
other control or format character is escaped, so no value can forge a ``To:`` or ``Note:``
line. The question's last line is a short check of the subject's digest, so any change in
what will be dialled changes the question, and the SDK never reuses an answer to another one.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from mcp.server.mcpserver import Context

from kupe_mcp.client import KupeClient
from kupe_mcp.errors import KupeError
from kupe_mcp.safety.agent import agent_facts, label
from kupe_mcp.safety.context import guards_of, kupe
from kupe_mcp.safety.subjects import Subject
from kupe_mcp.text.untrusted import one_line, quoted

__all__ = ["money", "one_line", "preview", "question", "quoted"]

SAMPLE_ROWS = 5
COST_SAMPLE = 20


def _values(values: dict[str, Any] | None) -> str:
    items = sorted((values or {}).items())
    return "{" + ", ".join(f"{quoted(k)}: {quoted(v)}" for k, v in items) + "}" if items else "none"


async def _runner_name(ctx: Context, agent_id: UUID | str | None, workflow_id: UUID | str | None) -> str:
    if not agent_id:
        return f"workflow {quoted(workflow_id or 'unknown')}"
    name, _ = await agent_facts(ctx, agent_id)
    return f"{quoted(name)} (agent {quoted(agent_id)})"


async def _line_text(ctx: Context, phone_number_id: UUID | str | None) -> str:
    if phone_number_id is None:
        return "a line Kupe picks"

    async def fetch() -> str:
        for line in await kupe(ctx).list_phone_numbers():
            row = line.to_json()
            if str(row.get("id")) == str(phone_number_id):
                name = f" ({quoted(row['friendly_name'])})" if row.get("friendly_name") else ""
                return f"{quoted(row.get('phone_number'))}{name}"
        return f"line {quoted(phone_number_id)} (not among list_phone_numbers)"

    return await label(ctx, "line", str(phone_number_id), fetch)


def _notes(ctx: Context, subject: Subject) -> list[str]:
    window = guards_of(ctx).policy.repeat_window_s
    span = f"{window / 60:g} min" if window >= 60 else f"{window:g} s"
    plan = subject.plan
    repeats = [f"{p.e164} was already called in the last {span} ({p.describe()})." for p in plan.prior]
    return [one_line(n) for n in repeats + list(plan.notes)]


async def preview(ctx: Context, subject: Subject) -> dict[str, Any]:
    """What will be dialled, as data (dry runs and token previews)."""
    plan = subject.plan
    out: dict[str, Any]
    if subject.batch is None:
        assert subject.call is not None
        request, dest = subject.call, plan.destinations[0]
        out = {
            "destination": dest.e164,
            "country": dest.country,
            "line_type": dest.kind or None,
            "agent": await _runner_name(ctx, request.agent_id, request.workflow_id),
            "caller_line": await _line_text(ctx, request.phone_number_id),
            "variable_values": request.variable_values or {},
        }
    else:
        batch = subject.batch
        meta = batch.meta
        agent_id, workflow_id = meta.get("agent_id"), meta.get("workflow_id")
        out = {
            "batch_id": batch.batch_id,
            "name": meta.get("batch_name"),
            "recipients": plan.count,
            "agent": await _runner_name(ctx, str(agent_id) if agent_id else None, workflow_id),
            "caller_line": meta.get("caller_phone_number") or meta.get("caller_phone_id"),
            "calls_at_once": meta.get("batch_size"),
            "sample": [
                {"to": d.e164, "country": d.country, "variable_values": r.get("variable_values") or {}}
                for d, r in zip(plan.destinations[:SAMPLE_ROWS], batch.rows, strict=False)
            ],
        }
    notes = _notes(ctx, subject)
    if notes:
        out["notes"] = notes
    return out


async def question(ctx: Context, subject: Subject) -> str:
    """The confirmation question: fixed wording, outside text quoted on its own line, the digest's check last.

    It names no current time, so it renders the same on every round of 2026-07-28.
    """
    shown = await preview(ctx, subject)
    if subject.batch is None:
        kind = f", {shown['line_type']}" if shown.get("line_type") else ""
        lines = [
            "Place this phone call now? It rings a real phone and spends credits.",
            f"To: {shown['destination']} ({shown['country']}{kind})",
            f"Agent: {shown['agent']}",
            f"From: {shown['caller_line']}",
            f"Values: {_values(shown['variable_values'])}",
        ]
    else:
        more = shown["recipients"] - len(shown["sample"])
        lines = [
            f"Start this campaign now? It rings {shown['recipients']} people and spends credits.",
            f"Campaign: {quoted(shown['name'])}",
            f"Agent: {shown['agent']}",
            f"From: {quoted(shown['caller_line'])}",
        ]
        lines += [f"Row: {s['to']} ({s['country']}) {_values(s['variable_values'])}" for s in shown["sample"]]
        if more > 0:
            lines.append(f"Rows not shown: {more} more")
    lines += [f"Note: {n}" for n in shown.get("notes", [])]
    lines.append(f"Check: {subject.digest[:12]}")
    return "\n".join(lines)


async def money(client: KupeClient, count: int) -> dict[str, Any]:
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
    return numbers([c.to_json() for c in calls.items], ("cost", "cost_usd", "total_cost_usd"))[:COST_SAMPLE]
