"""Approvals: a person's yes or no to one call or batch, given outside the model's reach, kept as a record.

A client that cannot ask the person in-band gets an approval instead of a redeemable token (README
"Call safety"): a record bound to the tenant and to the digest of exactly what will be dialled,
answered on the approval page (``kupe_mcp.safety.page``) or the MCP Apps card. What answers it depends
on KUPE_APPROVAL_PROOF: with ``passkey`` only ``approve_verified`` after a passkey assertion checked by
``kupe_mcp.safety.passkeys``; with ``client`` also the page's POST and the card's nonce (kept only as a
keyed digest: no store holds a secret that answers an approval). The record then moves, once:

    pending -> approved -> used        (the call or batch was dialled, ``outcome`` says what)
            -> declined
            -> expired                 (nobody answered within KUPE_APPROVAL_TTL_S)

``redeem`` is the only way from approved to used and succeeds once, so one yes dials once.
Every change is appended to the record's ``events`` (who answered, through which channel,
what was dialled); records are kept KUPE_APPROVAL_RETENTION_DAYS, then pruned. A yes or no given where no
record was pending (the client's own form, a confirmation token, or no question because the rules needed none)
is kept too, already ``used`` or ``declined`` (``decided_elsewhere``), so every dial has its audit record.

The store is an interface (``ApprovalStore``) with one implementation, ``StateApprovals``, over whichever
``StateStore`` the server uses (memory, SQLite or Redis): the same rules hold on each. Answering and
redeeming are one atomic ``take``; opening an approval holds a short per-tenant lock (``put_new``), so
one digest gets one live approval. Each tenant holds at most ``_MAX_PER_TENANT`` approvals and only its
own oldest are dropped beyond that, so one tenant's flood of previews never evicts another's approval.
The record with its ``events`` and ``outcome`` is the audit record: ``list_call_approvals`` and
``kupe://approvals/{id}`` read it, and nothing else keeps a second log.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

import anyio

from kupe_mcp.safety.clock import Clock, from_json, listed_time, to_json, utc_now

__all__ = [
    "Approval",
    "ApprovalProblem",
    "ApprovalStatus",
    "ApprovalStore",
    "Channel",
    "StateApprovals",
    "decided_elsewhere",
    "new_approval",
    "on_the_page",
]

ApprovalStatus = Literal["pending", "approved", "declined", "expired", "used"]
Channel = Literal["url", "app", "link", "token", "elicitation", "unattended"]
"""How the person was asked. The first three open a pending record answered outside the model's reach; the last
three are decided before the record is written (a confirmation token brought back, the client's own form, or no
question at all because the rules needed none), and their record is only the audit of that decision."""
_MAX_PER_TENANT = 1_000  # approvals one tenant may hold in any store; beyond it, that tenant's own oldest go
_LOCK = timedelta(seconds=10)  # how long an opener's per-tenant lock lasts if its holder vanished (a crash mid-open)
_LOCK_TRIES = 200  # x 10 ms: then the store is too busy to open an approval safely, and the call is refused


class ApprovalProblem(Exception):
    """An approval could not be answered or redeemed; the message is one sentence for the person or model."""


@dataclass(frozen=True)
class Approval:
    """One request for a person's approval and everything that happened to it.

    ``card_digest`` is the keyed digest (HMAC, ``StateKeys.digest``) of the nonce the MCP Apps card last
    rendered with: the card's app-only tool must bring that nonce, which travels only in the card's
    ``_meta``. No store holds a secret that answers an approval. ``facts`` is what the person is shown.
    """

    id: str
    tenant: str
    digest: str
    tool: str
    arguments: dict[str, Any]
    facts: dict[str, Any]
    channel: Channel
    created_at: datetime
    expires_at: datetime
    status: ApprovalStatus = "pending"
    decided_at: datetime | None = None
    outcome: str | None = None
    events: tuple[dict[str, Any], ...] = ()
    card_digest: str = ""

    def current(self, now: datetime) -> Approval:
        """This record as of ``now``: past its expiry, a pending (or approved but unused) approval is expired."""
        if self.status in {"pending", "approved"} and now >= self.expires_at:
            note = "nobody answered in time" if self.status == "pending" else "approved but not used in time"
            return self._moved("expired", now, note)
        return self

    def _moved(self, status: ApprovalStatus, now: datetime, note: str, **changes: Any) -> Approval:
        event = {"at": now, "status": status, "note": note}
        return replace(self, status=status, events=(*self.events, event), **changes)

    def public(self) -> dict[str, Any]:
        """What the tenant's model may read: everything but the secret (and the raw arguments' digest)."""
        return {
            "approval_id": self.id,
            "status": self.status,
            "tool": self.tool,
            "channel": self.channel,
            "facts": self.facts,
            "created_at": listed_time(self.created_at),
            "expires_at": listed_time(self.expires_at),
            "decided_at": listed_time(self.decided_at) if self.decided_at is not None else None,
            "outcome": self.outcome,
            "events": [{**e, "at": listed_time(e["at"])} for e in self.events],
        }


def new_approval(
    *,
    tenant: str,
    digest: str,
    tool: str,
    arguments: dict[str, Any],
    facts: dict[str, Any],
    channel: Channel,
    now: datetime,
    ttl_s: float,
) -> Approval:
    """A fresh pending approval with an unguessable id (it names the approval; it answers nothing)."""
    return Approval(
        id=secrets.token_urlsafe(12),
        tenant=tenant,
        digest=digest,
        tool=tool,
        arguments=arguments,
        facts=facts,
        channel=channel,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_s),
        events=({"at": now, "status": "pending", "note": f"asked through the {channel} channel"},),
    )


def decided_elsewhere(asked: Approval, *, approved: bool, note: str) -> Approval:
    """The audit record of a decision no page or card took (``asked`` made with ``ttl_s=0``): already ``used``
    (approved) or ``declined``, its one event saying how.

    It is never pending, so nothing can answer or redeem it; it exists so that "why did this call ring?" has an
    answer in ``list_call_approvals`` for every dial, whatever the channel.
    """
    status: ApprovalStatus = "used" if approved else "declined"
    now = asked.created_at
    return replace(asked, status=status, decided_at=now, events=({"at": now, "status": status, "note": note},))


def on_the_page(record: Approval, proof: str) -> bool:
    """Whether the approval page may show ``record``: only a link or URL approval, or a card's under passkey proof
    (the card then sends the person to the page). A card's approval under client proof is answered on the card
    alone (its page would hand the answer to anyone holding the id, which the model is shown), and a decision
    taken elsewhere has nothing to answer."""
    return record.channel in {"link", "url"} or (record.channel == "app" and proof == "passkey")


def _same(kept: str, given: str) -> bool:
    """A digest compared in constant time; an approval with no card kept answers no card."""
    return bool(kept) and secrets.compare_digest(kept, given)


def _verified(record: Approval | None, tenant: str, digest: str, via: str, now: datetime) -> Approval:
    """``record`` approved by a proof checked elsewhere, when it is still pending for that tenant and digest."""
    if record is None or record.tenant != tenant or not secrets.compare_digest(record.digest, digest):
        raise ApprovalProblem("Refused: this approval is unknown or for other arguments; nothing was approved.")
    if record.status != "pending":
        raise ApprovalProblem(f"This approval was already {record.status}; nothing changed.")
    return record._moved("approved", now, f"approved by the person with {via}", decided_at=now)


class ApprovalStore(Protocol):
    """Where approvals live; each method is atomic (a shared store serves every replica)."""

    async def open_or_reuse(self, fresh: Approval) -> Approval:
        """The tenant's live (pending or approved) approval for ``fresh.digest``, or ``fresh`` stored."""
        ...

    async def get(self, approval_id: str) -> Approval | None: ...

    async def find(self, tenant: str, digest: str) -> Approval | None:
        """The tenant's live approval for ``digest``: pending, approved, or declined within its lifetime."""
        ...

    async def answer(self, approval_id: str, card_digest: str, *, approve: bool, via: str) -> Approval:
        """The person's answer on the card; ApprovalProblem unless ``card_digest`` is the digest of the nonce the
        card was last rendered with and the approval is pending."""
        ...

    async def issue_card(self, approval_id: str, card_digest: str) -> None:
        """Keep the digest of the nonce a card is being rendered with (it replaces any earlier card's)."""
        ...

    async def answer_on_page(self, approval_id: str, *, approve: bool, via: str) -> Approval:
        """The person's answer from the page, whose own checks (Origin, the view's cookie) already passed."""
        ...

    async def approve_verified(self, approval_id: str, *, tenant: str, digest: str, via: str) -> Approval:
        """Approve on a proof checked by the caller (a verified passkey assertion bound to ``tenant`` and
        ``digest``); ApprovalProblem unless the approval is pending for exactly that tenant and digest."""
        ...

    async def redeem(self, approval_id: str, *, tenant: str, digest: str) -> Approval:
        """Use up an approved approval for exactly this tenant and digest (once); ApprovalProblem otherwise."""
        ...

    async def keep(self, record: Approval) -> None:
        """Keep a decision taken outside the store (``decided_elsewhere``) in the tenant's list, as its audit."""
        ...

    async def record_outcome(self, approval_id: str, outcome: str) -> None: ...

    async def list(self, tenant: str, *, status: ApprovalStatus | None, limit: int) -> list[Approval]: ...


