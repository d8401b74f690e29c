"""User-scoped definitions (post-analysis rules, HTTP/MCP tool defs) and agent sub-resources
(tools, post-analysis mapping, webhooks)."""

from __future__ import annotations

import copy
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field
from starlette.responses import Response

from ._http import Ctx, Principal, RouteTable, fail, invalid, not_found, ok, validate
from ._routes_calls import dial, parse_target
from ._routes_core import load_agent, refuse_if_active
from ._state import new_id
from ._store import Doc

routes = RouteTable()

_SERVER_FIELDS = ("id", "user_id", "created_at", "updated_at")


@dataclass(frozen=True)
class Resource:
    """A user-owned JSON resource with plain CRUD; one table row instead of five near-identical handlers."""

    base: str
    kind: str
    label: str
    required: tuple[str, ...]
    defaults: dict[str, Any] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    url_fields: tuple[str, ...] = ()
    list_key: str | None = None  # wrap lists as {list_key: [...], "total": n}
    create_status: int = 201


RULES = Resource(
    "/api/v1/post-analysis/rules",
    "rule",
    "Post-analysis rule",
    ("name",),
    {"description": None, "rule_type": "structured_output", "prompt": None, "output_schema": None, "is_active": True},
    create_status=200,
)
TOOL_DEFS = Resource(
    "/api/v1/tool-endpoint-defs",
    "tool_endpoint_def",
    "Tool endpoint definition",
    ("name", "url"),
    {"description": None, "method": "POST", "headers": {}, "tool_schema": {}, "timeout_s": 10},
    url_fields=("url",),
    list_key="tools",
)
MCP_DEFS = Resource(
    "/api/v1/tools-mcp-server-defs",
    "mcp_server_def",
    "MCP server definition",
    ("name", "server_url"),
    {"description": None, "transport": "streamable_http", "headers": {}, "allowed_tools": []},
    aliases={"url": "server_url"},
    url_fields=("server_url",),
    list_key="tools",
)


def _check_fields(res: Resource, data: Doc, *, creating: bool) -> Doc:
    for alias, canonical in res.aliases.items():
        if alias in data:
            data.setdefault(canonical, data.pop(alias))
    for key in _SERVER_FIELDS:
        data.pop(key, None)
    for key in res.required:
        value = data.get(key)
        if (creating or key in data) and (not isinstance(value, str) or not value.strip()):
            invalid(["body", key], "Field required (non-empty string)", value, "missing")
    for key in res.url_fields:
        if key in data and not str(data[key]).startswith(("http://", "https://")):
            fail(400, f"{key} must be an http(s) URL")
    return data


def load_owned(ctx: Ctx, res: Resource, item_id: str) -> Doc:
    doc = ctx.store.get(res.kind, item_id)
    if doc is None or doc["user_id"] != ctx.uid:
        not_found(res.label, item_id)
    return doc


def _crud(res: Resource) -> None:
    async def list_items(ctx: Ctx) -> Response:
        items = ctx.store.list(res.kind, user_id=ctx.uid)
        return ok({res.list_key: items, "total": len(items)} if res.list_key else items)

    async def create_item(ctx: Ctx) -> Response:
        data = _check_fields(res, await ctx.body_obj(), creating=True)
        now = ctx.now_iso()
        doc = {
            **copy.deepcopy(res.defaults),
            **data,
            "id": new_id(),
            "user_id": ctx.uid,
            "created_at": now,
            "updated_at": now,
        }
        return ok(ctx.store.put(res.kind, doc), res.create_status)

    async def get_item(ctx: Ctx) -> Response:
        return ok(load_owned(ctx, res, ctx.path("item_id")))

    async def update_item(ctx: Ctx) -> Response:
        doc = load_owned(ctx, res, ctx.path("item_id"))
        doc.update(_check_fields(res, await ctx.body_obj(), creating=False), updated_at=ctx.now_iso())
        return ok(ctx.store.put(res.kind, doc))

    async def delete_item(ctx: Ctx) -> Response:
        doc = load_owned(ctx, res, ctx.path("item_id"))
        with ctx.store.transaction():
            ctx.store.delete(res.kind, doc["id"])
            _forget(ctx, doc["id"])
        return ok({"message": f"{res.label} deleted", "id": doc["id"]})

    for method, path, fn in (
        ("GET", res.base, list_items),
        ("POST", res.base, create_item),
        ("GET", f"{res.base}/{{item_id}}", get_item),
        ("PUT", f"{res.base}/{{item_id}}", update_item),
        ("DELETE", f"{res.base}/{{item_id}}", delete_item),
    ):
        fn.__name__ = f"{fn.__name__}_{res.kind}"
        routes.add(method, path)(fn)


