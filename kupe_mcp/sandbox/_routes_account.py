"""Billing reads, wallets and ledger, org pricing, earnings, feature flags and API keys."""

from __future__ import annotations

import secrets
from collections import defaultdict
from typing import ClassVar

from pydantic import BaseModel, Field
from starlette.responses import Response

from . import _ledger, _sim
from ._http import Ctx, Handler, RouteTable, UuidStr, fail, invalid, not_found, ok, validate
from ._seed import key_hash
from ._state import new_id
from ._store import Doc

routes = RouteTable()

_PERIOD_DAYS = {"day": 1, "today": 1, "week": 7, "month": 30, "4months": 120, "year": 365, "all": None}


def _cutoff(ctx: Ctx, name: str, default: str = "all", allowed: tuple[str, ...] | None = None) -> tuple[str, float]:
    """A period query value and its start time.

    With ``allowed`` (an OpenAPI ``enum``, e.g. earnings' ``period``) anything else is a 422. Without it the spec
    types the value as a free string and only lists examples in prose (``time_period``, ``time_filter``), so an
    unlisted value is accepted and covers everything, as ``all`` does.
    """
    period = ctx.q_enum(name, allowed, default) if allowed else ctx.q(name)
    period = period if period is not None else default
    days = _PERIOD_DAYS.get(period)
    return period, float("-inf") if days is None else ctx.now() - days * 86400


def require_super_admin(ctx: Ctx) -> None:
    if not ctx.user.is_super_admin:
        fail(403, "This operation requires the super_admin role")


# -- usage (derived from real call sessions) ---------------------------------------------


def usage_row(call: Doc) -> Doc:
    cost = float(call["cost"])
    return {
        "session_id": call["id"],
        "request_id": call["request_id"],
        "agent_id": call["agent_id"],
        "agent_name": call.get("agent_name"),
        "session_type": call["call_type"],
        "to_number": call["to_number"],
        "created_at": call["created_at"],
        "ended_at": call["ended_at"],
        "duration_seconds": call["duration"],
        "total_cost_usd": round(cost, 4),
        "services": [{"service_type": name, "cost_usd": round(cost * share, 4)} for name, share in _sim.SERVICE_SPLIT],
    }


def billed_calls(ctx: Ctx, user_ids: list[str], since: float = float("-inf")) -> list[Doc]:
    calls = [c for uid in user_ids for c in ctx.store.list("call", user_id=uid)]
    return [c for c in reversed(calls) if c.get("billed") and c["created_ts"] >= since]


@routes.get("/api/v1/billing/usage-records")
async def usage_records(ctx: Ctx) -> Response:
    rows = [usage_row(c) for c in billed_calls(ctx, [ctx.uid])]
    total = round(sum(r["total_cost_usd"] for r in rows), 4)
    return ok({"sessions": rows, "total_sessions": len(rows), "total_cost_usd": total, "currency": "USD"})


@routes.get("/api/v1/billing/usage/records")
async def usage_records_grouped(ctx: Ctx) -> Response:
    _, since = _cutoff(ctx, "time_filter")
    usage_type, needle = ctx.q("usage_type"), (ctx.q("search") or "").casefold()
    rows = [usage_row(c) for c in billed_calls(ctx, [ctx.uid], since)] if usage_type in (None, "", "calls") else []
    rows = [
        r for r in rows if not needle or needle in f"{r['agent_name']} {r['request_id']} {r['to_number']}".casefold()
    ]
    # The spec allows page and page_size from 0 (page 0 is the first page, page_size 0 an empty one) and no maximum.
    # limit and offset have no bounds in the spec: a negative one reads as 0.
    limit, offset = max(ctx.q_int("limit", 50, None), 0), max(ctx.q_int("offset", 0, None), 0)
    size = ctx.q_int("page_size", 50)
    if ctx.q("page") is not None:
        limit, offset = size, max(ctx.q_int("page", 1) - 1, 0) * size
    return ok({"grouped_sessions": rows[offset : offset + limit], "total": len(rows), "limit": limit, "offset": offset})


