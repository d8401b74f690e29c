"""Outbound calls, call analytics and batch campaigns."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date
from typing import Any, ClassVar

from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile
from starlette.responses import Response

from . import _ledger, _sim
from ._http import Ctx, RouteTable, fail, invalid, not_found, ok, page_of, validate
from ._routes_core import load_agent, load_phone
from ._state import new_id
from ._store import Doc

routes = RouteTable()

ALLOWED_ORIGINS = frozenset({"https://kupe.in", "https://app.kupe.in", "http://localhost:3000"})
ROW_STATUSES = ("not_started", "calling", "completed", "failed", "no_answer")


class CreateCallBody(BaseModel):
    variable_values: dict[str, Any] = Field(default_factory=dict)


def dial(
    ctx: Ctx,
    *,
    user_id: str,
    target: str,
    agent_id: str | None,
    workflow_id: str | None,
    phone_id: str | None,
    values: dict[str, Any],
) -> Doc:
    """Shared by create_call and the signed incoming webhook: resolve line + agent, check credits, dial."""
    if agent_id and workflow_id:
        fail(400, "Send only one of agent_id or workflow_id")
    phone = load_phone(ctx, phone_id) if phone_id else None
    if not agent_id and not workflow_id:
        if phone is None or not (phone.get("agent_id") or phone.get("workflow_id")):
            fail(400, "agent_id or workflow_id is required (or pass a phone_number_id mapped to an agent)")
        agent_id, workflow_id = phone.get("agent_id"), phone.get("workflow_id")
    agent = load_agent(ctx, agent_id=agent_id) if agent_id else None
    if phone is None:
        lines = [p for p in ctx.store.list("phone", user_id=user_id) if p["is_active"]]
        mapped = [p for p in lines if agent_id and p.get("agent_id") == agent_id]
        if not lines:
            fail(500, "Telephony configuration error: no outbound phone line configured for this user")
        phone = (mapped or lines)[0]
    reason = _ledger.spend_block_reason(ctx.store, user_id, ctx.now())
    if reason:
        fail(402, reason)
    call = _sim.place_call(
        ctx.store,
        user_id=user_id,
        agent=agent,
        workflow_id=workflow_id,
        target=target,
        phone=phone,
        variable_values=values,
        created_ts=ctx.now(),
        step_s=ctx.sb.settings.call_step_s,
    )
    base = {
        "request_id": call["request_id"],
        "call_session_id": call["id"],
        "user_id": user_id,
        "telephony_provider": call["telephony_provider"],
        "target_number": target,
    }
    if call["error_message"]:
        return {"status": "failed", **base, "detail": call["error_message"]}
    return {
        "status": "success",
        **base,
        "from_phone_number": call["from_number"],
        "telephony_leg_id": call["telephony_leg_id"],
    }


def parse_target(raw: str | None, field: str = "phoneNumber") -> str:
    if raw is None or raw == "":
        invalid(["query", field], "Field required", None, "missing")
    target = _sim.normalize_number(raw)
    if target is None:
        fail(
            400,
            f"Invalid {field} '{raw}': use E.164 ('+' then 8-15 digits, e.g. +15551234567); "
            "URL-encode '+' as %2B in query strings",
        )
    return target


@routes.post("/api/call/create_call")
async def create_call(ctx: Ctx) -> Response:
    origin = ctx.request.headers.get("origin")
    if origin is not None and origin.rstrip("/") not in ALLOWED_ORIGINS:
        fail(403, "Origin not allowed")
    target = parse_target(ctx.q("phoneNumber"))
    agent_id, workflow_id, phone_id = (ctx.q_uuid(k) for k in ("agent_id", "workflow_id", "phone_number_id"))
    body = validate(CreateCallBody, await ctx.body_json(required=False) or {})
    result = dial(
        ctx,
        user_id=ctx.uid,
        target=target,
        agent_id=agent_id,
        workflow_id=workflow_id,
        phone_id=phone_id,
        values=body.variable_values,
    )
    return ok(result)


# -- call analytics --------------------------------------------------------------------


def _sessions(ctx: Ctx) -> list[Doc]:
    """The caller's call sessions, newest first (super-admin sessions may pass scope=all)."""
    everyone = ctx.user.is_super_admin and ctx.q("scope") == "all"
    calls = ctx.store.list("call") if everyone else ctx.store.list("call", user_id=ctx.uid)
    return [_sim.call_view(c) for c in reversed(calls)]


