"""Current user, agents, provider catalog, voices, noise assets and phone lines."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, Field
from starlette.responses import Response

from . import _agents
from ._http import Ctx, Handler, RouteTable, fail, is_uuid, not_found, ok, page_of, validate
from ._state import new_id
from ._store import Doc

routes = RouteTable()


def load_agent(ctx: Ctx, param: str = "agent_id", agent_id: str | None = None) -> Doc:
    """The caller's agent or 404 (another user's agent is indistinguishable from a missing one)."""
    if agent_id is None:
        agent_id = ctx.path(param)
    elif not is_uuid(agent_id):
        fail(400, f"Invalid agent_id '{agent_id}': expected a UUID")
    doc = ctx.store.get("agent", agent_id)
    if doc is None or (doc["user_id"] != ctx.uid and not ctx.user.is_super_admin):
        not_found("Agent", agent_id)
    return doc


def load_phone(ctx: Ctx, phone_id: str) -> Doc:
    """A phone line the caller owns: 404 if it does not exist, 403 if it belongs to someone else."""
    phone = ctx.store.get("phone", phone_id)
    if phone is None:
        not_found("Phone number", phone_id)
    if phone["user_id"] != ctx.uid:
        fail(403, f"Phone number {phone_id} does not belong to the authenticated user")
    return phone


# -- current user ----------------------------------------------------------------------


def user_view(user: Doc, auth: str | None = None) -> Doc:
    meta = user.get("user_metadata") or {}
    view = {
        "user_id": user["id"],
        "email": user.get("email"),
        "phone": user.get("phone"),
        "profile_image_url": meta.get("avatar_url") or meta.get("picture"),
        "full_name": user.get("full_name"),
        "user_metadata": meta,
    }
    if auth:
        view["auth"] = auth
    return view


@routes.get("/api/v1/me")
async def me(ctx: Ctx) -> Response:
    user = ctx.store.get("user", ctx.uid) or {"id": ctx.uid}
    return ok(user_view(user, ctx.user.auth))


@routes.get("/api/v1/me/users")
async def me_users(ctx: Ctx) -> Response:
    if not ctx.user.is_super_admin:
        return ok(
            {"users": [], "total": 0, "message": "User listing requires organization admin or super admin access"}
        )
    users = [{**user_view(u), "role": u.get("org_role"), "org_id": u.get("org_id")} for u in ctx.store.list("user")]
    return ok({"users": users, "total": len(users)})


# -- agents ----------------------------------------------------------------------------


class SimpleAgentIn(BaseModel):
    name: str  # the spec sets no length limits
    description: str | None = None


def _own_agents(ctx: Ctx) -> list[Doc]:
    return ctx.store.list("agent", user_id=ctx.uid)


@routes.get("/api/v1/agents")
async def list_agents(ctx: Ctx) -> Response:
    """Non-admins get a JSON array; super-admin sessions asking for pages/scope get a paged object."""
    page, page_size = ctx.q_int("page", 1, 1), ctx.q_int("page_size", 20, 1, 100)  # validated for everyone
    scope = ctx.q_enum("scope", ("mine", "all"))
    paged = ctx.user.is_super_admin and any(ctx.q(k) is not None for k in ("page", "page_size", "scope", "q"))
    if not paged:
        return ok([_agents.summary(d) for d in _own_agents(ctx)])
    docs = ctx.store.list("agent") if scope == "all" else _own_agents(ctx)
    needle = (ctx.q("q") or "").casefold()
    items = [_agents.summary(d) for d in docs if needle in d["agent"]["name"].casefold()]
    return ok(page_of(items, page, page_size))


@routes.get("/api/v1/agents/summary")
async def agents_summary(ctx: Ctx) -> Response:
    needle = (ctx.q("name_search") or "").casefold()
    items = [_agents.summary(d) for d in _own_agents(ctx) if needle in d["agent"]["name"].casefold()]
    return ok(page_of(items, ctx.q_int("page", 1, 1), ctx.q_int("page_size", 10, 1, 100)))


@routes.get("/api/v1/agents/stats")
async def agents_stats(ctx: Ctx) -> Response:
    agents = _own_agents(ctx)
    calls = ctx.store.list("call", user_id=ctx.uid)
    per_agent = []
    for doc in agents:
        mine = [c for c in calls if c["agent_id"] == doc["id"]]
        per_agent.append(
            {
                "agent_id": doc["id"],
                "name": doc["agent"]["name"],
                "is_active": doc["agent"]["is_active"],
                "total_calls": len(mine),
                "completed_calls": sum(c["status"] == "completed" for c in mine),
                "total_duration_seconds": sum(c["duration"] for c in mine),
            }
        )
    active = sum(d["agent"]["is_active"] for d in agents)
    return ok(
        {
            "total_agents": len(agents),
            "active_agents": active,
            "inactive_agents": len(agents) - active,
            "total_calls": len(calls),
            "completed_calls": sum(c["status"] == "completed" for c in calls),
            "failed_calls": sum(c["status"] == "failed" for c in calls),
            "total_duration_seconds": sum(c["duration"] for c in calls),
            "total_cost_usd": round(sum(c["cost"] for c in calls), 4),
            "agents": per_agent,
        }
    )


@routes.post("/api/v1/agents")
async def create_agent(ctx: Ctx) -> Response:
    body = await ctx.body_obj()
    _agents.reject_null_sections(body)
    if not isinstance(body.get("agent"), dict):
        fail(422, [{"type": "missing", "loc": ["body", "agent"], "msg": "Field required", "input": body}])
    doc = _agents.new_agent(ctx.store, user_id=ctx.uid, now=ctx.now(), agent_in=body["agent"], sections=body)
    ctx.store.put("agent", doc)
    return ok(_agents.view(doc), 201)


@routes.post("/api/v1/agents/simple")
async def create_agent_simple(ctx: Ctx) -> Response:
    """Platform defaults everywhere; starts inactive so it can be configured before going live."""
    body = await ctx.body(SimpleAgentIn)
    agent_in = {"name": body.name, "description": body.description or "", "is_active": False}
    doc = _agents.new_agent(ctx.store, user_id=ctx.uid, now=ctx.now(), agent_in=agent_in, sections={})
    ctx.store.put("agent", doc)
    return ok(_agents.view(doc), 201)


@routes.get("/api/v1/agents/{agent_id}")
async def get_agent(ctx: Ctx) -> Response:
    return ok(_agents.view(load_agent(ctx)))


def refuse_if_active(ctx: Ctx, doc: Doc, flag: str, detail: str) -> None:
    """A live agent changes only when the caller passes ``flag``=true (read even when not needed, as FastAPI does)."""
    force = ctx.q_bool(flag)
    if doc["agent"]["is_active"] and not force:
        fail(400, detail)


@routes.put("/api/v1/agents/{agent_id}")
async def update_agent(ctx: Ctx) -> Response:
    doc = load_agent(ctx)
    body = await ctx.body_obj()
    _agents.reject_null_sections(body)
    force = ctx.q_bool("force_update")  # validated whether or not it is needed, as FastAPI does
    if doc["agent"]["is_active"] and _agents.touches_config(body) and not force:
        fail(400, _agents.ACTIVE_DETAIL)
    if body.get("agent") is not None:
        _agents.apply_agent_fields(doc, body["agent"], ctx.now())
    for section in _agents.CONFIG_SECTIONS:
        if body.get(section) is not None:
            _agents.apply_section(ctx.store, doc, section, body[section])
    doc["agent"]["updated_at"] = ctx.now_iso()
    ctx.store.put("agent", doc)
    return ok(_agents.view(doc))


def _patch_section(section: str) -> Handler:
    async def patch_config(ctx: Ctx) -> Response:
        doc = load_agent(ctx)
        raw = await ctx.body_obj()
        refuse_if_active(ctx, doc, "force_update", _agents.ACTIVE_DETAIL)
        _agents.apply_section(ctx.store, doc, section, raw, ("body",))
        doc["agent"]["updated_at"] = ctx.now_iso()
        ctx.store.put("agent", doc)
        return ok(_agents.view(doc))

    patch_config.__name__ = f"patch_{section}"
    return patch_config


for _slug, _section in (
    ("model-config", "agent_model_config"),
    ("tts-config", "tts_config"),
    ("transcriber-config", "transcriber_config"),
    ("vad-config", "vad_config"),
):
    routes.patch(f"/api/v1/agents/{{agent_id}}/{_slug}")(_patch_section(_section))


@routes.delete("/api/v1/agents/{agent_id}")
async def delete_agent(ctx: Ctx) -> Response:
    doc = load_agent(ctx)
    refuse_if_active(ctx, doc, "force_delete", "Cannot delete active agent without force: pass force_delete=true")
    store = ctx.store
    with store.transaction():
        store.delete("agent", doc["id"])
        for phone in store.list("phone", agent_id=doc["id"]):
            phone["agent_id"] = None
            store.put("phone", phone)
        for mapping in store.list("file_map", agent_id=doc["id"]):
            store.delete("file_map", mapping["id"])
    return ok({"message": "Agent deleted successfully", "data": {"agent_id": doc["id"]}})


# -- catalog ---------------------------------------------------------------------------


def _provider_rows(ctx: Ctx, category: str) -> list[Doc]:
    return [{k: v for k, v in r.items() if k != "category"} for r in ctx.store.list("provider", category=category)]


def _provider_list(category: str) -> Handler:
    async def list_providers(ctx: Ctx) -> Response:
        return ok(_provider_rows(ctx, category))

    list_providers.__name__ = f"list_{category}_providers"
    return list_providers


for _slug, _category in (("model", "llm"), ("stt", "stt"), ("tts", "tts"), ("vad", "vad")):
    routes.get(f"/api/v1/providers/{_slug}")(_provider_list(_category))


@routes.get("/api/v1/providers/all")
async def all_providers(ctx: Ctx) -> Response:
    return ok(
        {
            "model_providers": _provider_rows(ctx, "llm"),
            "tts_providers": _provider_rows(ctx, "tts"),
            "stt_providers": _provider_rows(ctx, "stt"),
            "vad_providers": _provider_rows(ctx, "vad"),
        }
    )


class VoiceIn(BaseModel):
    name: str = Field(min_length=1)
    provider_id: str | None = None
    tts_model_name: str | None = None
    voice_id: str | None = None
    gender: str | None = None
    language: str | None = None


def _visible_voices(ctx: Ctx) -> list[Doc]:
    return [v for v in ctx.store.list("tts_voice") if v.get("user_id") in (None, ctx.uid)]


@routes.get("/api/v1/tts-voices")
async def list_voices(ctx: Ctx) -> Response:
    return ok(_visible_voices(ctx))


@routes.post("/api/v1/tts-voices")
async def create_voice(ctx: Ctx) -> Response:
    body = await ctx.body(VoiceIn)
    code = body.provider_id or body.tts_model_name
    if not code:
        fail(400, "Send provider_id (TTS row UUID) or tts_model_name to link the voice to a TTS provider")
    row = _agents.resolve_provider(ctx.store, "tts", code, "provider_id")
    voice = {
        "id": new_id(),
        "user_id": ctx.uid,
        "name": body.name,
        "voice_name": body.name,
        "voice_id": body.voice_id or body.name.lower(),
        "provider_id": row["id"],
        "provider_name": row["provider_name"],
        "tts_model_name": row["model_name"],
        "gender": body.gender,
        "language": body.language,
        "preview_url": None,
        "created_at": ctx.now_iso(),
    }
    return ok(ctx.store.put("tts_voice", voice), 201)


@routes.get("/api/v1/tts-voices/provider/{provider_id}")
async def voices_by_provider(ctx: Ctx) -> Response:
    row = _agents.resolve_provider(ctx.store, "tts", ctx.raw_path("provider_id"), "provider_id")
    return ok([v for v in _visible_voices(ctx) if v["provider_id"] == row["id"]])


@routes.get("/api/v1/tts-voices/{voice_id}")
async def get_voice(ctx: Ctx) -> Response:
    voice_id = ctx.path("voice_id")
    voice = ctx.store.get("tts_voice", voice_id)
    if voice is None or voice.get("user_id") not in (None, ctx.uid):
        not_found("TTS voice", voice_id)
    return ok(voice)


@routes.get("/api/v1/noise-assets")
async def noise_assets(ctx: Ctx) -> Response:
    return ok(ctx.store.list("noise_asset"))


# -- phone lines -----------------------------------------------------------------------


class PhoneMappingIn(BaseModel):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"agent_id", "workflow_id"})
    phone_number_id: str
    agent_id: str | None = None
    workflow_id: str | None = None


def mapping_view(phone: Doc) -> Doc:
    return {
        "phone_number_id": phone["id"],
        "phone_number": phone["phone_number"],
        "agent_id": phone.get("agent_id"),
        "workflow_id": phone.get("workflow_id"),
        "user_id": phone["user_id"],
        "updated_at": phone["updated_at"],
    }


@routes.get("/api/v1/phone")
async def list_phones(ctx: Ctx) -> Response:
    return ok({"success": True, "phone_numbers": ctx.store.list("phone", user_id=ctx.uid)})


@routes.post("/api/v1/phone/mapping")
async def create_mapping(ctx: Ctx) -> Response:
    body = validate(PhoneMappingIn, await ctx.body_obj())
    if bool(body.agent_id) == bool(body.workflow_id):
        fail(400, "Send exactly one of agent_id or workflow_id")
    phone = load_phone(ctx, body.phone_number_id)
    if body.agent_id:
        load_agent(ctx, agent_id=body.agent_id)
    phone.update(agent_id=body.agent_id, workflow_id=body.workflow_id, updated_at=ctx.now_iso())
    ctx.store.put("phone", phone)
    return ok({"success": True, "message": "Phone number mapped successfully", "data": mapping_view(phone)})


@routes.get("/api/v1/phone/mapping/agent/{agent_id}")
async def mappings_for_agent(ctx: Ctx) -> Response:
    agent = load_agent(ctx)
    phones = ctx.store.list("phone", user_id=ctx.uid, agent_id=agent["id"])
    return ok({"success": True, "data": [mapping_view(p) for p in phones]})


@routes.get("/api/v1/phone/mapping/{phone_number_id}")
async def mapping_for_phone(ctx: Ctx) -> Response:
    phone = load_phone(ctx, ctx.path("phone_number_id"))
    if not phone.get("agent_id") and not phone.get("workflow_id"):
        fail(404, f"No agent or workflow mapping found for phone number {phone['id']}")
    return ok({"success": True, "data": mapping_view(phone)})