@routes.get("/api/v1/billing/usage/summary")
async def usage_summary(ctx: Ctx) -> Response:
    period, since = _cutoff(ctx, "time_period")
    calls = billed_calls(ctx, [ctx.uid], since)
    monthly = period in ("4months", "year", "all")
    buckets: dict[str, Doc] = defaultdict(lambda: {"calls": 0, "duration_seconds": 0, "cost_usd": 0.0})
    for call in calls:
        bucket = buckets[call["created_at"][:7] if monthly else call["created_at"][:10]]
        bucket["calls"] += 1
        bucket["duration_seconds"] += call["duration"]
        bucket["cost_usd"] = round(bucket["cost_usd"] + call["cost"], 4)
    by_service = {name: round(sum(c["cost"] for c in calls) * share, 4) for name, share in _sim.SERVICE_SPLIT}
    return ok(
        {
            "time_period": period,
            "granularity": "month" if monthly else "day",
            "buckets": [{"period": k, **v} for k, v in sorted(buckets.items())],
            "by_service": by_service,
            "totals": {
                "calls": len(calls),
                "duration_seconds": sum(c["duration"] for c in calls),
                "cost_usd": round(sum(c["cost"] for c in calls), 4),
            },
            "currency": "USD",
        }
    )


@routes.get("/api/v1/billing/usage/overview")
async def usage_overview(ctx: Ctx) -> Response:
    user_id = ctx.q_uuid("user_id") or ctx.uid
    if user_id != ctx.uid and not ctx.user.is_super_admin:
        fail(403, "You can only view usage for your own account")
    calls = billed_calls(ctx, [user_id])
    month = [c for c in calls if c["created_ts"] >= _ledger.month_start(ctx.now())]

    def totals(items: list[Doc]) -> Doc:
        cost = round(sum(c["cost"] for c in items), 4)
        return {"calls": len(items), "duration_seconds": sum(c["duration"] for c in items), "cost_usd": cost}

    return ok({"user_id": user_id, "total": totals(calls), "this_month": totals(month), "currency": "USD"})


@routes.get("/api/v1/billing/usage/sessions/{session_id}")
async def usage_session(ctx: Ctx) -> Response:
    session_id = ctx.path("session_id")
    call = ctx.store.get("call", session_id)
    if call is None or call["user_id"] != ctx.uid:
        not_found("Session", session_id)
    return ok({**usage_row(call), "status": call["status"], "billed": call["billed"]})


@routes.get("/api/v1/billing/usage/export")
async def usage_export(ctx: Ctx) -> Response:
    _cutoff(ctx, "time_filter")
    ctx.q_date("from_date"), ctx.q_date("to_date")
    user = ctx.store.get("user", ctx.uid) or {}
    if not user.get("email"):
        fail(400, "Usage export needs an email address on the account")
    filters = {k: ctx.q(k) for k in ("time_filter", "usage_type", "session_types", "agent_ids", "from_date", "to_date")}
    return ok(
        {
            "success": True,
            "message": f"Usage export queued; a CSV will be emailed to {user['email']}",
            "export_id": new_id(),
            "filters": {k: v for k, v in filters.items() if v is not None},
        }
    )


@routes.get("/api/v1/billing/credit-balance")
async def credit_balance(ctx: Ctx) -> Response:
    summary = _ledger.summary(ctx.store, _ledger.user_wallet(ctx.store, ctx.uid), ctx.now())
    return ok({"credit_balance_usd": summary["balance_usd"], **summary})


# -- wallets -----------------------------------------------------------------------------


class GrantIn(BaseModel):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"note", "expires_at"})
    amount_usd: float = Field(gt=0, le=1_000_000)
    note: str | None = None
    expires_at: str | None = None


class CapIn(BaseModel):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"monthly_cap_usd"})  # null clears the cap
    monthly_cap_usd: float | None = Field(ge=0)


class AdjustIn(BaseModel):
    amount_usd: float
    reason: str = Field(min_length=1)


def _amount_alias(body: Doc) -> Doc:
    """Accept ``amount`` as well as ``amount_usd`` (dashboard spelling)."""
    if "amount" in body and "amount_usd" not in body:
        body["amount_usd"] = body.pop("amount")
    return body


def load_wallet(ctx: Ctx) -> Doc:
    wallet_id = ctx.path("wallet_id")
    wallet = ctx.store.get("wallet", wallet_id)
    if wallet is None or (wallet.get("user_id") != ctx.uid and not ctx.user.is_super_admin):
        not_found("Wallet", wallet_id)
    return wallet


@routes.get("/api/v1/wallets/me")
async def wallet_me(ctx: Ctx) -> Response:
    return ok(_ledger.summary(ctx.store, _ledger.user_wallet(ctx.store, ctx.uid), ctx.now()))


def _wallets_of(ctx: Ctx, owner: str, label: str, field: str) -> Response:
    """Every ``owner`` wallet (super_admin only), each with its owner's ``field`` as ``label``."""
    require_super_admin(ctx)
    rows = []
    for wallet in ctx.store.list("wallet", owner_type=owner):
        found = ctx.store.get(owner, wallet[f"{owner}_id"]) or {}
        rows.append({**_ledger.summary(ctx.store, wallet, ctx.now()), label: found.get(field)})
    return ok({"wallets": rows, "total": len(rows)})