def _find_session(ctx: Ctx, request_id: str) -> Doc:
    found = next((s for s in _sessions(ctx) if request_id in (s["request_id"], s["id"])), None)
    if found is None:
        fail(404, f"Call session with request_id {request_id} not found")
    return found


@routes.get("/api/v1/call-analytics")
async def call_analytics(ctx: Ctx) -> Response:
    request_id = ctx.q("request_id")
    if request_id:
        return ok(_find_session(ctx, request_id))
    sessions = _sessions(ctx)
    needle = (ctx.q("filter") or ctx.q("search_filter") or "").casefold()
    if needle:
        sessions = [
            s
            for s in sessions
            if needle in s["request_id"].casefold() or needle in s["call_type"] or needle in s["id"].casefold()
        ]
    if ctx.q("page") is None and ctx.q("page_size") is None:
        return ok(sessions)
    return ok(page_of(sessions, ctx.q_int("page", 1, 1), ctx.q_int("page_size", 20, 1, 100)))


def _parse_date(ctx: Ctx, name: str) -> date:
    raw = ctx.q(name) or ""
    try:
        return date.fromisoformat(raw)
    except ValueError:
        fail(400, f"Invalid {name} '{raw}': expected YYYY-MM-DD")


@routes.get("/api/v1/call-analytics/export")
async def export_calls(ctx: Ctx) -> Response:
    request_id, recordings = ctx.q("request_id"), ctx.q_bool("include_recordings")
    if request_id:
        session = _find_session(ctx, request_id)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("call_session.json", json.dumps(session, indent=2))
            lines = [f"[{t['timestamp']}] {t['role']}: {t['text']}" for t in session["transcript"]]
            archive.writestr("transcript.txt", "\n".join(lines) + "\n")
            if recordings and session["recording_url"]:
                archive.writestr("recording_url.txt", session["recording_url"] + "\n")
        return Response(
            buffer.getvalue(),
            media_type="application/zip",
            headers={"content-disposition": f'attachment; filename="call_{session["request_id"]}.zip"'},
        )
    if not ctx.q("start_date") or not ctx.q("end_date"):
        fail(400, "Pass request_id for a single-call ZIP, or start_date and end_date (YYYY-MM-DD) for a bulk export")
    start, end = _parse_date(ctx, "start_date"), _parse_date(ctx, "end_date")
    if start > end:
        fail(400, "start_date must not be after end_date")
    user = ctx.store.get("user", ctx.uid) or {}
    if not user.get("email"):
        fail(400, "Bulk export needs an email address on the account")
    count = sum(start.isoformat() <= s["created_at"][:10] <= end.isoformat() for s in _sessions(ctx))
    return ok(
        {
            "success": True,
            "message": f"Export queued; a ZIP of {count} call(s) will be emailed to {user['email']}",
            "export_id": new_id(),
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "sessions": count,
            "email": user["email"],
        }
    )


# -- batch campaigns -------------------------------------------------------------------


class CreateBatchIn(BaseModel):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"agent_id", "workflow_id", "user_id", "description"})
    caller_phone_id: str
    batch_name: str = Field(min_length=1)
    agent_id: str | None = None
    workflow_id: str | None = None
    user_id: str | None = None
    description: str | None = None
    variable_names: list[str] = Field(default_factory=list)
    batch_size: int = Field(1, ge=1, le=100)


class UploadJsonIn(BaseModel):
    records: list[dict[str, Any]]


class UpsertItem(BaseModel):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"id"})
    to_phonenumber: str
    id: str | None = None
    variable_values: dict[str, Any] = Field(default_factory=dict)


class UpsertIn(BaseModel):
    items: list[UpsertItem]


def batch_view(ctx: Ctx, batch: Doc) -> Doc:
    rows = ctx.store.list("batch_row", batch_id=batch["id"])
    view = {k: v for k, v in batch.items() if k not in ("open", "step_s")}
    view["total_numbers"] = len(rows)
    return view


def row_view(row: Doc) -> Doc:
    return {k: v for k, v in row.items() if k not in ("scheduled_ts",)}


