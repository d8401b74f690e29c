"""Toolset ``admin``: refused at start-up for API keys, working for a super_admin Bearer session."""

from __future__ import annotations

from typing import Any

import pytest

from kupe_mcp.config import Settings
from kupe_mcp.errors import AuthenticationFailed, ConfigError
from kupe_mcp.sandbox import DEMO_BEARER_TOKEN
from kupe_mcp.sandbox._seed import DEMO_BALANCE_USD, DEMO_ORG_ID, DEMO_USER_ID
from kupe_mcp.serve.server import create_server
from kupe_mcp.toolsets import admin, billing
from tests._mcp import call
from tests.toolsets.conftest import Serve, api_key, bearer, refused_before_kupe, sandbox_client

pytestmark = pytest.mark.anyio

SESSION = bearer(DEMO_BEARER_TOKEN)


def test_admin_toolset_with_an_api_key_is_refused_at_start_up_saying_what_to_set(sandbox_app: Any) -> None:
    # Every admin call would answer 403 for an API key: refuse to serve them rather than fail call by call.
    with pytest.raises(ConfigError, match="KUPE_BEARER_TOKEN"):
        create_server(Settings(toolsets=("admin",)), sandbox_client(sandbox_app, api_key()))


async def test_grant_cap_and_adjust_with_a_bearer_session_move_the_wallet(serve: Serve) -> None:
    async with serve(admin, billing, credentials=SESSION) as mcp:
        wallet_id = (await call(mcp, "get_wallet"))["wallet_id"]
        await call(mcp, "grant_wallet_credits", wallet_id=wallet_id, amount_usd=5, note="Pilot top-up")
        await call(mcp, "adjust_wallet", wallet_id=wallet_id, amount_usd=-2, reason="Refund correction")
        await call(mcp, "set_wallet_cap", wallet_id=wallet_id, monthly_cap_usd=10)
        capped = await call(mcp, "get_wallet_ledger", wallet_id=wallet_id)
        await call(mcp, "set_wallet_cap", wallet_id=wallet_id, monthly_cap_usd=None)
        uncapped = await call(mcp, "get_wallet")
        users = await call(mcp, "list_user_wallets")
    assert capped["wallet"]["balance_usd"] == pytest.approx(DEMO_BALANCE_USD + 3)
    assert capped["wallet"]["monthly_cap_usd"] == 10
    assert "Pilot top-up" in {g["note"] for g in capped["grants"]}
    assert "monthly_cap_usd" not in uncapped  # null, left out of the result
    assert wallet_id in {w["wallet_id"] for w in users["items"]}


async def test_org_pricing_changes_show_in_earnings(serve: Serve) -> None:
    # The seeded org has one billed call at 20% markup and 10% commission; the new rates must change what it earned.
    async with serve(admin, credentials=SESSION) as mcp:
        orgs = await call(mcp, "list_org_wallets")
        members = await call(mcp, "list_org_member_wallets", org_id=DEMO_ORG_ID)
        before = await call(mcp, "get_earnings", period="all")
        await call(mcp, "set_org_business_model", org_id=DEMO_ORG_ID, org_type="distributor")
        await call(mcp, "set_org_commission", org_id=DEMO_ORG_ID, commission_percentage=12.5)
        await call(mcp, "set_org_markup", org_id=DEMO_ORG_ID, markup_percentage=30)
        mine = await call(mcp, "get_earnings", period="all")
        breakdown = await call(mcp, "get_earnings_breakdown", period="year")
        theirs = await call(mcp, "get_org_earnings", org_id=DEMO_ORG_ID, period="all")
    assert DEMO_ORG_ID in {w["org_id"] for w in orgs["items"]}
    assert DEMO_USER_ID in {m["user_id"] for m in members["items"]}
    billed = before["billed_usage_usd"]
    assert billed > 0
    assert (before["org_type"], mine["org_type"]) == ("channel_partner", "distributor")
    assert before["total_earnings_usd"] == pytest.approx(billed * 0.30, abs=1e-4)
    assert mine["total_earnings_usd"] == pytest.approx(billed * 0.425, abs=1e-4)
    assert theirs["total_earnings_usd"] == mine["total_earnings_usd"]
    assert sum(b["total_earnings_usd"] for b in breakdown["buckets"]) == pytest.approx(billed * 0.425, abs=1e-4)


async def test_feature_flags_update_and_read_back(serve: Serve) -> None:
    async with serve(admin, credentials=SESSION) as mcp:
        await call(mcp, "update_feature_flags", user_id=DEMO_USER_ID, flags={"webhooks": False})
        mine = await call(mcp, "get_my_feature_flags")
        theirs = await call(mcp, "get_feature_flags", user_id=DEMO_USER_ID)
    assert mine["feature_flags"]["webhooks"] is False
    assert theirs["feature_flags"]["outbound"] is True


async def test_created_api_key_works_until_it_is_revoked(serve: Serve, sandbox_app: Any) -> None:
    async with serve(admin, credentials=SESSION) as mcp:
        created = await call(mcp, "create_api_key", name="CRM sync")
        key_id, secret = created["id"], created["api_key"]
        async with sandbox_client(sandbox_app, api_key(secret)) as kupe:
            assert (await kupe.me()).user_id == DEMO_USER_ID
            await call(mcp, "rename_api_key", key_id=key_id, name="CRM sync (prod)")
            listed = await call(mcp, "list_api_keys")
            exists = await call(mcp, "check_api_key_exists", user_id=DEMO_USER_ID)
            await call(mcp, "revoke_api_key", key_id=key_id)
            after = await call(mcp, "list_api_keys")
            with pytest.raises(AuthenticationFailed):
                await kupe.me()
    names = {k["id"]: k["name"] for k in listed["items"]}
    assert names[key_id] == "CRM sync (prod)"
    assert secret not in str(listed)
    assert exists["exists"] is True
    assert key_id not in {k["id"] for k in after["items"]}


async def test_list_users_with_a_session(serve: Serve) -> None:
    async with serve(admin, credentials=SESSION) as mcp:
        users = await call(mcp, "list_users")
    assert DEMO_USER_ID in {u.get("id", u.get("user_id")) for u in users["items"]}


async def test_invalid_admin_arguments_name_the_field_and_never_reach_kupe(serve: Serve, sandbox_app: Any) -> None:
    async with serve(admin, credentials=SESSION) as mcp:
        await refused_before_kupe(
            mcp,
            sandbox_app,
            ("get_earnings", {"period": "decade"}, "period"),
            ("grant_wallet_credits", {"wallet_id": DEMO_ORG_ID, "amount_usd": -5}, "amount_usd"),
            ("set_org_business_model", {"org_id": DEMO_ORG_ID, "org_type": "reseller"}, "org_type"),
            ("get_wallet_ledger", {"wallet_id": "w-1"}, "wallet_id"),
        )


def test_admin_is_bearer_only_off_by_default_and_money_moving_tools_are_destructive() -> None:
    assert admin.toolset.bearer_only
    assert not admin.toolset.default
    specs = {s.name: s for s in admin.toolset.tools}
    destructive = {name for name, s in specs.items() if s.destructive}
    assert destructive == {"grant_wallet_credits", "adjust_wallet", "revoke_api_key"}
    assert not specs["grant_wallet_credits"].idempotent
    assert all("USD" in specs[n].description for n in ("grant_wallet_credits", "adjust_wallet", "set_wallet_cap"))