@routes.get("/api/v1/wallets/users")
async def wallets_users(ctx: Ctx) -> Response:
    return _wallets_of(ctx, "user", "email", "email")


@routes.get("/api/v1/wallets/orgs")
async def wallets_orgs(ctx: Ctx) -> Response:
    return _wallets_of(ctx, "org", "org_name", "name")


@routes.get("/api/v1/wallets/orgs/{org_id}/members")
async def wallets_org_members(ctx: Ctx) -> Response:
    org = load_org(ctx)
    members = []
    for user in ctx.store.list("user", org_id=org["id"]):
        wallet = _ledger.user_wallet(ctx.store, user["id"])
        members.append(
            {
                "user_id": user["id"],
                "email": user["email"],
                "role": user.get("org_role"),
                "wallet": _ledger.summary(ctx.store, wallet, ctx.now()),
            }
        )
    return ok({"org_id": org["id"], "members": members, "total": len(members)})


@routes.get("/api/v1/wallets/{wallet_id}")
async def wallet_detail(ctx: Ctx) -> Response:
    wallet = load_wallet(ctx)
    grants = ctx.store.list("grant", wallet_id=wallet["id"])
    ledger = [
        {k: v for k, v in e.items() if k != "ts"} for e in reversed(ctx.store.list("ledger", wallet_id=wallet["id"]))
    ]
    upcoming = [g for g in grants if g.get("expires_at")]
    return ok(
        {
            "wallet": _ledger.summary(ctx.store, wallet, ctx.now()),
            "grants": grants,
            "ledger": ledger,
            "upcoming_expiry": upcoming,
        }
    )


@routes.post("/api/v1/wallets/{wallet_id}/grants")
async def wallet_grant(ctx: Ctx) -> Response:
    require_super_admin(ctx)
    wallet = load_wallet(ctx)
    body = validate(GrantIn, _amount_alias(await ctx.body_obj()))
    grant = {
        "id": new_id(),
        "wallet_id": wallet["id"],
        "user_id": wallet.get("user_id"),
        "amount_usd": body.amount_usd,
        "note": body.note,
        "expires_at": body.expires_at,
        "granted_by": ctx.uid,
        "created_at": ctx.now_iso(),
    }
    with ctx.store.transaction():
        ctx.store.put("grant", grant)
        wallet = _ledger.post_entry(
            ctx.store, wallet, body.amount_usd, "grant", ctx.now(), grant_id=grant["id"], note=body.note
        )
    return ok({"success": True, "grant": grant, "wallet": _ledger.summary(ctx.store, wallet, ctx.now())})


@routes.post("/api/v1/wallets/{wallet_id}/cap")
async def wallet_cap(ctx: Ctx) -> Response:
    require_super_admin(ctx)
    wallet = load_wallet(ctx)
    body = await ctx.body(CapIn)
    wallet.update(monthly_cap_usd=body.monthly_cap_usd, updated_at=ctx.now_iso())
    ctx.store.put("wallet", wallet)
    return ok({"success": True, "wallet": _ledger.summary(ctx.store, wallet, ctx.now())})


@routes.post("/api/v1/wallets/{wallet_id}/adjust")
async def wallet_adjust(ctx: Ctx) -> Response:
    require_super_admin(ctx)
    wallet = load_wallet(ctx)
    body = validate(AdjustIn, _amount_alias(await ctx.body_obj()))
    if body.amount_usd == 0:
        fail(400, "amount_usd must be non-zero")
    wallet = _ledger.post_entry(ctx.store, wallet, body.amount_usd, "adjustment", ctx.now(), note=body.reason)
    return ok({"success": True, "wallet": _ledger.summary(ctx.store, wallet, ctx.now())})


# -- organizations and earnings ----------------------------------------------------------


class BusinessModelIn(BaseModel):
    org_type: str = Field(pattern="^(internal|channel_partner|distributor)$")


class CommissionIn(BaseModel):
    commission_percentage: float = Field(ge=0, le=100)


class MarkupIn(BaseModel):
    markup_percentage: float = Field(ge=0, le=500)
    currency: str = Field("USD", min_length=3, max_length=3)


# URL slug -> (body model, {body field: org field})
_ORG_SETTINGS: dict[str, tuple[type[BaseModel], dict[str, str]]] = {
    "business-model": (BusinessModelIn, {"org_type": "org_type"}),
    "commission": (CommissionIn, {"commission_percentage": "commission_percentage"}),
    "markup": (MarkupIn, {"markup_percentage": "markup_percentage", "currency": "markup_currency"}),
}