def load_batch(ctx: Ctx) -> Doc:
    batch_id = ctx.path("batch_id")
    batch = ctx.store.get("batch", batch_id)
    if batch is None or (batch["user_id"] != ctx.uid and not ctx.user.is_super_admin):
        not_found("Batch", batch_id)
    return batch


def _editable(batch: Doc) -> None:
    if batch["status"] != "not_started":
        fail(409, f"Batch {batch['id']} is {batch['status']}; recipients can only change before it starts")


def _new_row(ctx: Ctx, batch: Doc, number: str, values: dict[str, Any]) -> Doc:
    now = ctx.now_iso()
    return {
        "id": new_id(),
        "batch_id": batch["id"],
        "user_id": batch["user_id"],
        "to_phonenumber": number,
        "variable_values": values,
        "status": "not_started",
        "error_message": None,
        "call_session_id": None,
        "created_at": now,
        "updated_at": now,
    }


def _insert_records(ctx: Ctx, batch: Doc, records: list[dict[str, Any]]) -> Doc:
    inserted, errors = 0, []
    with ctx.store.transaction():
        for index, record in enumerate(records):
            raw = str(record.get("to_phonenumber") or "").strip()
            number = _sim.stored_digits(raw)
            if number is None:
                errors.append({"row": index, "to_phonenumber": raw, "error": "Invalid phone number (use E.164)"})
                continue
            values = {k: v for k, v in record.items() if k != "to_phonenumber"}
            ctx.store.put("batch_row", _new_row(ctx, batch, number, values))
            inserted += 1
    return {"inserted": inserted, "failed": len(errors), "errors": errors}


@routes.post("/api/v1/batch-call/create")
async def create_batch(ctx: Ctx) -> Response:
    body = await ctx.body(CreateBatchIn)
    if bool(body.agent_id) == bool(body.workflow_id):
        fail(400, "Send exactly one of agent_id or workflow_id")
    if body.user_id and body.user_id != ctx.uid:
        fail(403, "user_id must match the authenticated user")
    phone = load_phone(ctx, body.caller_phone_id)
    if body.agent_id:
        load_agent(ctx, agent_id=body.agent_id)
    now = ctx.now_iso()
    batch = {
        "id": new_id(),
        "user_id": ctx.uid,
        "agent_id": body.agent_id,
        "workflow_id": body.workflow_id,
        "caller_phone_id": phone["id"],
        "caller_phone_number": phone["phone_number"],
        "batch_name": body.batch_name,
        "description": body.description,
        "status": "not_started",
        "variable_names": body.variable_names,
        "batch_size": body.batch_size,
        "created_at": now,
        "updated_at": now,
        "started_at": None,
        "completed_at": None,
    }
    ctx.store.put("batch", batch)
    return ok({"success": True, "message": "Batch created successfully", "data": batch_view(ctx, batch)}, 201)


@routes.post("/api/v1/batch-call/upload/{batch_id}")
async def upload_batch_csv(ctx: Ctx) -> Response:
    batch = load_batch(ctx)
    _editable(batch)
    async with ctx.request.form() as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            invalid(["body", "file"], "Field required", None, "missing")
        raw = await upload.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        fail(400, "CSV must be UTF-8 encoded")
    reader = csv.DictReader(io.StringIO(text))
    if "to_phonenumber" not in (reader.fieldnames or []):
        fail(400, "CSV must have a to_phonenumber column (plus one column per batch variable)")
    return _inserted(_insert_records(ctx, batch, [dict(r) for r in reader]))


def _inserted(result: Doc) -> Response:
    """The answer to a CSV or JSON upload of recipients."""
    return ok({"success": True, "message": f"Inserted {result['inserted']} recipient(s)", "data": result})


@routes.post("/api/v1/batch-call/upload-json/{batch_id}")
async def upload_batch_json(ctx: Ctx) -> Response:
    batch = load_batch(ctx)
    _editable(batch)
    body = await ctx.body(UploadJsonIn)
    return _inserted(_insert_records(ctx, batch, body.records))


