"""``memory:``: call-safety state in the process. Atomic because no operation awaits between read and write."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from kupe_mcp.safety.rules import Recent, Slot
from kupe_mcp.safety.state import SLOT_TTL, ApprovalRecord, Check, StateStore

__all__ = ["MemoryStore"]

_MAX_VALUES = 50_000
_MAX_RECORDS = 50_000


class MemoryStore(StateStore):
    """Dicts and lists; bounded so a flood of previews cannot grow the process without limit."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._values: dict[tuple[str, str], tuple[dict[str, Any], datetime]] = {}
        self._slots: dict[str, dict[str, Slot]] = {}
        self._records: list[ApprovalRecord] = []

    def describe(self) -> str:
        return "memory: (in this process only; replicas need redis://)"

    async def put(self, tenant: str, key: str, value: dict[str, Any], *, expires: datetime) -> None:
        if len(self._values) >= _MAX_VALUES:
            oldest = min(self._values, key=lambda k: self._values[k][1])
            del self._values[oldest]
        self._values[(tenant, key)] = (copy.deepcopy(value), expires)

    def _live(self, tenant: str, key: str, now: datetime) -> dict[str, Any] | None:
        held = self._values.get((tenant, key))
        if held is None:
            return None
        if held[1] <= now:
            del self._values[(tenant, key)]
            return None
        return held[0]

    async def put_new(self, tenant: str, key: str, value: dict[str, Any], *, expires: datetime, now: datetime) -> bool:
        if self._live(tenant, key, now) is not None:
            return False
        await self.put(tenant, key, value, expires=expires)
        return True

    async def get(self, tenant: str, key: str, *, now: datetime) -> dict[str, Any] | None:
        value = self._live(tenant, key, now)
        return copy.deepcopy(value) if value is not None else None

    async def take(self, tenant: str, key: str, *, now: datetime) -> dict[str, Any] | None:
        value = self._live(tenant, key, now)
        self._values.pop((tenant, key), None)
        return value

    def _snapshot(self, tenant: str, now: datetime) -> Recent:
        cutoff = now - SLOT_TTL
        for slots in self._slots.values():
            for sid in [s for s, slot in slots.items() if slot.at <= cutoff]:
                del slots[sid]
        mine = tuple(sorted(self._slots.get(tenant, {}).values(), key=lambda s: s.at))
        everyone = tuple((s.at, s.count) for slots in self._slots.values() for s in slots.values())
        return Recent(mine, everyone)

    async def recent(self, tenant: str, *, now: datetime, everyone: bool = True) -> Recent:
        return self._snapshot(tenant, now)

    async def hold(self, tenant: str, slot: Slot, check: Check, *, now: datetime, everyone: bool = True) -> None:
        check(self._snapshot(tenant, now))
        self._slots.setdefault(tenant, {})[slot.id] = slot

    async def settle(self, tenant: str, slot_id: str, *, ref: str, state: str) -> None:
        slots = self._slots.get(tenant, {})
        if slot_id in slots:
            old = slots[slot_id]
            slots[slot_id] = Slot(old.id, old.at, old.count, old.numbers, ref, state)

    async def release(self, tenant: str, slot_id: str) -> None:
        self._slots.get(tenant, {}).pop(slot_id, None)

    async def append_approval(self, record: ApprovalRecord) -> None:
        cutoff = record.at - self.retention
        self._records = [r for r in self._records if r.at > cutoff][-_MAX_RECORDS:]
        self._records.append(record)

    async def approvals(
        self, tenant: str, *, now: datetime, approval_id: str | None = None, limit: int = 20
    ) -> list[ApprovalRecord]:
        cutoff = now - self.retention
        rows = [
            r
            for r in reversed(self._records)
            if r.tenant == tenant and r.at > cutoff and (approval_id is None or r.approval_id == approval_id)
        ]
        return rows[:limit]