def _forget(ctx: Ctx, item_id: str) -> None:
    """Detach a deleted rule or tool definition from every agent that referenced it."""
    for agent in ctx.store.list("agent", user_id=ctx.uid):
        tools = agent["configurations"]["tools"]
        rule_ids = agent.get("rule_ids", [])
        if item_id in rule_ids or any(t["tool_id"] == item_id for t in tools):
            agent["rule_ids"] = [r for r in rule_ids if r != item_id]
            agent["configurations"]["tools"] = [t for t in tools if t["tool_id"] != item_id]
            ctx.store.put("agent", agent)


@routes.post("/api/v1/post-analysis/rules/{item_id}/duplicate")
async def duplicate_rule(ctx: Ctx) -> Response:
    rule = load_owned(ctx, RULES, ctx.path("item_id"))
    now = ctx.now_iso()
    copy_ = {
        **copy.deepcopy(rule),
        "id": new_id(),
        "name": f"{rule['name']} (copy)",
        "created_at": now,
        "updated_at": now,
    }
    return ok(ctx.store.put("rule", copy_))


for _res in (RULES, TOOL_DEFS, MCP_DEFS):
    _crud(_res)


# -- agent tools -------------------------------------------------------------------------

_TOOL_KINDS = {"http": TOOL_DEFS, "mcp": MCP_DEFS}


class AgentToolIn(BaseModel):
    tool_id: str
    tool_type: str | None = Field(None, pattern="^(http|mcp)$")
    config: dict[str, Any] = Field(default_factory=dict)


def _tool_items(ctx: Ctx, agent: Doc, raw: Any) -> list[Doc]:
    if isinstance(raw, dict) and "tools" in raw:
        raw = raw["tools"]
    if not isinstance(raw, list):
        invalid(["body"], "Input should be a valid list", raw, "list_type")
    items = []
    for index, entry in enumerate(raw):
        spec = validate(AgentToolIn, entry, ("body", index))
        kinds = [spec.tool_type] if spec.tool_type else list(_TOOL_KINDS)
        found = next(((k, d) for k in kinds if (d := ctx.store.get(_TOOL_KINDS[k].kind, spec.tool_id))), None)
        if found is None or found[1]["user_id"] != ctx.uid:
            not_found("Tool", spec.tool_id)
        kind, definition = found
        items.append(
            {
                "id": new_id(),
                "agent_id": agent["id"],
                "tool_id": definition["id"],
                "tool_type": kind,
                "name": definition["name"],
                "config": spec.config,
                "created_at": ctx.now_iso(),
            }
        )
    return items


@routes.get("/api/v1/agents/{agent_id}/tools")
async def agent_tools(ctx: Ctx) -> Response:
    return ok(load_agent(ctx)["configurations"]["tools"])


@routes.post("/api/v1/agents/{agent_id}/tools")
async def add_agent_tools(ctx: Ctx) -> Response:
    agent = load_agent(ctx)
    current = agent["configurations"]["tools"]
    known = {t["tool_id"] for t in current}
    current.extend(t for t in _tool_items(ctx, agent, await ctx.body_json()) if t["tool_id"] not in known)
    ctx.store.put("agent", agent)
    return ok({"message": "Tools added to agent", "tools": current})


@routes.patch("/api/v1/agents/{agent_id}/tools")
async def replace_agent_tools(ctx: Ctx) -> Response:
    agent = load_agent(ctx)
    refuse_if_active(ctx, agent, "force_update", "Agent is active; pass force_update=true to change its configuration")
    agent["configurations"]["tools"] = _tool_items(ctx, agent, await ctx.body_json())
    ctx.store.put("agent", agent)
    return ok({"message": "Agent tools updated", "tools": agent["configurations"]["tools"]})


@routes.delete("/api/v1/agents/{agent_id}/tools/{tool_id}")
async def remove_agent_tool(ctx: Ctx) -> Response:
    agent = load_agent(ctx)
    tool_id = ctx.path("tool_id")
    tools = agent["configurations"]["tools"]
    kept = [t for t in tools if tool_id not in (t["tool_id"], t["id"])]
    if len(kept) == len(tools):
        fail(404, f"Tool {tool_id} is not attached to agent {agent['id']}")
    agent["configurations"]["tools"] = kept
    ctx.store.put("agent", agent)
    return ok({"message": "Tool removed from agent", "tool_id": tool_id})


