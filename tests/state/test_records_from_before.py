"""Records an earlier version kept, with its times as epoch seconds, still read right on memory, SQLite and Redis.

Call safety now keeps every time as an aware UTC datetime and writes ISO 8601 (``kupe_mcp.safety.clock``). A
server upgraded in place finds the older records in its SQLite file or shared Redis: approvals, passkeys,
confirmation tokens, the slots of the last hour and OAuth grants. Each is written here exactly as the earlier
version wrote it (the dict it stored, or the raw row or hash for slots) and must read as the same instants and
keep working: answered, redeemed, expired, counted, listed. Idempotency records keep no time, so nothing of theirs
changed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from mcp.client import Client

from kupe_mcp.errors import CallRefused
from kupe_mcp.safety.approvals import ApprovalProblem, StateApprovals
from kupe_mcp.safety.passkeys import Passkeys
from kupe_mcp.safety.rules import TOKEN_TTL_S, Recent, Slot
from kupe_mcp.safety.state import StateKeys, StateStore, tenant_key
from kupe_mcp.sandbox._seed import DEMO_USER_ID
from kupe_mcp.serve.oauth._cimd import ClientDocuments
from kupe_mcp.serve.oauth._grants import Grants, resource_of
from tests._clock import FakeClock
from tests._mcp import call, fail
from tests._safety import ADA_CALL
from tests.conftest import ServerFactory

pytestmark = pytest.mark.anyio

A = "user:alice"
NOW = datetime(2026, 3, 10, 8, 0, 0, 250000, tzinfo=UTC)
T = NOW.timestamp()  # how the earlier version kept NOW
TTL_S = 600.0
DIGEST = "d" * 64


def clock() -> FakeClock:
    return FakeClock(NOW)


def old_approval(approval_id: str, **changes: Any) -> dict[str, Any]:
    """A pending link approval as the earlier version stored it (``Approval.__dict__``, times in epoch seconds)."""
    return {
        "id": approval_id,
        "tenant": A,
        "digest": DIGEST,
        "tool": "place_call",
        "arguments": {"phone_number": "+919876543210"},
        "facts": {"destination": "+919876543210"},
        "channel": "link",
        "created_at": T,
        "expires_at": T + TTL_S,
        "status": "pending",
        "decided_at": None,
        "outcome": None,
        "events": [{"at": T, "status": "pending", "note": "asked through the link channel"}],
        "card_digest": "",
        **changes,
    }


async def keep_old_approval(store: StateStore, record: dict[str, Any]) -> None:
    """The record, its digest index and the tenant's list, as the earlier ``StateApprovals`` kept them."""
    keep = NOW + timedelta(days=30)
    await store.put("approval-pages", f"approval:{record['id']}", record, expires=keep)
    await store.put(A, f"approval-digest:{record['digest']}", {"id": record["id"]}, expires=keep)
    await store.put(A, "approval-list", {"ids": [record["id"]]}, expires=keep)


async def test_an_approval_kept_in_epoch_seconds_reads_as_the_same_instants_and_is_answered_and_redeemed_once(
    store: StateStore,
) -> None:
    await keep_old_approval(store, old_approval("old-1"))
    desk = StateApprovals(store, clock=clock())
    record = await desk.get("old-1")
    assert record is not None
    assert (record.created_at, record.expires_at) == (NOW, NOW + timedelta(seconds=TTL_S))
    assert record.events[0]["at"] == NOW
    shown = record.public()
    assert (shown["created_at"], shown["expires_at"], shown["events"][0]["at"]) == (
        "2026-03-10T08:00:00Z",
        "2026-03-10T08:10:00Z",
        "2026-03-10T08:00:00Z",
    )
    assert await desk.find(A, DIGEST) == record
    approved = await desk.answer_on_page("old-1", approve=True, via="page")
    used = await desk.redeem("old-1", tenant=A, digest=DIGEST)
    assert (approved.status, approved.decided_at) == ("approved", NOW)
    assert used.status == "used"
    with pytest.raises(ApprovalProblem, match="used"):
        await desk.redeem("old-1", tenant=A, digest=DIGEST)
    assert [r.status for r in await desk.list(A, status=None, limit=5)] == ["used"]


