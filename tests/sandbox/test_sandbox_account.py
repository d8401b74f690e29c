"""Billing reads, wallets, org pricing, earnings and feature flags."""

from __future__ import annotations

import httpx2
import pytest

from .conftest import demo_agent_id

pytestmark = pytest.mark.anyio


async def test_credit_balance_starts_at_the_seeded_25_usd(client: httpx2.AsyncClient) -> None:
    body = (await client.get("/api/v1/billing/credit-balance")).json()
    assert body["credit_balance_usd"] == pytest.approx(25.0)
    assert body["currency"] == "USD"


async def test_usage_endpoints_are_derived_from_call_sessions(client: httpx2.AsyncClient) -> None:
    records = (await client.get("/api/v1/billing/usage-records")).json()
    assert records["total_sessions"] == 1
    [row] = records["sessions"]
    assert row["total_cost_usd"] > 0
    assert sum(s["cost_usd"] for s in row["services"]) == pytest.approx(row["total_cost_usd"], abs=1e-3)
    grouped = (await client.get("/api/v1/billing/usage/records", params={"limit": 1, "offset": 0})).json()
    assert (grouped["total"], len(grouped["grouped_sessions"])) == (1, 1)
    assert (await client.get("/api/v1/billing/usage/records", params={"usage_type": "chat"})).json()["total"] == 0
    summary = (await client.get("/api/v1/billing/usage/summary", params={"time_period": "week"})).json()
    assert summary["totals"]["calls"] == 1
    overview = (await client.get("/api/v1/billing/usage/overview")).json()
    assert overview["total"]["cost_usd"] == pytest.approx(row["total_cost_usd"])
    assert (await client.get("/api/v1/billing/usage/export")).json()["success"] is True
    missing = await client.get("/api/v1/billing/usage/sessions/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404


async def test_wallet_detail_shows_grants_and_the_usage_ledger(client: httpx2.AsyncClient) -> None:
    wallet_id = (await client.get("/api/v1/wallets/me")).json()["wallet_id"]
    detail = (await client.get(f"/api/v1/wallets/{wallet_id}")).json()
    assert {e["entry_type"] for e in detail["ledger"]} == {"grant", "usage_debit"}
    assert len(detail["grants"]) == 1


async def test_admin_adjust_and_cap_change_what_can_be_spent(
    client: httpx2.AsyncClient, admin: httpx2.AsyncClient
) -> None:
    wallet_id = (await client.get("/api/v1/wallets/me")).json()["wallet_id"]
    adjusted = await admin.post(f"/api/v1/wallets/{wallet_id}/adjust", json={"amount_usd": -5, "reason": "test"})
    assert adjusted.json()["wallet"]["balance_usd"] == pytest.approx(20.0)
    await admin.post(f"/api/v1/wallets/{wallet_id}/cap", json={"monthly_cap_usd": 0})
    params = {"phoneNumber": "+15551234567", "agent_id": await demo_agent_id(client)}
    capped = await client.post("/api/call/create_call", params=params)
    assert capped.status_code == 402
    await admin.post(f"/api/v1/wallets/{wallet_id}/cap", json={"monthly_cap_usd": None})
    assert (await client.post("/api/call/create_call", params=params)).status_code == 200
    users = (await admin.get("/api/v1/wallets/users")).json()
    assert users["total"] == 2
    orgs = (await admin.get("/api/v1/wallets/orgs")).json()["wallets"]
    members = (await admin.get(f"/api/v1/wallets/orgs/{orgs[0]['org_id']}/members")).json()
    assert members["total"] == 2


async def test_org_pricing_drives_earnings(client: httpx2.AsyncClient, admin: httpx2.AsyncClient) -> None:
    earnings = (await client.get("/api/v1/earnings/me", params={"period": "all"})).json()
    org_id = earnings["org_id"]
    base = earnings["billed_usage_usd"]
    assert earnings["markup_earnings_usd"] == pytest.approx(base * 0.2, abs=1e-4)
    assert (await admin.post(f"/api/v1/orgs/{org_id}/markup", json={"markup_percentage": 50})).status_code == 200
    await admin.post(f"/api/v1/orgs/{org_id}/commission", json={"commission_percentage": 0})
    after = (await admin.get(f"/api/v1/earnings/orgs/{org_id}", params={"period": "all"})).json()
    assert after["total_earnings_usd"] == pytest.approx(base * 0.5, abs=1e-4)
    breakdown = (await client.get("/api/v1/earnings/me/breakdown", params={"period": "month"})).json()
    assert len(breakdown["buckets"]) == 1
    assert (await client.get("/api/v1/earnings/me", params={"period": "decade"})).status_code == 422
    await admin.post(f"/api/v1/orgs/{org_id}/business-model", json={"org_type": "internal"})
    assert (await client.get("/api/v1/earnings/me")).status_code == 403
    bad = await admin.post(f"/api/v1/orgs/{org_id}/business-model", json={"org_type": "pirate"})
    assert bad.status_code == 422


async def test_feature_flags_accept_booleans_only(client: httpx2.AsyncClient, admin: httpx2.AsyncClient) -> None:
    flags = (await client.get("/api/v1/feature-flags/me")).json()
    user_id = flags["user_id"]
    assert flags["feature_flags"]["outbound"] is True
    assert (await admin.put(f"/api/v1/feature-flags/{user_id}", json={"billing_markup": 2})).status_code == 400
    updated = await admin.put(f"/api/v1/feature-flags/{user_id}", json={"feature_flags": {"outbound": False}})
    assert updated.json()["feature_flags"]["outbound"] is False
    gated = await admin.get("/api/v1/batch-call/me")
    assert gated.status_code == 403  # Bearer sessions pass through the feature gate; API keys do not
    assert (await client.get("/api/v1/batch-call/me")).status_code == 200


async def test_me_users_is_empty_for_developers_and_full_for_super_admin(
    client: httpx2.AsyncClient, admin: httpx2.AsyncClient
) -> None:
    assert (await client.get("/api/v1/me/users")).json()["users"] == []
    assert (await admin.get("/api/v1/me/users")).json()["total"] == 2