@routes.post("/api/v1/batch-call/{batch_id}/data/upsert")
async def upsert_batch_data(ctx: Ctx) -> Response:
    batch = load_batch(ctx)
    _editable(batch)
    body = await ctx.body(UpsertIn)
    saved, inserted, updated = [], 0, 0
    with ctx.store.transaction():
        for index, item in enumerate(body.items):
            number = _sim.stored_digits(item.to_phonenumber)
            if number is None:
                fail(
                    400,
                    f"items[{index}].to_phonenumber '{item.to_phonenumber}' is not a valid phone number "
                    "(E.164, or its digits with the country code)",
                )
            if item.id:
                row = ctx.store.get("batch_row", item.id)
                if row is None or row["batch_id"] != batch["id"]:
                    not_found("Batch row", item.id)
                row.update(to_phonenumber=number, variable_values=item.variable_values, updated_at=ctx.now_iso())
                updated += 1
            else:
                row = _new_row(ctx, batch, number, item.variable_values)
                inserted += 1
            saved.append(row_view(ctx.store.put("batch_row", row)))
    data = {"inserted": inserted, "updated": updated, "items": saved}
    return ok({"success": True, "message": "Recipients saved", "data": data})


@routes.get("/api/v1/batch-call/me")
async def my_batches(ctx: Ctx) -> Response:
    batches = [batch_view(ctx, b) for b in ctx.store.list("batch", user_id=ctx.uid)]
    return ok({"success": True, "data": batches, "total": len(batches)})


@routes.get("/api/v1/batch-call/browse")
async def browse_batches(ctx: Ctx) -> Response:
    status, needle = ctx.q("status"), (ctx.q("search") or "").casefold()
    batches = [
        batch_view(ctx, b)
        for b in reversed(ctx.store.list("batch", user_id=ctx.uid))
        if (not status or b["status"] == status) and needle in b["batch_name"].casefold()
    ]
    paged = page_of(batches, ctx.q_int("page", 1, 1), ctx.q_int("page_size", 20, 1, 100))
    return ok({"success": True, "data": paged.pop("items"), **paged})


@routes.get("/api/v1/batch-call/user/{user_id}")
async def user_batches(ctx: Ctx) -> Response:
    user_id = ctx.path("user_id")
    if user_id != ctx.uid and not ctx.user.is_super_admin:
        fail(403, "You can only list your own batches")
    batches = [batch_view(ctx, b) for b in ctx.store.list("batch", user_id=user_id)]
    return ok({"success": True, "data": batches, "total": len(batches)})


@routes.post("/api/v1/batch-call/start/{batch_id}")
async def start_batch(ctx: Ctx) -> Response:
    batch = load_batch(ctx)
    if batch["status"] != "not_started":
        fail(409, f"Batch {batch['id']} has already been started (status: {batch['status']})")
    rows = [r for r in ctx.store.list("batch_row", batch_id=batch["id"]) if r["status"] == "not_started"]
    if not rows:
        fail(400, "Batch has no target numbers; upload recipients before starting it")
    reason = _ledger.spend_block_reason(ctx.store, ctx.uid, ctx.now())
    if reason:
        fail(402, reason)
    _sim.start_batch(ctx.sb, batch, rows)
    _sim.advance(ctx.sb)
    data = {"batch_id": batch["id"], "status": "in_progress", "queued": len(rows), "batch_size": batch["batch_size"]}
    return ok({"success": True, "message": "Batch campaign started", "data": data})


@routes.get("/api/v1/batch-call/{batch_id}/data")
async def batch_data(ctx: Ctx) -> Response:
    batch = load_batch(ctx)
    status = ctx.q("status")
    if status and status not in ROW_STATUSES:
        invalid(["query", "status"], f"Input should be one of {', '.join(ROW_STATUSES)}", status, "enum")
    rows = [
        row_view(r) for r in ctx.store.list("batch_row", batch_id=batch["id"]) if not status or r["status"] == status
    ]
    return ok({"success": True, "data": rows, "total": len(rows)})


@routes.get("/api/v1/batch-call/{batch_id}/status")
async def batch_status(ctx: Ctx) -> Response:
    batch = load_batch(ctx)
    rows = ctx.store.list("batch_row", batch_id=batch["id"])
    counts = {s: sum(r["status"] == s for r in rows) for s in ROW_STATUSES}
    counts["total"] = len(rows)
    return ok({"success": True, "data": {"batch": batch_view(ctx, batch), "status_counts": counts}})


@routes.get("/api/v1/batch-call/{batch_id}")
async def get_batch(ctx: Ctx) -> Response:
    return ok({"success": True, "data": batch_view(ctx, load_batch(ctx))})
