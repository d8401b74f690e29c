"""Wallets and the append-only ledger: the single source of truth for credit balances."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ._state import iso, new_id
from ._store import Doc, Store


def user_wallet(store: Store, user_id: str) -> Doc:
    wallet = store.find("wallet", owner_type="user", user_id=user_id)
    if wallet is None:  # every user gets a wallet lazily, like Kupe's unified wallets
        wallet = new_wallet(store, owner_type="user", user_id=user_id, org_id=None, now=0.0)
    return wallet


def new_wallet(store: Store, *, owner_type: str, user_id: str | None, org_id: str | None, now: float) -> Doc:
    return store.put(
        "wallet",
        {
            "id": new_id(),
            "owner_type": owner_type,
            "user_id": user_id,
            "org_id": org_id,
            "balance_usd": 0.0,
            "currency": "USD",
            "monthly_cap_usd": None,
            "created_at": iso(now),
            "updated_at": iso(now),
        },
    )


def post_entry(store: Store, wallet: Doc, amount: float, entry_type: str, now: float, **extra: Any) -> Doc:
    """Move ``amount`` (positive credit, negative debit) and append the ledger line, atomically."""
    with store.transaction():
        wallet = store.get("wallet", wallet["id"]) or wallet
        wallet["balance_usd"] = round(float(wallet["balance_usd"]) + amount, 6)
        wallet["updated_at"] = iso(now)
        store.put("wallet", wallet)
        entry = {
            "id": new_id(),
            "wallet_id": wallet["id"],
            "user_id": wallet.get("user_id"),
            "entry_type": entry_type,
            "amount_usd": round(amount, 6),
            "balance_after_usd": wallet["balance_usd"],
            "ts": now,
            "created_at": iso(now),
            **extra,
        }
        store.put("ledger", entry)
    return wallet


def month_start(now: float) -> float:
    d = datetime.fromtimestamp(now, UTC)
    return datetime(d.year, d.month, 1, tzinfo=UTC).timestamp()


def monthly_spend(store: Store, wallet: Doc, now: float) -> float:
    start = month_start(now)
    spent = sum(
        -float(e["amount_usd"])
        for e in store.list("ledger", wallet_id=wallet["id"], entry_type="usage_debit")
        if float(e["ts"]) >= start
    )
    return round(spent, 6)


def summary(store: Store, wallet: Doc, now: float) -> Doc:
    spend = monthly_spend(store, wallet, now)
    cap = wallet.get("monthly_cap_usd")
    return {
        "wallet_id": wallet["id"],
        "owner_type": wallet["owner_type"],
        "user_id": wallet.get("user_id"),
        "org_id": wallet.get("org_id"),
        "balance_usd": round(float(wallet["balance_usd"]), 4),
        "available_balance_usd": round(max(float(wallet["balance_usd"]), 0.0), 4),
        "currency": wallet["currency"],
        "monthly_cap_usd": cap,
        "monthly_spend_usd": round(spend, 4),
        "monthly_cap_remaining_usd": None if cap is None else round(max(float(cap) - spend, 0.0), 4),
        "updated_at": wallet["updated_at"],
    }


def spend_block_reason(store: Store, user_id: str, now: float) -> str | None:
    """Why this user may not start metered usage right now (None when they may)."""
    wallet = user_wallet(store, user_id)
    balance = float(wallet["balance_usd"])
    if balance <= 0:
        return f"Insufficient credits: wallet balance is {balance:.2f} USD; add credits to place calls"
    cap = wallet.get("monthly_cap_usd")
    if cap is not None and monthly_spend(store, wallet, now) >= float(cap):
        return f"Insufficient credits: monthly spend cap of {float(cap):.2f} USD reached"
    return None