# -- agent post-call analysis --------------------------------------------------------------


class RuleIdsIn(BaseModel):
    rule_ids: list[str]


@routes.get("/api/v1/agents/{agent_id}/post-analysis")
async def agent_post_analysis(ctx: Ctx) -> Response:
    return ok(load_agent(ctx).get("post_analysis", []))


@routes.post("/api/v1/agents/{agent_id}/post-analysis")
async def upsert_agent_post_analysis(ctx: Ctx) -> Response:
    agent = load_agent(ctx)
    body = await ctx.body_obj()
    if body.get("agent_id") not in (None, agent["id"]):
        fail(400, "agent_id in the body must match the agent_id in the path")
    rows = agent.get("post_analysis") or []
    row = rows[0] if rows else {"id": new_id(), "agent_id": agent["id"], "enabled": True, "created_at": ctx.now_iso()}
    row.update(
        {k: v for k, v in body.items() if k not in _SERVER_FIELDS}, agent_id=agent["id"], updated_at=ctx.now_iso()
    )
    agent["post_analysis"] = [row]
    ctx.store.put("agent", agent)
    return ok(row)


@routes.get("/api/v1/agents/{agent_id}/post-analysis/attached-rules")
async def attached_rules(ctx: Ctx) -> Response:
    agent = load_agent(ctx)
    return ok([r for rid in agent.get("rule_ids", []) if (r := ctx.store.get("rule", rid))])


@routes.put("/api/v1/agents/{agent_id}/post-analysis/attached-rules")
async def set_attached_rules(ctx: Ctx) -> Response:
    agent = load_agent(ctx)
    body = await ctx.body(RuleIdsIn)
    rules = [load_owned(ctx, RULES, rid) for rid in dict.fromkeys(body.rule_ids)]
    agent["rule_ids"] = [r["id"] for r in rules]
    ctx.store.put("agent", agent)
    return ok({"agent_id": agent["id"], "rule_ids": agent["rule_ids"], "rules": rules})


@routes.get("/api/v1/agents/{agent_id}/post-analysis/attached-rule-ids")
async def attached_rule_ids(ctx: Ctx) -> Response:
    return ok(load_agent(ctx).get("rule_ids", []))


# -- webhooks ------------------------------------------------------------------------------


def _hooks(ctx: Ctx, agent: Doc) -> Doc:
    """The agent's webhook config, created (and persisted, so the secret is stable) on first use."""
    hooks: Doc | None = agent.get("webhooks")
    if hooks is None:
        hooks = agent["webhooks"] = {
            "incoming": {"enabled": False, "secret": f"whsec_{secrets.token_hex(16)}", "attached_variables": {}},
            "outgoing": {"enabled": False, "url": None, "method": "POST", "headers": {}, "body_template": None},
        }
        ctx.store.put("agent", agent)
    return hooks


def _hooks_view(ctx: Ctx, agent: Doc, *, reveal: bool) -> Doc:
    hooks = copy.deepcopy(_hooks(ctx, agent))
    secret = hooks["incoming"]["secret"]
    hooks["incoming"]["secret"] = secret if reveal else f"whsec_****{secret[-4:]}"
    base = str(ctx.request.base_url).rstrip("/")
    hooks["incoming"]["url"] = f"{base}/api/v1/webhooks/agents/{agent['id']}/incoming"
    return {"agent_id": agent["id"], **hooks, "updated_at": agent["agent"]["updated_at"]}


@routes.get("/api/v1/webhooks/me")
async def my_webhooks(ctx: Ctx) -> Response:
    rows = []
    for agent in ctx.store.list("agent", user_id=ctx.uid):
        view = _hooks_view(ctx, agent, reveal=False)
        rows.append(
            {
                "agent_id": agent["id"],
                "agent_name": agent["agent"]["name"],
                "incoming_url": view["incoming"]["url"],
                "incoming_enabled": view["incoming"]["enabled"],
                "outgoing_url": view["outgoing"]["url"],
                "outgoing_enabled": view["outgoing"]["enabled"],
            }
        )
    return ok({"agents": rows})


@routes.get("/api/v1/webhooks/agents/{agent_id}")
async def get_webhooks(ctx: Ctx) -> Response:
    return ok(_hooks_view(ctx, load_agent(ctx), reveal=ctx.q_bool("reveal_secret")))