_PAGE_TENANT = "approval-pages"  # the page knows only the approval id: its records live under one namespace


def _to_json(record: Approval) -> dict[str, Any]:
    return {
        **record.__dict__,
        "created_at": to_json(record.created_at),
        "expires_at": to_json(record.expires_at),
        "decided_at": to_json(record.decided_at) if record.decided_at is not None else None,
        "events": [{**e, "at": to_json(e["at"])} for e in record.events],
    }


_FIELDS = frozenset(Approval.__dataclass_fields__)


def _from_json(raw: dict[str, Any]) -> Approval:
    """Read leniently: a field an older version kept (a page secret in plain text) is dropped, never used, and
    times kept as epoch seconds (before ISO 8601) read as the same instants."""
    kept = {k: v for k, v in raw.items() if k in _FIELDS}
    decided = kept.get("decided_at")
    return Approval(
        **{
            **kept,
            "created_at": from_json(kept["created_at"]),
            "expires_at": from_json(kept["expires_at"]),
            "decided_at": from_json(decided) if decided is not None else None,
            "events": tuple({**e, "at": from_json(e["at"])} for e in raw.get("events") or ()),
        }
    )


@dataclass
class StateApprovals:
    """Approvals kept in the call-safety ``StateStore`` (``KUPE_STATE_URL``): any replica serves the page.

    Records live ``retention_s`` after they were made (the store's own expiry), each tenant keeps at most
    ``_MAX_PER_TENANT`` (its list, newest first, names them; the oldest beyond it are deleted on the next open).

    Answering and redeeming ``take`` the record (an atomic read-and-delete) before writing its next state, so two
    replicas can never both move it: the second finds nothing and refuses (nothing is dialled).
    """

    state: Any  # kupe_mcp.safety.state.StateStore; typed loosely so this module stays import-light
    retention_s: float = 30 * 86400.0
    clock: Clock = utc_now

    @property
    def _retention(self) -> timedelta:
        return timedelta(seconds=self.retention_s)

    async def _save(self, record: Approval) -> None:
        keep = record.created_at + self._retention
        await self.state.put(_PAGE_TENANT, f"approval:{record.id}", _to_json(record), expires=keep)

    async def _load(self, approval_id: str) -> Approval | None:
        raw = await self.state.get(_PAGE_TENANT, f"approval:{approval_id}", now=self.clock())
        return _from_json(raw).current(self.clock()) if raw is not None else None

    async def get(self, approval_id: str) -> Approval | None:
        return await self._load(approval_id)

    async def find(self, tenant: str, digest: str) -> Approval | None:
        index = await self.state.get(tenant, f"approval-digest:{digest}", now=self.clock())
        record = await self._load(str(index["id"])) if index else None
        if record is None or record.tenant != tenant or record.digest != digest:
            return None
        now = self.clock()
        live = record.status in {"pending", "approved"} or (record.status == "declined" and record.expires_at > now)
        return record if live else None

    @asynccontextmanager
    async def _opening(self, tenant: str) -> AsyncIterator[None]:
        """Hold the tenant's opening lock: find-or-create and the tenant's list change as one step on any store.

        The lock is a ``put_new`` value with a short life, so a holder that vanished frees it on its own.
        A lock never obtained refuses (``StateUnavailable``): no approval is opened, nothing is dialled.
        """
        from kupe_mcp.errors import StateUnavailable

        for _ in range(_LOCK_TRIES):
            now = self.clock()
            if await self.state.put_new(tenant, "approval-lock", {}, expires=now + _LOCK, now=now):
                break
            await anyio.sleep(0.01)
        else:
            raise StateUnavailable(
                "Refused: the approval store is too busy to open an approval safely; nothing was dialled. Try again."
            )
        try:
            yield
        finally:
            with anyio.CancelScope(shield=True):
                await self.state.take(tenant, "approval-lock", now=self.clock())

    async def open_or_reuse(self, fresh: Approval) -> Approval:
        async with self._opening(fresh.tenant):
            live = await self.find(fresh.tenant, fresh.digest)
            if live is not None:
                return live
            await self._save(fresh)
            keep = fresh.expires_at
            await self.state.put(fresh.tenant, f"approval-digest:{fresh.digest}", {"id": fresh.id}, expires=keep)
            await self._listed_first(fresh)
            return fresh

    async def keep(self, record: Approval) -> None:
        # No digest index: a decision taken elsewhere is never the live approval a later request could reuse.
        async with self._opening(record.tenant):
            await self._save(record)
            await self._listed_first(record)

    async def _listed_first(self, record: Approval) -> None:
        """Put ``record`` first in its tenant's list; the tenant's own oldest beyond its share are deleted."""
        listed = await self.state.get(record.tenant, "approval-list", now=self.clock()) or {"ids": []}
        ids = [record.id, *[str(i) for i in listed["ids"] if i != record.id]]
        ids, dropped = ids[:_MAX_PER_TENANT], ids[_MAX_PER_TENANT:]
        await self.state.put(record.tenant, "approval-list", {"ids": ids}, expires=self.clock() + self._retention)
        for old in dropped:
            await self._drop(record.tenant, old)

    async def _drop(self, tenant: str, approval_id: str) -> None:
        """Delete one of ``tenant``'s approvals beyond its share (its own oldest): never another tenant's."""
        record = await self._take(approval_id)
        if record is None:
            return
        if record.tenant != tenant:  # not this tenant's (cannot happen: ids come from its own list): keep it
            await self._save(record)
            return
        index = await self.state.get(tenant, f"approval-digest:{record.digest}", now=self.clock())
        if index is not None and index.get("id") == approval_id:
            await self.state.take(tenant, f"approval-digest:{record.digest}", now=self.clock())

    async def _take(self, approval_id: str) -> Approval | None:
        raw = await self.state.take(_PAGE_TENANT, f"approval:{approval_id}", now=self.clock())
        return _from_json(raw) if raw is not None else None

    async def answer(self, approval_id: str, card_digest: str, *, approve: bool, via: str) -> Approval:
        return await self._answer(approval_id, card_digest, approve=approve, via=via)

    async def answer_on_page(self, approval_id: str, *, approve: bool, via: str) -> Approval:
        return await self._answer(approval_id, None, approve=approve, via=via)

    async def _answer(self, approval_id: str, card_digest: str | None, *, approve: bool, via: str) -> Approval:
        record = await self._take(approval_id)
        if record is None or (card_digest is not None and not _same(record.card_digest, card_digest)):
            if record is not None:
                await self._save(record)
            raise ApprovalProblem("This approval link is not valid: ask the assistant for a new one.")
        now = self.clock()
        current = record.current(now)
        if current.status != "pending":
            await self._save(current)
            raise ApprovalProblem(f"This approval was already {current.status}; nothing changed.")
        status: ApprovalStatus = "approved" if approve else "declined"
        moved = current._moved(status, now, f"{status} by the person on the {via}", decided_at=now)
        await self._save(moved)
        return moved

    async def approve_verified(self, approval_id: str, *, tenant: str, digest: str, via: str) -> Approval:
        record = await self._take(approval_id)
        current = record.current(self.clock()) if record is not None else None
        try:
            moved = _verified(current, tenant, digest, via, self.clock())
        except ApprovalProblem:
            if current is not None:
                await self._save(current)
            raise
        await self._save(moved)
        return moved

    async def redeem(self, approval_id: str, *, tenant: str, digest: str) -> Approval:
        record = await self._take(approval_id)
        if record is None or record.tenant != tenant:
            if record is not None:
                await self._save(record)
            raise ApprovalProblem("Refused: this approval is unknown or being used; ask the person again.")
        current = record.current(self.clock())
        if not secrets.compare_digest(current.digest, digest) or current.status != "approved":
            await self._save(current)
            raise ApprovalProblem(f"Refused: this approval is {current.status} or for other arguments; ask again.")
        used = current._moved("used", self.clock(), "redeemed to dial")
        await self._save(used)
        return used

    async def issue_card(self, approval_id: str, card_digest: str) -> None:
        record = await self._take(approval_id)
        if record is not None:
            await self._save(replace(record, card_digest=card_digest))

    async def record_outcome(self, approval_id: str, outcome: str) -> None:
        record = await self._take(approval_id)
        if record is not None:
            event = {"at": self.clock(), "status": record.status, "note": outcome}
            await self._save(replace(record, outcome=outcome, events=(*record.events, event)))

    async def list(self, tenant: str, *, status: ApprovalStatus | None, limit: int) -> list[Approval]:
        """The tenant's approvals, newest first; reads stop at ``limit`` (a list holds up to _MAX_PER_TENANT ids)."""
        listed = await self.state.get(tenant, "approval-list", now=self.clock()) or {"ids": []}
        rows: list[Approval] = []
        for approval_id in listed["ids"]:
            record = await self._load(str(approval_id))
            if record is not None and record.tenant == tenant and (status is None or record.status == status):
                rows.append(record)
                if len(rows) >= limit:
                    break
        return rows