def load_org(ctx: Ctx, org_id: str | None = None) -> Doc:
    org_id = org_id or ctx.path("org_id")
    org = ctx.store.get("org", org_id)
    user = ctx.store.get("user", ctx.uid) or {}
    if org is None or (user.get("org_id") != org_id and not ctx.user.is_super_admin):
        not_found("Organization", org_id)
    return org


def _org_setting(slug: str) -> Handler:
    model, fields = _ORG_SETTINGS[slug]

    async def set_org_setting(ctx: Ctx) -> Response:
        org = load_org(ctx)
        body = (await ctx.body(model)).model_dump()
        org.update({org_field: body[key] for key, org_field in fields.items()}, updated_at=ctx.now_iso())
        ctx.store.put("org", org)
        return ok({"success": True, "org": org})

    set_org_setting.__name__ = f"set_org_{slug.replace('-', '_')}"
    return set_org_setting


for _slug in _ORG_SETTINGS:
    routes.post(f"/api/v1/orgs/{{org_id}}/{_slug}")(_org_setting(_slug))

_EARNING_PERIODS = ("day", "week", "month", "year", "all")


def _earnings(ctx: Ctx, org: Doc, *, breakdown: bool) -> Doc:
    if org["org_type"] == "internal":
        fail(403, "Earnings are only available for channel_partner or distributor organizations")
    period, since = _cutoff(ctx, "period", "month", _EARNING_PERIODS)
    members = [u["id"] for u in ctx.store.list("user", org_id=org["id"])]
    calls = billed_calls(ctx, members, since)
    markup, commission = float(org["markup_percentage"]) / 100, float(org["commission_percentage"]) / 100

    def figures(items: list[Doc]) -> Doc:
        base = sum(c["cost"] for c in items)
        return {
            "calls": len(items),
            "billed_usage_usd": round(base, 4),
            "markup_earnings_usd": round(base * markup, 4),
            "commission_earnings_usd": round(base * commission, 4),
            "total_earnings_usd": round(base * (markup + commission), 4),
        }

    head = {
        "org_id": org["id"],
        "org_name": org["name"],
        "org_type": org["org_type"],
        "period": period,
        "currency": "USD",
    }
    if not breakdown:
        rates = {"markup_percentage": org["markup_percentage"], "commission_percentage": org["commission_percentage"]}
        return {**head, **rates, **figures(calls)}
    width = 7 if period in ("year", "all") else 10
    groups: dict[str, list[Doc]] = defaultdict(list)
    for call in calls:
        groups[call["created_at"][:width]].append(call)
    buckets = [{"bucket": key, **figures(items)} for key, items in sorted(groups.items())]
    return {**head, "granularity": "month" if width == 7 else "day", "buckets": buckets}


def _my_org(ctx: Ctx) -> Doc:
    user = ctx.store.get("user", ctx.uid) or {}
    if not user.get("org_id"):
        fail(403, "Earnings require membership of a reseller organization")
    return load_org(ctx, user["org_id"])


@routes.get("/api/v1/earnings/me")
async def earnings_me(ctx: Ctx) -> Response:
    return ok(_earnings(ctx, _my_org(ctx), breakdown=False))


@routes.get("/api/v1/earnings/me/breakdown")
async def earnings_breakdown(ctx: Ctx) -> Response:
    return ok(_earnings(ctx, _my_org(ctx), breakdown=True))


@routes.get("/api/v1/earnings/orgs/{org_id}")
async def earnings_org(ctx: Ctx) -> Response:
    require_super_admin(ctx)
    return ok(_earnings(ctx, load_org(ctx), breakdown=False))


# -- feature flags -----------------------------------------------------------------------


def _flags_user(ctx: Ctx, user_id: str) -> Doc:
    if user_id != ctx.uid and not ctx.user.is_super_admin:
        fail(403, "You can only read or change your own feature flags")
    user = ctx.store.get("user", user_id)
    if user is None:
        not_found("User", user_id)
    return user


@routes.get("/api/v1/feature-flags/me")
async def flags_me(ctx: Ctx) -> Response:
    user = _flags_user(ctx, ctx.uid)
    return ok({"user_id": user["id"], "feature_flags": user.get("feature_flags") or {}})


@routes.get("/api/v1/feature-flags/{user_id}")
async def flags_get(ctx: Ctx) -> Response:
    user = _flags_user(ctx, ctx.path("user_id"))
    return ok({"user_id": user["id"], "feature_flags": user.get("feature_flags") or {}})


