"""Toolset ``admin``: wallets, org pricing, earnings, feature flags, API keys and users.

For dashboard (Bearer session) credentials only, and never on by default: these tools
move money and revoke keys. Kupe decides who may do what (org_admin or super_admin);
a refusal comes back as a 403 sentence naming the route. Amounts are USD.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from mcp.server.mcpserver import Context
from pydantic import AwareDatetime, BaseModel, BeforeValidator, Field

from kupe_mcp.client import Ack, ApiKey, Earnings, FeatureFlags, KeyExists, NewApiKey, WalletDetail
from kupe_mcp.text.redact import remember
from kupe_mcp.toolsets._context import kupe
from kupe_mcp.toolsets._registry import Toolset
from kupe_mcp.toolsets._shape import Page, View, Written, page_of
from kupe_mcp.toolsets._types import Page as PageNo
from kupe_mcp.toolsets._types import PageSize

toolset = Toolset(
    "admin",
    "Wallet grants and caps, org pricing, earnings, feature flags, API keys, users (Bearer sessions only).",
    bearer_only=True,
)

WalletId = Annotated[UUID, Field(description="From get_wallet, list_user_wallets or list_org_wallets.")]
OrgId = Annotated[UUID, Field(description="From list_org_wallets.")]
UserId = Annotated[UUID, Field(description="From whoami or list_users.")]
KeyId = Annotated[UUID, Field(description="From list_api_keys.")]
Period = Annotated[Literal["day", "week", "month", "year", "all"], Field(description="Time window.")]
Note = Annotated[str | None, Field(max_length=500, description="Reason, kept in the ledger.")]


class WalletItem(View):
    wallet_id: str | None = None
    owner_type: str | None = None
    user_id: str | None = None
    org_id: str | None = None
    balance_usd: float | None = None
    email: str | None = None
    org_name: str | None = None


class MemberItem(View):
    user_id: str | None = None
    email: str | None = None
    role: str | None = None
    wallet: dict[str, Any] | None = None


class KeyItem(View):
    id: str | None = None
    name: str | None = None
    key_prefix: str | None = None
    is_active: bool | None = None
    created_at: str | None = None


class UserItem(View):
    user_id: str | None = None
    email: str | None = None
    full_name: str | None = None
    role: str | None = None


class Saved(BaseModel):
    """What a money or pricing write did, as Kupe acknowledged it."""

    done: str
    id: str
    message: str | None = None
    data: dict[str, Any] | None = None


def _saved(done: str, id: UUID, ack: Ack) -> Saved:
    return Saved(done=done, id=str(id), message=ack.message, data=ack.data if isinstance(ack.data, dict) else None)


# -- Wallets ---------------------------------------------------------------------------


@toolset.tool(title="Every user's balance", read_only=True)
async def list_user_wallets(ctx: Context, page: PageNo = 1, page_size: PageSize = 50) -> Page[WalletItem]:
    """Every user's wallet balance (USD). super_admin only."""
    return page_of(WalletItem, await kupe(ctx).list_user_wallets(), page=page, page_size=page_size)


@toolset.tool(title="List org wallets", read_only=True)
async def list_org_wallets(ctx: Context, page: PageNo = 1, page_size: PageSize = 50) -> Page[WalletItem]:
    """List organization wallets and balances (USD), with org ids. super_admin only."""
    return page_of(WalletItem, await kupe(ctx).list_org_wallets(), page=page, page_size=page_size)


@toolset.tool(title="List org member wallets", read_only=True)
async def list_org_member_wallets(
    ctx: Context, org_id: OrgId, page: PageNo = 1, page_size: PageSize = 50
) -> Page[MemberItem]:
    """Balances of the people (members) in an organization (USD). org_admin of that org or super_admin."""
    found = await kupe(ctx).list_org_member_wallets(str(org_id))
    return page_of(MemberItem, found.members, page=page, page_size=page_size)


@toolset.tool(title="Get wallet ledger", read_only=True)
async def get_wallet_ledger(ctx: Context, wallet_id: WalletId) -> WalletDetail:
    """A wallet's history: balance, credit grants, ledger of charges and upcoming expiries (USD)."""
    return await kupe(ctx).get_wallet(str(wallet_id))


def _iso_text_only(value: object) -> object:
    """Refuse numbers for a date-time: pydantic would read 7 as a Unix time and grant credits expiring in 1970."""
    if value is not None and not isinstance(value, str | datetime):
        raise ValueError("must be an ISO 8601 date-time string, e.g. 2026-12-31T23:59:00Z")
    return value


