"""``memory:``: call-safety state in the process.

Atomic because no operation awaits between read and write, and each runs under one lock: the stdio
approval page is served from its own thread and shares this store with the server's event loop.
"""

from __future__ import annotations

import copy
import threading
from datetime import datetime
from typing import Any

from kupe_mcp.safety.rules import Recent, Slot
from kupe_mcp.safety.state import SLOT_TTL, Check, StateStore

__all__ = ["MemoryStore"]

_MAX_VALUES = 50_000  # per tenant (namespace): a write evicts only its own namespace's values


class MemoryStore(StateStore):
    """Dicts, bounded per tenant: a flood of previews cannot grow the process without limit, and when one
    tenant's values reach the bound its own soonest-expiring value goes, never another tenant's."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._values: dict[tuple[str, str], tuple[dict[str, Any], datetime]] = {}
        self._held: dict[str, int] = {}  # values per tenant, so the bound is judged without a scan
        self._slots: dict[str, dict[str, Slot]] = {}
        self._lock = threading.Lock()

    def describe(self) -> str:
        return "memory: (in this process only; replicas need redis://)"

    def _drop(self, name: tuple[str, str]) -> None:
        if self._values.pop(name, None) is not None:
            left = self._held[name[0]] - 1
            if left:
                self._held[name[0]] = left
            else:
                del self._held[name[0]]

    def _put(self, tenant: str, key: str, value: dict[str, Any], expires: datetime) -> None:
        name = (tenant, key)
        if name not in self._values:
            if self._held.get(tenant, 0) >= _MAX_VALUES:
                own = [k for k in self._values if k[0] == tenant]
                self._drop(min(own, key=lambda k: self._values[k][1]))
            self._held[tenant] = self._held.get(tenant, 0) + 1
        self._values[name] = (copy.deepcopy(value), expires)

    async def put(self, tenant: str, key: str, value: dict[str, Any], *, expires: datetime) -> None:
        with self._lock:
            self._put(tenant, key, value, expires)

    def _live(self, tenant: str, key: str, now: datetime) -> dict[str, Any] | None:
        held = self._values.get((tenant, key))
        if held is None:
            return None
        if held[1] <= now:
            self._drop((tenant, key))
            return None
        return held[0]

    async def put_new(self, tenant: str, key: str, value: dict[str, Any], *, expires: datetime, now: datetime) -> bool:
        with self._lock:
            if self._live(tenant, key, now) is not None:
                return False
            self._put(tenant, key, value, expires)
            return True

    async def get(self, tenant: str, key: str, *, now: datetime) -> dict[str, Any] | None:
        with self._lock:
            value = self._live(tenant, key, now)
            return copy.deepcopy(value) if value is not None else None

    async def take(self, tenant: str, key: str, *, now: datetime) -> dict[str, Any] | None:
        with self._lock:
            value = self._live(tenant, key, now)
            self._drop((tenant, key))
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
        with self._lock:
            return self._snapshot(tenant, now)

    async def hold(self, tenant: str, slot: Slot, check: Check, *, now: datetime, everyone: bool = True) -> None:
        with self._lock:
            check(self._snapshot(tenant, now))
            self._slots.setdefault(tenant, {})[slot.id] = slot

    async def settle(self, tenant: str, slot_id: str, *, ref: str, state: str) -> None:
        with self._lock:
            slots = self._slots.get(tenant, {})
            if slot_id in slots:
                old = slots[slot_id]
                slots[slot_id] = Slot(old.id, old.at, old.count, old.numbers, ref, state)

    async def release(self, tenant: str, slot_id: str) -> None:
        with self._lock:
            self._slots.get(tenant, {}).pop(slot_id, None)