async def test_an_approval_kept_in_epoch_seconds_still_expires_when_its_time_is_up(store: StateStore) -> None:
    await keep_old_approval(store, old_approval("old-2"))
    ticking = clock()
    desk = StateApprovals(store, clock=ticking)
    ticking.advance(TTL_S - 1)
    assert (await desk.get("old-2")).status == "pending"  # type: ignore[union-attr]
    ticking.advance(2)
    assert (await desk.get("old-2")).status == "expired"  # type: ignore[union-attr]


async def test_a_declined_approval_kept_in_epoch_seconds_keeps_when_it_was_declined(store: StateStore) -> None:
    decided = {"at": T + 30, "status": "declined", "note": "declined by the person on the page"}
    record = old_approval("old-3", status="declined", decided_at=T + 30)
    await keep_old_approval(store, {**record, "events": [*record["events"], decided]})
    found = await StateApprovals(store, clock=clock()).find(A, DIGEST)  # declined, still within its lifetime
    assert found is not None
    assert found.decided_at == found.events[-1]["at"] == NOW + timedelta(seconds=30)
    assert found.public()["decided_at"] == "2026-03-10T08:00:30Z"


async def test_passkeys_kept_in_epoch_seconds_list_the_same_times_and_can_still_be_renamed(store: StateStore) -> None:
    items = [
        {"id": "a1", "public_key": "k1", "sign_count": 3, "name": "phone", "created_at": T, "last_used_at": None},
        {"id": "a2", "public_key": "k2", "sign_count": 9, "name": "laptop", "created_at": T, "last_used_at": T + 60},
    ]
    await store.put(A, "passkeys", {"items": items}, expires=NOW + timedelta(days=3650))
    passkeys = Passkeys(store, StateKeys.from_secret("the-secret"), clock=clock())
    enrolled = await passkeys.enrolled(A)
    assert [(p.created_at, p.last_used_at) for p in enrolled] == [(NOW, None), (NOW, NOW + timedelta(seconds=60))]
    assert [p.shown()["last_used_at"] for p in enrolled] == [None, "2026-03-10T08:01:00Z"]
    await passkeys.rename(A, "a2", "work laptop")
    assert [(p.name, p.created_at) for p in await passkeys.enrolled(A)] == [("phone", NOW), ("work laptop", NOW)]


async def test_a_confirmation_token_kept_with_an_epoch_expiry_is_redeemed_once_and_refused_once_expired(
    make_server: ServerFactory, store: StateStore
) -> None:
    server = make_server(state=store, toolsets=("calls",), confirm_fallback="token")
    ticking = clock()
    server.runtime.guards.clock = ticking
    args = dict(ADA_CALL)
    other = {**args, "phone_number": "+919876543211"}  # not a repeat of the first number within the hour
    tenant = f"user:{DEMO_USER_ID}"
    keys = server.runtime.state_keys

    async def as_before(token: str) -> None:
        """Rewrite the token's record as the earlier version kept it: its expiry in epoch seconds."""
        key = f"token:{keys.token_id(token)}"
        record = await store.take(tenant, key, now=ticking())
        assert record is not None
        old = {**record, "expires": T + TOKEN_TTL_S}
        await store.put(tenant, key, old, expires=NOW + timedelta(hours=1))

    async with Client(server) as mcp:  # no elicitation: a confirmation token
        token = (await call(mcp, "place_call", **args))["confirmation_token"]
        await as_before(token)
        placed = await call(mcp, "place_call", **args, confirmation_token=token)
        later = (await call(mcp, "place_call", **other))["confirmation_token"]
        await as_before(later)
        ticking.advance(TOKEN_TTL_S + 1)
        refused = await fail(mcp, "place_call", **other, confirmation_token=later)
    assert placed["placed"] is True
    assert "expired" in refused


def old_slot(sid: str, at: float, count: int = 1) -> dict[str, Any]:
    return {"id": sid, "at": at, "count": count, "numbers": ["+919876543210"], "ref": "", "state": "held"}


