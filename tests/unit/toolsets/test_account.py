"""Toolset ``account``: whoami and the credit balance, each one read of Kupe."""

from __future__ import annotations

import pytest

from kupe_mcp.toolsets.account import get_credit_balance, whoami
from tests.unit._kupe import API_KEY, Kupe, tool_context

pytestmark = pytest.mark.anyio

USER = "6f1c2b9e-3a4d-4e5f-8a7b-1c2d3e4f5a6b"


async def test_whoami_answers_with_the_user_kupe_names_after_one_authenticated_read() -> None:
    kupe = Kupe({"GET /api/v1/me": {"user_id": USER, "email": "asha@example.com", "auth": "api_key"}})
    me = await whoami(tool_context(kupe))
    assert (me.user_id, me.email, me.auth) == (USER, "asha@example.com", "api_key")
    assert kupe.sent == ["GET /api/v1/me"]
    assert kupe.requests[0].headers["x-api-key"] == API_KEY


async def test_credit_balance_is_read_out_of_kupes_data_envelope() -> None:
    kupe = Kupe({"GET /api/v1/billing/credit-balance": {"data": {"credit_balance_usd": 12.5, "currency": "USD"}}})
    balance = await get_credit_balance(tool_context(kupe))
    assert balance.credit_balance_usd == 12.5
    assert kupe.sent == ["GET /api/v1/billing/credit-balance"]
