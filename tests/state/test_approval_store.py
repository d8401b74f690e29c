"""The one approval store (``StateApprovals``) keeps the same promises on memory, SQLite and a real Redis: one live
approval per digest, one answer, one redemption, expiry, retention, and tenants that cannot evict each other."""

from __future__ import annotations

from dataclasses import replace

import anyio
import pytest

from kupe_mcp.safety import approvals as approvals_module
from kupe_mcp.safety.approvals import Approval, ApprovalProblem, StateApprovals, decided_elsewhere, new_approval
from kupe_mcp.safety.state import StateStore
from tests._clock import FakeClock

pytestmark = pytest.mark.anyio

A, B = "user:alice", "user:bob"
TTL_S = 600.0
RETENTION_S = 7 * 86400.0


def approvals(store: StateStore, clock: FakeClock) -> StateApprovals:
    return StateApprovals(store, retention_s=RETENTION_S, clock=clock)


def fresh(clock: FakeClock, tenant: str = A, digest: str = "d" * 64) -> Approval:
    return new_approval(
        tenant=tenant,
        digest=digest,
        tool="place_call",
        arguments={"phone_number": "+919876543210"},
        facts={"to": "+919876543210"},
        channel="link",
        now=clock(),
        ttl_s=TTL_S,
    )


async def opened(store: StateStore) -> tuple[FakeClock, StateApprovals, Approval]:
    """A desk on ``store`` with its own clock, and the pending approval it opened for tenant A."""
    clock = FakeClock()
    desk = approvals(store, clock)
    return clock, desk, await desk.open_or_reuse(fresh(clock))


async def status_of(desk: StateApprovals, approval_id: str) -> str | None:
    """The approval's status as the store keeps it (None when it keeps none)."""
    record = await desk.get(approval_id)
    return None if record is None else record.status


async def test_one_digest_has_one_live_approval_per_tenant_even_when_opened_at_once(store: StateStore) -> None:
    clock = FakeClock()
    desk = approvals(store, clock)
    opened: list[str] = []

    async def open_one() -> None:
        opened.append((await desk.open_or_reuse(fresh(clock))).id)

    async with anyio.create_task_group() as tg:
        for _ in range(8):
            tg.start_soon(open_one)
    other = await desk.open_or_reuse(fresh(clock, tenant=B))
    assert len(set(opened)) == 1
    assert other.id not in opened
    assert [r.id for r in await desk.list(A, status=None, limit=10)] == [opened[0]]


