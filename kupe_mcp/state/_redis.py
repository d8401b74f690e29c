"""``redis://host:port/db``: call-safety state shared by every replica (the ``redis`` package's asyncio client).

Atomicity: ``take`` is ``GETDEL``, ``put_new`` is ``SET NX``; ``hold`` is an optimistic
transaction (``WATCH`` the tenant's and everyone's slots, read, run the pure check, then
``MULTI``/``EXEC``, retried when another replica wrote in between), so a cap of N across
replicas places N. Any Redis failure raises ``StateUnavailable``: nothing is dialled unguarded.
Redis TTLs only clean up; every expiry the rules depend on is judged against the guards' clock.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, WatchError
from redis.exceptions import TimeoutError as RedisTimeoutError

from kupe_mcp.errors import StateUnavailable
from kupe_mcp.guards import Recent, Slot
from kupe_mcp.state import (
    SLOT_TTL,
    ApprovalRecord,
    Check,
    StateStore,
    dumps,
    redacted_url,
    slot_from_json,
    slot_to_json,
    tenant_key,
)

__all__ = ["RedisStore"]

_T = TypeVar("_T")
_PREFIX = "kupe-app-mcp"
_VALUE_KEEP_S = 2 * 3600
_SLOT_KEEP_MS = int(SLOT_TTL.total_seconds() * 1000) + 60_000
_MAX_RECORDS = 50_000
_HOLD_TRIES = 100


class RedisStore(StateStore):
    """One connection pool per process, made on first use (inside the event loop that uses it)."""

    shared = True

    def __init__(self, url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._url = url
        self._client: aioredis.Redis | None = None

    def describe(self) -> str:
        return f"redis {redacted_url(self._url)} (shared by replicas)"

    def _redis(self) -> aioredis.Redis:
        if self._client is None:
            # One retry on a fresh connection: after a Redis restart the pool's old sockets are dead.
            # A retried GETDEL whose first reply was lost finds nothing: the token is refused (fail closed).
            self._client = aioredis.Redis.from_url(
                self._url,
                decode_responses=True,
                socket_timeout=2.0,
                socket_connect_timeout=2.0,
                retry=Retry(NoBackoff(), 1),
                retry_on_error=[RedisConnectionError, RedisTimeoutError],
            )
        return self._client

    async def _run(self, work: Callable[[aioredis.Redis], Awaitable[_T]]) -> _T:
        try:
            return await work(self._redis())
        except RedisError as exc:
            raise StateUnavailable(
                f"Refused: the call-safety state store ({redacted_url(self._url)}) cannot be reached "
                f"({type(exc).__name__}), so no call can be checked against the limits; nothing was dialled. "
                "Ask whoever runs this server to check Redis."
            ) from None

    @staticmethod
    def _kv(tenant: str, key: str) -> str:
        return f"{_PREFIX}:kv:{tenant_key(tenant)}:{key}"

    @staticmethod
    def _slots(tenant: str) -> str:
        return f"{_PREFIX}:slots:{tenant_key(tenant)}"

    _ALL = f"{_PREFIX}:slots:*all*"

    @staticmethod
    def _records(tenant: str) -> str:
        return f"{_PREFIX}:approvals:{tenant_key(tenant)}"

    # -- values ----------------------------------------------------------------------------

    @staticmethod
    def _wrap(value: dict[str, Any], expires: datetime) -> tuple[str, int]:
        keep = max(_VALUE_KEEP_S, int(expires.timestamp() - time.time()) + 60)
        return dumps({"v": value, "exp": expires.timestamp()}), keep * 1000

    @staticmethod
    def _unwrap(raw: Any, now: datetime) -> dict[str, Any] | None:
        if raw is None:
            return None
        body = json.loads(raw)
        if float(body["exp"]) <= now.timestamp():
            return None
        value: dict[str, Any] = body["v"]
        return value

    async def put(self, tenant: str, key: str, value: dict[str, Any], *, expires: datetime) -> None:
        raw, keep_ms = self._wrap(value, expires)
        await self._run(lambda r: r.set(self._kv(tenant, key), raw, px=keep_ms))

    async def put_new(self, tenant: str, key: str, value: dict[str, Any], *, expires: datetime, now: datetime) -> bool:
        raw, keep_ms = self._wrap(value, expires)
        name = self._kv(tenant, key)

        async def work(r: aioredis.Redis) -> bool:
            if await r.set(name, raw, px=keep_ms, nx=True):
                return True
            # Taken only by a value whose logical life ended: replace it, atomically against a rival.
            async with r.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(name)
                    if self._unwrap(await pipe.get(name), now) is not None:
                        return False
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.set(name, raw, px=keep_ms)
                    await pipe.execute()
                    return True
                except WatchError:
                    return False

        return await self._run(work)

    async def get(self, tenant: str, key: str, *, now: datetime) -> dict[str, Any] | None:
        raw = await self._run(lambda r: r.get(self._kv(tenant, key)))
        return self._unwrap(raw, now)

    async def take(self, tenant: str, key: str, *, now: datetime) -> dict[str, Any] | None:
        raw = await self._run(lambda r: r.getdel(self._kv(tenant, key)))
        return self._unwrap(raw, now)

    # -- slots -----------------------------------------------------------------------------

    @staticmethod
    def _recent(mine: dict[Any, Any], everyone: dict[Any, Any], now: datetime) -> tuple[Recent, list[str], list[str]]:
        cutoff = (now - SLOT_TTL).timestamp()
        slots, stale_mine = [], []
        for sid, raw in mine.items():
            body = json.loads(raw)
            if float(body["at"]) <= cutoff:
                stale_mine.append(sid)
            else:
                slots.append(slot_from_json(body))
        counts, stale_all = [], []
        for sid, raw in everyone.items():
            at, count = json.loads(raw)
            if float(at) <= cutoff:
                stale_all.append(sid)
            else:
                counts.append((datetime.fromtimestamp(float(at), UTC), int(count)))
        slots.sort(key=lambda s: s.at)
        return Recent(tuple(slots), tuple(counts)), stale_mine, stale_all

    async def recent(self, tenant: str, *, now: datetime) -> Recent:
        async def work(r: aioredis.Redis) -> Recent:
            async with r.pipeline(transaction=False) as pipe:
                pipe.hgetall(self._slots(tenant))
                pipe.hgetall(self._ALL)
                mine, everyone = await pipe.execute()
            return self._recent(mine, everyone, now)[0]

        return await self._run(work)

    async def hold(self, tenant: str, slot: Slot, check: Check, *, now: datetime) -> None:
        mine_key = self._slots(tenant)

        async def work(r: aioredis.Redis) -> None:
            async with r.pipeline(transaction=True) as pipe:
                for _ in range(_HOLD_TRIES):
                    try:
                        await pipe.watch(mine_key, self._ALL)
                        mine = await pipe.hgetall(mine_key)
                        everyone = await pipe.hgetall(self._ALL)
                        recent, stale_mine, stale_all = self._recent(mine, everyone, now)
                        check(recent)  # raises CallRefused to refuse: the pipeline is reset on the way out
                        pipe.multi()  # type: ignore[no-untyped-call]
                        if stale_mine:
                            pipe.hdel(mine_key, *stale_mine)
                        if stale_all:
                            pipe.hdel(self._ALL, *stale_all)
                        pipe.hset(mine_key, slot.id, dumps(slot_to_json(slot)))
                        pipe.hset(self._ALL, slot.id, dumps([slot.at.timestamp(), slot.count]))
                        pipe.pexpire(mine_key, _SLOT_KEEP_MS)
                        pipe.pexpire(self._ALL, _SLOT_KEEP_MS)
                        await pipe.execute()
                        return
                    except WatchError:
                        continue
            raise RedisError("too many concurrent writers")

        await self._run(work)

    async def settle(self, tenant: str, slot_id: str, *, ref: str, state: str) -> None:
        key = self._slots(tenant)

        async def work(r: aioredis.Redis) -> None:
            raw = await r.hget(key, slot_id)
            if raw is not None:
                await r.hset(key, slot_id, dumps({**json.loads(raw), "ref": ref, "state": state}))

        await self._run(work)

    async def release(self, tenant: str, slot_id: str) -> None:
        async def work(r: aioredis.Redis) -> None:
            async with r.pipeline(transaction=True) as pipe:
                pipe.hdel(self._slots(tenant), slot_id)
                pipe.hdel(self._ALL, slot_id)
                await pipe.execute()

        await self._run(work)

    # -- approval records ----------------------------------------------------------------------

    async def append_approval(self, record: ApprovalRecord) -> None:
        key = self._records(record.tenant)
        keep_ms = int(self.retention.total_seconds() * 1000)

        async def work(r: aioredis.Redis) -> None:
            async with r.pipeline(transaction=True) as pipe:
                pipe.rpush(key, dumps(record.to_json()))
                pipe.ltrim(key, -_MAX_RECORDS, -1)
                pipe.pexpire(key, keep_ms)
                await pipe.execute()

        await self._run(work)

    async def approvals(
        self, tenant: str, *, now: datetime, approval_id: str | None = None, limit: int = 20
    ) -> list[ApprovalRecord]:
        raw: list[Any] = await self._run(lambda r: r.lrange(self._records(tenant), 0, -1))
        cutoff = now - self.retention
        out = []
        for item in reversed(raw):
            record = ApprovalRecord.from_json(json.loads(item))
            if record.at > cutoff and (approval_id is None or record.approval_id == approval_id):
                out.append(record)
                if len(out) >= limit:
                    break
        return out

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            with contextlib.suppress(RedisError):
                await client.aclose()