@toolset.tool(title="Top up a wallet (grant credits)", read_only=False, destructive=True, idempotent=False)
async def grant_wallet_credits(
    ctx: Context,
    wallet_id: WalletId,
    amount_usd: Annotated[float, Field(gt=0, le=100_000, description="Credits to add, in USD.")],
    note: Note = None,
    expires_at: Annotated[
        AwareDatetime | None,
        BeforeValidator(_iso_text_only),
        Field(description="When the grant expires, ISO 8601 with time zone."),
    ] = None,
) -> Saved:
    """Top up a wallet with credits (USD); an org_admin's grant comes out of the org wallet. Repeating grants
    again.
    """
    body: dict[str, Any] = {"amount_usd": amount_usd}
    if note is not None:
        body["note"] = note
    if expires_at is not None:
        body["expires_at"] = expires_at.isoformat()
    return _saved("granted", wallet_id, await kupe(ctx).grant_wallet_credits(str(wallet_id), body))


@toolset.tool(title="Set wallet cap", read_only=False, destructive=False, idempotent=True)
async def set_wallet_cap(
    ctx: Context,
    wallet_id: WalletId,
    monthly_cap_usd: Annotated[
        float | None, Field(ge=0, le=1_000_000, description="Monthly spend limit in USD; null removes it.")
    ],
) -> Saved:
    """Limit a wallet's monthly spending (USD): set or clear its cap; calls are refused once reached. Org/super
    admin.
    """
    return _saved(
        "cap set", wallet_id, await kupe(ctx).set_wallet_cap(str(wallet_id), {"monthly_cap_usd": monthly_cap_usd})
    )


@toolset.tool(title="Adjust wallet", read_only=False, destructive=True, idempotent=False)
async def adjust_wallet(
    ctx: Context,
    wallet_id: WalletId,
    amount_usd: Annotated[
        float, Field(ge=-100_000, le=100_000, description="USD to add (positive) or remove (negative).")
    ],
    reason: Annotated[str, Field(min_length=3, max_length=500, description="Why, kept in the ledger.")],
) -> Saved:
    """Fix a wrong wallet balance (USD) with a correcting ledger entry, no grant. super_admin; repeats adjust again."""
    ack = await kupe(ctx).adjust_wallet(str(wallet_id), {"amount_usd": amount_usd, "reason": reason})
    return _saved("adjusted", wallet_id, ack)


# -- Organizations and earnings --------------------------------------------------------


@toolset.tool(title="Set org business model", read_only=False, destructive=False, idempotent=True)
async def set_org_business_model(
    ctx: Context,
    org_id: OrgId,
    org_type: Annotated[
        Literal["internal", "channel_partner", "distributor"], Field(description="Resellers earn markup/commission.")
    ],
) -> Saved:
    """Set an organization's business model. super_admin only."""
    return _saved(
        "business model set", org_id, await kupe(ctx).set_org_business_model(str(org_id), {"org_type": org_type})
    )


@toolset.tool(title="Set org commission", read_only=False, destructive=False, idempotent=True)
async def set_org_commission(
    ctx: Context,
    org_id: OrgId,
    commission_percentage: Annotated[float, Field(ge=0, le=100, description="Commission, percent.")],
) -> Saved:
    """Set the commission percentage a reseller org earns on usage. super_admin only."""
    body = {"commission_percentage": commission_percentage}
    return _saved("commission set", org_id, await kupe(ctx).set_org_commission(str(org_id), body))


@toolset.tool(title="Set org markup", read_only=False, destructive=False, idempotent=True)
async def set_org_markup(
    ctx: Context,
    org_id: OrgId,
    markup_percentage: Annotated[float, Field(ge=0, le=500, description="Markup on Kupe's price, percent.")],
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO currency code.")] = "USD",
) -> Saved:
    """Set the retail markup a reseller org charges its users. org_admin of that org or super_admin."""
    body = {"markup_percentage": markup_percentage, "currency": currency}
    return _saved("markup set", org_id, await kupe(ctx).set_org_markup(str(org_id), body))


@toolset.tool(title="Get earnings", read_only=True)
async def get_earnings(ctx: Context, period: Period = "month") -> Earnings:
    """What your reseller org earned: markup and commission (USD). org_admin of a reseller org."""
    return await kupe(ctx).my_earnings(period=period)


@toolset.tool(title="Get earnings breakdown", read_only=True)
async def get_earnings_breakdown(ctx: Context, period: Period = "month") -> Earnings:
    """Your reseller org's earnings (USD) over time, period by period. org_admin of a reseller org."""
    return await kupe(ctx).my_earnings_breakdown(period=period)