async def test_a_flood_of_another_tenants_previews_never_evicts_a_pending_approval(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(approvals_module, "_MAX_PER_TENANT", 5)
    clock = FakeClock()
    desk = approvals(store, clock)
    mine = await desk.open_or_reuse(fresh(clock))
    flood = []
    for n in range(12):
        clock.advance(1)
        flood.append(await desk.open_or_reuse(fresh(clock, tenant=B, digest=f"{n:064d}")))
    kept = await desk.get(mine.id)
    assert kept is not None
    assert kept.status == "pending"
    assert (await desk.find(A, mine.digest)) == kept
    assert [r.id for r in await desk.list(B, status=None, limit=100)] == [r.id for r in reversed(flood[-5:])]
    assert [await desk.get(r.id) for r in flood[:7]] == [None] * 7
    assert [await desk.find(B, r.digest) for r in flood[:7]] == [None] * 7


async def test_an_approved_approval_is_redeemed_exactly_once_when_many_try_at_once(store: StateStore) -> None:
    _, desk, record = await opened(store)
    await desk.answer_on_page(record.id, approve=True, via="approval page")
    used: list[str] = []
    refused: list[str] = []

    async def redeem() -> None:
        try:
            used.append((await desk.redeem(record.id, tenant=A, digest=record.digest)).status)
        except ApprovalProblem as exc:
            refused.append(str(exc))

    async with anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(redeem)
    after = await desk.get(record.id)
    assert used == ["used"]
    assert len(refused) == 9
    assert after is not None
    assert [e["status"] for e in after.events] == ["pending", "approved", "used"]


async def test_a_pending_approval_takes_only_the_first_of_many_simultaneous_answers(store: StateStore) -> None:
    _, desk, record = await opened(store)
    answered: list[str] = []
    refused: list[str] = []

    async def answer(approve: bool) -> None:
        try:
            answered.append((await desk.answer_on_page(record.id, approve=approve, via="approval page")).status)
        except ApprovalProblem as exc:
            refused.append(str(exc))

    async with anyio.create_task_group() as tg:
        for n in range(10):
            tg.start_soon(answer, n % 2 == 0)
    after = await desk.get(record.id)
    assert len(answered) == 1
    assert len(refused) == 9
    assert after is not None
    assert after.status == answered[0]
    assert len(after.events) == 2


async def test_an_approval_nobody_answered_in_time_expires_and_can_be_neither_approved_nor_redeemed(
    store: StateStore,
) -> None:
    clock, desk, record = await opened(store)
    clock.advance(TTL_S + 1)
    with pytest.raises(ApprovalProblem, match="already expired"):
        await desk.answer_on_page(record.id, approve=True, via="approval page")
    with pytest.raises(ApprovalProblem, match="expired"):
        await desk.redeem(record.id, tenant=A, digest=record.digest)
    assert await status_of(desk, record.id) == "expired"
    assert await desk.find(A, record.digest) is None
    assert (await desk.open_or_reuse(fresh(clock))).id != record.id


async def test_an_approval_is_kept_for_the_retention_with_its_outcome_and_then_gone(store: StateStore) -> None:
    clock, desk, record = await opened(store)
    await desk.answer_on_page(record.id, approve=True, via="approval page")
    await desk.redeem(record.id, tenant=A, digest=record.digest)
    await desk.record_outcome(record.id, "request_id r-1")
    clock.advance(RETENTION_S - 60)
    (kept,) = await desk.list(A, status="used", limit=10)
    clock.advance(120)
    assert (kept.id, kept.outcome, kept.events[-1]["note"]) == (record.id, "request_id r-1", "request_id r-1")
    assert await desk.get(record.id) is None
    assert await desk.list(A, status=None, limit=10) == []


async def test_another_tenant_can_neither_redeem_nor_approve_with_a_proof_of_its_own(store: StateStore) -> None:
    _, desk, record = await opened(store)
    with pytest.raises(ApprovalProblem, match="unknown or for other arguments"):
        await desk.approve_verified(record.id, tenant=B, digest=record.digest, via="a passkey")
    await desk.answer_on_page(record.id, approve=True, via="approval page")
    with pytest.raises(ApprovalProblem, match="unknown"):
        await desk.redeem(record.id, tenant=B, digest=record.digest)
    assert await status_of(desk, record.id) == "approved"
    assert await desk.list(B, status=None, limit=10) == []


async def test_in_memory_one_tenants_flood_of_values_evicts_only_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """The memory store's bound is per tenant: B's tokens push out B's oldest, never A's approval index."""
    from kupe_mcp.safety.state import _memory
    from kupe_mcp.safety.state._memory import MemoryStore

    monkeypatch.setattr(_memory, "_MAX_VALUES", 3)
    clock = FakeClock()
    store = MemoryStore()
    desk = approvals(store, clock)
    mine = await desk.open_or_reuse(fresh(clock))
    at = clock()
    for n in range(10):
        await store.put(B, f"token:{n}", {"n": n}, expires=at.replace(year=2027))
    assert await desk.find(A, mine.digest) == mine
    assert [await store.get(B, f"token:{n}", now=at) for n in range(10)] == [None] * 7 + [{"n": n} for n in (7, 8, 9)]


async def test_a_decision_taken_elsewhere_is_listed_first_but_never_reused_answered_or_redeemed(
    store: StateStore,
) -> None:
    clock, desk, pending = await opened(store)
    clock.advance(1)
    kept = decided_elsewhere(replace(fresh(clock), channel="elicitation"), approved=True, note="approved in the form")
    await desk.keep(kept)
    refusals = []
    for attempt in (
        desk.answer_on_page(kept.id, approve=True, via="approval page"),
        desk.approve_verified(kept.id, tenant=A, digest=kept.digest, via="a passkey"),
        desk.redeem(kept.id, tenant=A, digest=kept.digest),
    ):
        with pytest.raises(ApprovalProblem) as refused:
            await attempt
        refusals.append(str(refused.value))
    live = await desk.find(A, pending.digest)  # the same digest's live approval is still the pending one
    clock.advance(RETENTION_S / 2)
    assert live is not None
    assert live.id == pending.id
    assert [r.id for r in await desk.list(A, status=None, limit=10)] == [kept.id, pending.id]
    assert await status_of(desk, kept.id) == "used"
    assert refusals[0] == "This approval was already used; nothing changed."
    assert refusals[1] == "This approval was already used; nothing changed."
    assert refusals[2].startswith("Refused: this approval is used")