@routes.put("/api/v1/webhooks/agents/{agent_id}")
async def put_webhooks(ctx: Ctx) -> Response:
    agent = load_agent(ctx)
    body = await ctx.body_obj()
    hooks = _hooks(ctx, agent)
    for side in ("incoming", "outgoing"):
        patch = body.get(side)
        if patch is None:
            continue
        if not isinstance(patch, dict):
            invalid(["body", side], "Input should be a valid dictionary", patch, "dict_type")
        patch = {k: v for k, v in patch.items() if k not in ("secret", "url") or side == "outgoing"}
        url = patch.get("url")
        if side == "outgoing" and url is not None and not str(url).startswith(("http://", "https://")):
            fail(400, "outgoing.url must be an http(s) URL")
        hooks[side].update(patch)
    agent["agent"]["updated_at"] = ctx.now_iso()
    ctx.store.put("agent", agent)
    return ok(_hooks_view(ctx, agent, reveal=False))


@routes.post("/api/v1/webhooks/agents/{agent_id}/rotate-secret")
async def rotate_secret(ctx: Ctx) -> Response:
    agent = load_agent(ctx)
    _hooks(ctx, agent)["incoming"]["secret"] = f"whsec_{secrets.token_hex(16)}"
    ctx.store.put("agent", agent)
    view = _hooks_view(ctx, agent, reveal=True)
    return ok({"agent_id": agent["id"], "secret": view["incoming"]["secret"], "rotated_at": ctx.now_iso()})


@routes.post("/api/v1/webhooks/agents/{agent_id}/test-outgoing")
async def test_outgoing(ctx: Ctx) -> Response:
    """Simulated delivery only: the sandbox never makes outbound network requests."""
    agent = load_agent(ctx)
    outgoing = _hooks(ctx, agent)["outgoing"]
    if not outgoing.get("url"):
        # Nothing downstream failed (502 is the spec's "Downstream failed"): say what to set, as a 200.
        return ok(
            {
                "success": False,
                "delivered": False,
                "simulated": True,
                "url": None,
                "error": "No outgoing webhook URL configured for this agent; set outgoing.url first",
            }
        )
    payload = {
        "call_id": new_id(),
        "agent_id": agent["id"],
        "customer_name": "Jane Doe",
        "mobile_number": "+15551234567",
        "call_datetime": ctx.now_iso(),
        "call_duration": 132.4,
        "call_direction": "outbound",
        "call_status": "completed",
        "recording_url": "https://sandbox.kupe.local/recordings/test.mp3",
        "lead_status": "Interested",
        "lead_temperature": "Warm",
        "ai_summary": "Test payload from the Kupe sandbox.",
        "post_call_analysis_count": 0,
        "post_call_analyses": [],
    }
    return ok(
        {
            "success": True,
            "delivered": True,
            "simulated": True,
            "url": outgoing["url"],
            "method": outgoing.get("method") or "POST",
            "status_code": 200,
            "response_time_ms": 42,
            "payload": payload,
        }
    )


@routes.post("/api/v1/webhooks/agents/{agent_id}/incoming")
async def incoming_webhook(ctx: Ctx) -> Response:
    """CRM -> Kupe: HMAC-signed (``X-Webhook-Signature: sha256=<hex>``) request to dial out as the agent's owner."""
    agent_id = ctx.path("agent_id")
    agent = ctx.store.get("agent", agent_id)
    if agent is None:
        not_found("Agent", agent_id)
    incoming = _hooks(ctx, agent)["incoming"]
    raw = await ctx.request.body()
    expected = "sha256=" + hmac.new(incoming["secret"].encode(), raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(ctx.request.headers.get("x-webhook-signature", ""), expected):
        fail(401, "Invalid webhook signature")
    if not incoming.get("enabled"):
        fail(403, "Incoming webhook is disabled for this agent")
    body = await ctx.body_obj()
    values = {**incoming.get("attached_variables", {})}
    for key in ("context_params", "variables", "variable_values"):
        if isinstance(body.get(key), dict):
            values.update(body[key])
    target = parse_target(body.get("phoneNumber") or body.get("to_number") or body.get("phone_number"), "phoneNumber")
    ctx.act_as(Principal(agent["user_id"], "webhook", "developer"))
    result = dial(
        ctx,
        user_id=agent["user_id"],
        target=target,
        agent_id=agent["id"],
        workflow_id=None,
        phone_id=body.get("phone_number_id"),
        values=values,
    )
    return ok({**result, "variable_values": values})
