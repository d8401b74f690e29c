"""Lazy simulation of calls and batch campaigns.

Nothing runs in the background: a call stores when it was placed and how long a
status step lasts, and every read recomputes where it "is now" from the injectable
clock.  That keeps the app usable in-process (ASGITransport) as well as over a
socket, and lets tests jump time instead of sleeping.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from . import _ledger
from ._state import Sandbox, iso, new_id
from ._store import Doc, Store

CALL_STEPS = ("queued", "ringing", "in_progress", "completed")
USD_PER_MINUTE = 0.09
UNREACHABLE_DETAIL = "Destination unreachable: carrier rejected the number"
FINAL_ROW_STATUSES = ("completed", "failed", "no_answer")
# Share of a call's cost attributed to each metered service in usage breakdowns.
SERVICE_SPLIT = (("telephony", 0.40), ("llm", 0.25), ("tts", 0.20), ("stt", 0.15))

_PLACEHOLDER = re.compile(r"\{\{\s*([\w.-]+)\s*\}\}")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")


def normalize_number(raw: str) -> str | None:
    """E.164 form of ``raw`` (spaces, dashes, dots and parentheses ignored), or None if it is not one."""
    cleaned = re.sub(r"[\s().-]", "", raw or "")
    return cleaned if _E164.match(cleaned) else None


def stored_digits(raw: str) -> str | None:
    """A recipient number as Kupe stores it in ``batch_data``: digits only (E.164 without ``+``), or None.

    Kupe's spec: recipients are "normalized to digits server-side". A digits-only input is read as international.
    """
    cleaned = re.sub(r"[\s().-]", "", raw or "")
    number = normalize_number(cleaned if cleaned.startswith("+") else f"+{cleaned}")
    return number[1:] if number else None


def unreachable(number: str) -> bool:
    """The sandbox's carrier rejects every destination ending in 0000 (a predictable failure to test with)."""
    return number.endswith("0000")


def substitute(text: str, values: dict[str, Any]) -> str:
    """Replace ``{{key}}`` placeholders; unknown keys stay visible, as on a real call."""
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), text)


def place_call(
    store: Store,
    *,
    user_id: str,
    agent: Doc | None,
    workflow_id: str | None,
    target: str,
    phone: Doc,
    variable_values: dict[str, Any],
    created_ts: float,
    step_s: float,
    fail_reason: str | None = None,
    batch_id: str | None = None,
    call_type: str = "outbound",
) -> Doc:
    """Record a dial; its progress is derived later from ``created_ts`` and ``step_s``."""
    config = agent["configurations"] if agent else {}
    meta = agent["agent"] if agent else {}
    if fail_reason is None and unreachable(target):
        fail_reason = UNREACHABLE_DETAIL
    call_id = new_id()
    call: Doc = {
        "id": call_id,
        "call_session_id": call_id,
        "request_id": new_id(),
        "user_id": user_id,
        "agent_id": agent["id"] if agent else None,
        "agent_name": meta.get("name"),
        "workflow_id": workflow_id,
        "call_type": call_type,
        "direction": "outbound",
        "telephony_provider": "pstn",
        "telephony_leg_id": "SBX" + secrets.token_hex(16),
        "from_number": phone["phone_number"],
        "to_number": target,
        "phone_number_id": phone["id"],
        "batch_id": batch_id,
        "variable_values": variable_values,
        "status": "failed" if fail_reason else "queued",
        "error_message": fail_reason,
        "created_ts": created_ts,
        "step_s": max(step_s, 0.0),
        "created_at": iso(created_ts),
        "updated_at": iso(created_ts),
        "started_at": None,
        "ended_at": iso(created_ts) if fail_reason else None,
        "duration": 0,
        "transcript": [],
        "recording_url": None,
        "summary": None,
        "post_call_analysis_results": [],
        "cost": 0.0,
        "billed": False,
        "open": fail_reason is None,
        "_welcome": substitute(meta.get("first_response_message") or "", variable_values),
        "_system_prompt": substitute(config.get("model_config", {}).get("system_prompt") or "", variable_values),
        "_rule_ids": list(agent.get("rule_ids", [])) if agent else [],
    }
    return store.put("call", call)