async def keep_old_slot(store: StateStore, body: dict[str, Any]) -> None:
    """A slot as the earlier version wrote it, below the store's interface (its ``hold`` now writes ISO 8601)."""
    kind = type(store).__name__
    if kind == "SqliteStore":
        row = (body["id"], tenant_key(A), body["at"], json.dumps(body))
        await store._run(lambda db: db.execute("INSERT INTO slots VALUES (?, ?, ?, ?)", row))  # type: ignore[attr-defined]
    elif kind == "RedisStore":
        raw = json.dumps({**body, "at": repr(body["at"])})  # Redis kept ``at`` as epoch text

        async def work(r: Any) -> None:
            await r.hset(store._slots(A), mapping={body["id"]: raw, "~v": "before"})  # type: ignore[attr-defined]
            await r.zadd(store._ALL, {f"{body['id']}|{body['count']}": body["at"]})  # type: ignore[attr-defined]

        await store._run(work)  # type: ignore[attr-defined]
    else:
        pytest.skip("memory: keeps Slot objects, and nothing of an earlier process survives its restart")


async def test_slots_kept_in_epoch_seconds_still_count_settle_release_and_expire(store: StateStore) -> None:
    at = NOW - timedelta(minutes=5, microseconds=123457)
    await keep_old_slot(store, old_slot("before", at.timestamp(), count=2))
    await keep_old_slot(store, old_slot("released", at.timestamp() + 1))
    recent = await store.recent(A, now=NOW)
    assert [(s.id, s.at, s.count) for s in recent.slots] == [
        ("before", at, 2),
        ("released", at + timedelta(seconds=1), 1),
    ]
    assert sorted(recent.everyone) == [(at, 2), (at + timedelta(seconds=1), 1)]

    def under_three(seen: Recent) -> None:
        if sum(s.count for s in seen.slots) + 1 > 3:
            raise CallRefused("over the cap")

    with pytest.raises(CallRefused):
        await store.hold(A, Slot("now", NOW, 1, ("+919876543212",)), under_three, now=NOW)
    await store.release(A, "released")
    await store.settle(A, "before", ref="request_id r-1", state="placed")
    (kept,) = (await store.recent(A, now=NOW)).slots
    assert (kept.at, kept.ref, kept.state) == (at, "request_id r-1", "placed")
    assert len((await store.recent(A, now=at + timedelta(minutes=59))).slots) == 1
    assert (await store.recent(A, now=at + timedelta(hours=1))) == Recent()  # its hour is up, on time


async def test_oauth_records_kept_in_epoch_seconds_still_sign_in_and_expire_on_time(store: StateStore) -> None:
    ticking = clock()
    keys = StateKeys.from_secret("the-same-secret-on-every-replica")
    grants = Grants(store, keys, ClientDocuments(), clock=ticking)
    origin = "https://mcp.example"
    common = {"grant_id": "g1", "client_id": "kdcr_x", "scopes": ["read"], "resource": resource_of(origin)}
    grant = {"sealed": grants.sealer.seal("g1", "the-kupe-key"), "tenant": A, "client_id": "kdcr_x"}
    await store.put("oauth", "grant:g1", {**grant, "scopes": ["read"], "created": T}, expires=NOW + timedelta(days=30))
    access, code = "kmcp_at_before", "kmcp_ac_before"
    old_access = {**common, "expires_at": int(T) + 3600}
    await store.put("oauth", f"access:{grants._id(access)}", old_access, expires=NOW + timedelta(hours=2))
    code_record = {
        **common,
        "code_challenge": "c" * 43,
        "redirect_uri": "http://127.0.0.1:9/callback",
        "explicit": True,
        "expires_at": T + 300,
        "subject": A,
    }
    await store.put("oauth", f"code:{grants._id(code)}", code_record, expires=NOW + timedelta(minutes=5))
    pending = {"client_id": "kdcr_x", "scopes": ["read"], "expires": T + 900}
    request_id = grants.sealer.seal("pending", json.dumps(pending))

    loaded = await grants.load_authorization_code(None, code)  # type: ignore[arg-type]
    token = await grants.load_access_token(access)
    assert loaded is not None
    assert loaded.expires_at == T + 300  # the SDK's model: epoch seconds, as before
    assert token is not None
    assert token.expires_at == int(T) + 3600
    assert await grants.resolve(access, origin) == ("the-kupe-key", ["read"])
    assert await grants.pending(request_id) == pending
    ticking.advance(900 + 1)
    assert await grants.pending(request_id) is None
    ticking.now = NOW + timedelta(seconds=3599)
    assert await grants.load_access_token(access) is not None
    ticking.now = NOW + timedelta(seconds=3600)  # past the record's own expiry, within the store's
    assert await grants.load_access_token(access) is None