@toolset.tool(title="Get org earnings", read_only=True)
async def get_org_earnings(ctx: Context, org_id: OrgId, period: Period = "month") -> Earnings:
    """What one organization has earned (USD). super_admin only."""
    return await kupe(ctx).org_earnings(str(org_id), period=period)


# -- Feature flags ---------------------------------------------------------------------


@toolset.tool(title="My feature flags", read_only=True)
async def get_my_feature_flags(ctx: Context) -> FeatureFlags:
    """Which dashboard features I have switched on (outbound, call_logs, webhooks ...)."""
    return await kupe(ctx).my_feature_flags()


@toolset.tool(title="Get feature flags", read_only=True)
async def get_feature_flags(ctx: Context, user_id: UserId) -> FeatureFlags:
    """Which dashboard features another user has on. Org admin or super_admin."""
    return await kupe(ctx).get_feature_flags(str(user_id))


@toolset.tool(title="Update feature flags", read_only=False, destructive=False, idempotent=True)
async def update_feature_flags(
    ctx: Context,
    user_id: UserId,
    flags: Annotated[
        dict[str, bool], Field(min_length=1, description="Flags to set, e.g. {outbound: true, webhooks: false}.")
    ],
) -> FeatureFlags:
    """Turn a user's dashboard features (e.g. outbound calling) on or off (booleans only). super_admin."""
    return await kupe(ctx).update_feature_flags(str(user_id), flags)


# -- API keys and users ----------------------------------------------------------------


@toolset.tool(title="List API keys", read_only=True)
async def list_api_keys(
    ctx: Context,
    user_id: Annotated[UUID | None, Field(description="Another user's keys (org admin); default yours.")] = None,
    page: PageNo = 1,
    page_size: PageSize = 50,
) -> Page[KeyItem]:
    """Your API keys (id, name, prefix, created); secrets are never listed."""
    keys = await kupe(ctx).list_api_keys(user_id=str(user_id) if user_id else None)
    return page_of(KeyItem, keys, page=page, page_size=page_size)


@toolset.tool(title="Create API key", read_only=False, destructive=False, idempotent=False)
async def create_api_key(
    ctx: Context,
    name: Annotated[str | None, Field(max_length=100, description="Label, e.g. CRM sync.")] = None,
    user_id: Annotated[UUID | None, Field(description="Owner (org admin); default you.")] = None,
) -> NewApiKey:
    """Create an API key. The result shows its secret once: tell the user to store it now."""
    made = await kupe(ctx).create_api_key(name=name, user_id=str(user_id) if user_id else None)
    # The person needs the secret exactly once, and this result is the only way to them; from here on
    # the process redacts it from every log line (only its digest is kept).
    remember(made.api_key)
    return made.model_copy(
        update={
            "note": "The secret is shown only this once: store it now. kupe-app-mcp never logs it and cannot show "
            "it again."
        }
    )


@toolset.tool(title="Rename API key", read_only=False, destructive=False, idempotent=True)
async def rename_api_key(
    ctx: Context,
    key_id: KeyId,
    name: Annotated[str, Field(max_length=100, description="New label; empty string clears it.")],
) -> ApiKey:
    """Change an API key's label. The key keeps working."""
    return await kupe(ctx).rename_api_key(str(key_id), name)


@toolset.tool(title="Revoke API key", read_only=False, destructive=True, idempotent=True)
async def revoke_api_key(ctx: Context, key_id: KeyId) -> Written:
    """Revoke (kill) an API key, e.g. a leaked one: everything using it fails from now on. Cannot be undone."""
    ack = await kupe(ctx).revoke_api_key(str(key_id))
    return Written(done="revoked", id=str(key_id), message=ack.message)


@toolset.tool(title="Check API key exists", read_only=True)
async def check_api_key_exists(
    ctx: Context,
    user_id: UserId,
    provider_name: Annotated[str, Field(max_length=64, description="Key provider.")] = "milli_chat_ai",
) -> KeyExists:
    """Whether a user already has an active API key for a provider (e.g. OpenAI)."""
    return await kupe(ctx).api_key_exists(str(user_id), provider_name)


@toolset.tool(title="List users (members of my org)", read_only=True)
async def list_users(ctx: Context, page: PageNo = 1, page_size: PageSize = 50) -> Page[UserItem]:
    """Who is in my org: users you can manage (id, email, name, role); all of them for super_admin."""
    return page_of(UserItem, await kupe(ctx).me_users(), page=page, page_size=page_size)