def call_status(call: Doc, now: float) -> str:
    if call.get("error_message"):
        return "failed"
    step = float(call["step_s"])
    if step <= 0:
        return "completed"
    idx = int(max(now - float(call["created_ts"]), 0.0) // step)
    return CALL_STEPS[min(idx, len(CALL_STEPS) - 1)]


def refresh_call(sb: Sandbox, call: Doc) -> Doc:
    """Bring one call up to date; on completion build its artefacts and debit the wallet exactly once."""
    if not call.get("open"):
        return call
    now = sb.now()
    status = call_status(call, now)
    if status == call["status"] and status != "completed":
        return call
    store = sb.store
    with store.transaction():
        fresh = store.get("call", call["id"]) or call
        if not fresh.get("open"):
            return fresh
        step = float(fresh["step_s"])
        fresh["status"] = status
        if status in ("in_progress", "completed"):
            fresh["started_at"] = iso(float(fresh["created_ts"]) + 2 * step)
        if status == "completed":
            _finalize(store, fresh, end_ts=float(fresh["created_ts"]) + 3 * step)
        fresh["updated_at"] = iso(now)
        store.put("call", fresh)
    return fresh


def _finalize(store: Store, call: Doc, *, end_ts: float) -> None:
    answered = float(call["created_ts"]) + 2 * float(call["step_s"])
    transcript, duration = build_transcript(call, answered)
    call["transcript"] = transcript
    call["duration"] = duration
    # The simulated conversation runs on its own timeline from the moment of answer.
    call["ended_at"] = iso(answered + duration)
    call["recording_url"] = f"https://sandbox.kupe.local/recordings/{call['id']}.mp3"
    call["summary"] = build_summary(call, duration)
    call["post_call_analysis_results"] = [
        analysis_result(rule, call) for rid in call.get("_rule_ids", []) if (rule := store.get("rule", rid)) is not None
    ]
    call["cost"] = round(duration / 60 * USD_PER_MINUTE, 4)
    call["open"] = False
    if not call["billed"]:
        wallet = _ledger.user_wallet(store, call["user_id"])
        _ledger.post_entry(
            store, wallet, -call["cost"], "usage_debit", end_ts, session_id=call["id"], note="Outbound call usage"
        )
        call["billed"] = True


def _caller_name(values: dict[str, Any]) -> str | None:
    for key in ("name", "customer_name", "first_name", "user_name"):
        if values.get(key):
            return str(values[key])
    return None


def _purpose_line(prompt: str) -> str:
    first = re.split(r"(?<=[.!?])\s+", prompt.strip(), maxsplit=1)[0].strip() if prompt.strip() else ""
    if not first:
        return "I'm calling to see how I can help you today."
    if re.match(r"(?i)^you are\s+", first):
        return "I'm " + re.sub(r"(?i)^you are\s+", "", first).rstrip(".!?") + ", and I'm here to help."
    return f"Here's what I can help with: {first}"


def build_transcript(call: Doc, answered_ts: float) -> tuple[list[Doc], int]:
    """A short, plausible conversation grounded in the agent's welcome line, prompt and variables."""
    name = _caller_name(call.get("variable_values") or {})
    welcome = call.get("_welcome") or "Hello! How can I help you today?"
    lines = [
        ("assistant", welcome),
        ("user", f"Hi, {'this is ' + name if name else 'yes, speaking'}. What is this call about?"),
        ("assistant", f"Thanks for picking up. {_purpose_line(call.get('_system_prompt') or '')}"),
        ("user", "That makes sense. Could you send me the details after the call?"),
        ("assistant", "Absolutely, I'll make sure the details are sent over right after we hang up."),
        ("user", "Great, thank you. Bye!"),
        ("assistant", f"Thank you{', ' + name if name else ''}! Have a great day. Goodbye."),
    ]
    turns: list[Doc] = []
    offset = 0.0
    for role, text in lines:
        turns.append({"role": role, "text": text, "timestamp": iso(answered_ts + offset)})
        offset += 1.5 + len(text) / 14
    return turns, round(offset)


def build_summary(call: Doc, duration: int) -> str:
    name = _caller_name(call.get("variable_values") or {})
    who = f"{call['to_number']} ({name})" if name else call["to_number"]
    agent = call.get("agent_name") or "The workflow"
    return (
        f"{agent} called {who}. The agent greeted the callee, explained the purpose of the call and agreed "
        "to send the details afterwards. The callee was receptive and the call ended politely "
        f"after {duration} seconds."
    )


def analysis_result(rule: Doc, call: Doc) -> Doc:
    schema = rule.get("output_schema") or {}
    props = schema.get("properties") if isinstance(schema, dict) else None
    structured = (
        {key: _sample_value(key, spec, call) for key, spec in props.items()}
        if isinstance(props, dict) and props
        else {"summary": call["summary"], "sentiment": "positive"}
    )
    return {
        "rule_id": rule["id"],
        "rule_name": rule.get("name"),
        "source": "rule",
        "structured_json": structured,
    }


def _sample_value(key: str, spec: Any, call: Doc) -> Any:
    spec = spec if isinstance(spec, dict) else {}
    if spec.get("enum"):
        return spec["enum"][0]
    kind = spec.get("type", "string")
    if kind == "boolean":
        return True
    if kind in ("number", "integer"):
        return 8 if kind == "integer" else 0.8
    if kind == "array":
        return []
    if kind == "object":
        return {}
    if "summary" in key:
        return call["summary"]
    if "sentiment" in key:
        return "positive"
    if "name" in key:
        return _caller_name(call.get("variable_values") or {}) or "Unknown"
    return "Callee asked for details to be sent after the call"


# -- batches -------------------------------------------------------------------------

WAVE_STEPS = 3  # a dial takes queued -> ringing -> in_progress -> completed


def start_batch(sb: Sandbox, batch: Doc, rows: list[Doc]) -> None:
    """Schedule every row: waves of ``batch_size`` dials, each wave after the previous one finishes."""
    now = sb.now()
    step = max(sb.settings.call_step_s, 0.0)
    size = max(int(batch.get("batch_size") or 1), 1)
    with sb.store.transaction():
        for i, row in enumerate(rows):
            row["scheduled_ts"] = now + (i // size) * WAVE_STEPS * step
            sb.store.put("batch_row", row)
        batch.update(status="in_progress", started_at=iso(now), updated_at=iso(now), step_s=step, open=True)
        sb.store.put("batch", batch)


def _advance_batch(sb: Sandbox, batch: Doc) -> None:
    store = sb.store
    now = sb.now()
    phone = store.get("phone", batch["caller_phone_id"])
    agent = store.get("agent", batch["agent_id"]) if batch.get("agent_id") else None
    rows = store.list("batch_row", batch_id=batch["id"])
    for row in rows:
        due = row.get("scheduled_ts")
        if row.get("call_id") or due is None or float(due) > now:
            continue
        reason = _ledger.spend_block_reason(store, batch["user_id"], float(due))
        if phone is None:
            reason = "Caller phone line no longer exists"
        call = place_call(
            store,
            user_id=batch["user_id"],
            agent=agent,
            workflow_id=batch.get("workflow_id"),
            target=f"+{row['to_phonenumber'].lstrip('+')}",
            phone=phone or {"id": batch["caller_phone_id"], "phone_number": None},
            variable_values=row.get("variable_values") or {},
            created_ts=float(due),
            step_s=float(batch.get("step_s", sb.settings.call_step_s)),
            fail_reason=reason,
            batch_id=batch["id"],
            call_type="batch",
        )
        row["call_id"] = call["id"]
        store.put("batch_row", row)
    finished, last_end = True, batch["started_at"]
    for row in rows:
        if row.get("call_id"):
            call = refresh_call(sb, store.get("call", row["call_id"]) or {})
            last_end = max(last_end, call.get("ended_at") or last_end)
            status = {"completed": "completed", "failed": "failed"}.get(call.get("status", ""), "calling")
            if status != row["status"]:
                row.update(status=status, error_message=call.get("error_message"), updated_at=iso(now))
                row["call_session_id"] = call.get("id")
                store.put("batch_row", row)
        finished = finished and row["status"] in FINAL_ROW_STATUSES
    if finished:
        batch.update(status="completed", completed_at=last_end, updated_at=iso(now), open=False)
        store.put("batch", batch)


def advance(sb: Sandbox) -> None:
    """Catch the whole world up to ``clock()``: due batch dials first, then open calls."""
    with sb.store.transaction():
        for batch in sb.store.list_flagged("batch", "open"):
            _advance_batch(sb, batch)
        for call in sb.store.list_flagged("call", "open"):
            refresh_call(sb, call)


def call_view(call: Doc) -> Doc:
    """The public call-session object (private simulation fields stripped)."""
    view = {
        k: v for k, v in call.items() if not k.startswith("_") and k not in ("open", "billed", "step_s", "created_ts")
    }
    view["call_duration"] = call["duration"]
    view["from_phone_number"] = call["from_number"]
    view["target_number"] = call["to_number"]
    return view