@routes.put("/api/v1/feature-flags/{user_id}")
async def flags_put(ctx: Ctx) -> Response:
    user = _flags_user(ctx, ctx.path("user_id"))
    body = await ctx.body_obj()
    updates = body.get("feature_flags", body)
    if not isinstance(updates, dict):
        invalid(["body", "feature_flags"], "Input should be a valid dictionary", updates, "dict_type")
    for key, value in updates.items():
        if "markup" in key:
            fail(400, f"'{key}' is no longer accepted here; set retail markup via POST /api/v1/orgs/{{org_id}}/markup")
        if not isinstance(value, bool):
            fail(400, f"Feature flag '{key}' must be a boolean")
    user["feature_flags"] = {**(user.get("feature_flags") or {}), **updates}
    ctx.store.put("user", user)
    return ok({"user_id": user["id"], "feature_flags": user["feature_flags"]})


# -- API keys ----------------------------------------------------------------------------


class ApiKeyIn(BaseModel):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"user_id"})
    user_id: UuidStr | None = None
    provider_name: str = "milli_chat_ai"
    name: str | None = None
    api_key: str | None = Field(None, min_length=16)


class ApiKeyPatchIn(BaseModel):
    name: str


class ApiKeyExistsIn(BaseModel):
    user_id: str
    provider_name: str = "milli_chat_ai"


def key_view(row: Doc) -> Doc:
    """Never includes the secret (only its first characters, for recognition)."""
    fields = ("id", "user_id", "name", "provider_name", "key_prefix", "is_active", "created_at", "revoked_at")
    return {f: row.get(f) for f in fields}


def _key_owner(ctx: Ctx, user_id: str | None) -> str:
    owner = user_id or ctx.uid
    if owner != ctx.uid and not ctx.user.is_super_admin:
        fail(403, "You can only manage API keys for your own account")
    return owner


def load_key(ctx: Ctx) -> Doc:
    key_id = ctx.path("key_id")
    row = ctx.store.get("api_key", key_id)
    if row is None or not row["is_active"] or row["user_id"] != _key_owner(ctx, ctx.q_uuid("user_id")):
        not_found("API key", key_id)
    return row


@routes.post("/api/v1/api-keys")
async def create_key(ctx: Ctx) -> Response:
    body = await ctx.body(ApiKeyIn)
    owner = _key_owner(ctx, body.user_id)
    secret = body.api_key or f"kupe_sbx_{secrets.token_hex(16)}"
    if ctx.store.find("api_key", secret_hash=key_hash(secret)):
        fail(409, "An API key with this value already exists")
    row: Doc = {
        "id": new_id(),
        "user_id": owner,
        "name": body.name,
        "provider_name": body.provider_name,
        "secret_hash": key_hash(secret),
        "key_prefix": secret[:13],
        "role": "developer",
        "scopes": [],
        "is_active": True,
        "created_at": ctx.now_iso(),
        "revoked_at": None,
    }
    ctx.store.put("api_key", row)
    return ok({"message": "API key created successfully", "api_key": {**key_view(row), "api_key": secret}})


def _active_keys(ctx: Ctx, user_id: str) -> list[Doc]:
    return [key_view(r) for r in ctx.store.list("api_key", user_id=user_id) if r["is_active"]]


@routes.get("/api/v1/api-keys/fetch")
async def list_keys(ctx: Ctx) -> Response:
    return ok(_active_keys(ctx, _key_owner(ctx, ctx.q_uuid("user_id"))))


@routes.get("/api/v1/api-keys/fetch/{user_id}")
async def list_keys_for(ctx: Ctx) -> Response:
    return ok(_active_keys(ctx, _key_owner(ctx, ctx.path("user_id"))))


@routes.post("/api/v1/api-keys/exists")
async def key_exists(ctx: Ctx) -> Response:
    body = await ctx.body(ApiKeyExistsIn)
    owner = _key_owner(ctx, body.user_id)
    return ok(any(k["provider_name"] == body.provider_name for k in _active_keys(ctx, owner)))


@routes.patch("/api/v1/api-keys/{key_id}")
async def rename_key(ctx: Ctx) -> Response:
    row = load_key(ctx)
    body = await ctx.body(ApiKeyPatchIn)
    row["name"] = body.name or None
    ctx.store.put("api_key", row)
    return ok({"message": "API key updated successfully", "api_key": key_view(row)})


@routes.delete("/api/v1/api-keys/{key_id}")
async def revoke_key(ctx: Ctx) -> Response:
    row = load_key(ctx)
    row.update(is_active=False, revoked_at=ctx.now_iso())
    ctx.store.put("api_key", row)
    return ok({"message": "API key revoked successfully", "api_key": key_view(row)})
