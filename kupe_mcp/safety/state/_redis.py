"""``redis://host:port/db``: call-safety state shared by every replica (the ``redis`` package's asyncio client).

Atomicity: ``take`` is ``GETDEL``, ``put_new`` is ``SET NX``. ``hold`` is optimistic
compare-and-add: the pure rules (``kupe_mcp.safety.rules``, run by the caller's ``check``) judge a
snapshot in Python, and one Lua script (``_HOLD``, EVALSHA) adds the slot only if the tenant's
slots (and everyone's, when the check judges them) are still at the version the check saw;
otherwise it returns the fresh state in the same round trip and the check runs again. So a cap
of N across replicas places N, and no rule is written twice (the script compares versions, it
never counts). ``settle`` and ``release`` are one script each. Any Redis failure raises
``StateUnavailable``: nothing is dialled unguarded.
Redis TTLs only clean up; every expiry the rules depend on is judged against the guards' clock.
Scores, TTLs and a value's ``exp`` are epoch numbers (Redis and the scripts compare numbers): the conversion from
the aware UTC datetimes the rest of call safety uses happens here, at the store's edge.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError, WatchError
from redis.exceptions import TimeoutError as RedisTimeoutError

from kupe_mcp.errors import StateUnavailable
from kupe_mcp.safety.clock import from_json, utc_now
from kupe_mcp.safety.rules import Recent, Slot
from kupe_mcp.safety.state import (
    SLOT_TTL,
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
_HOLD_TRIES = 100
_SEEN_TENANTS = 1024

# KEYS: the tenant's slots hash, everyone's sorted set, everyone's version.
# ARGV: 1 tenant version seen ("?" never matches: a plain read), 2 "1" when the check judges
# everyone's slots, 3 everyone's version seen, 4 slot id ("" = read only), 5 cutoff (older
# slots no longer count), 6 slot JSON, 7 "<id>|<count>", 8 slot time, 9 new version, 10 keep ms,
# 11.. the tenant's stale slot ids. Returns {1} once added, else {0, tenant hash, everyone}
# where everyone is {version, member, score, ...} (empty when not judged).
_HOLD = """
local mine, all, all_v = KEYS[1], KEYS[2], KEYS[3]
local id, judge = ARGV[4], ARGV[2] == '1'
if id ~= '' and redis.call('HEXISTS', mine, id) == 1 then return {1, {}, {}} end
local same = (redis.call('HGET', mine, '~v') or '') == ARGV[1]
if judge and (redis.call('GET', all_v) or '') ~= ARGV[3] then same = false end
if id == '' or not same then
  local everyone = {}
  if judge then
    everyone = redis.call('ZRANGEBYSCORE', all, '(' .. ARGV[5], '+inf', 'WITHSCORES')
    table.insert(everyone, 1, redis.call('GET', all_v) or '')
  end
  return {0, redis.call('HGETALL', mine), everyone}
end
for i = 11, #ARGV do redis.call('HDEL', mine, ARGV[i]) end
redis.call('ZREMRANGEBYSCORE', all, '-inf', ARGV[5])
redis.call('HSET', mine, id, ARGV[6], '~v', ARGV[9])
redis.call('ZADD', all, ARGV[8], ARGV[7])
redis.call('SET', all_v, ARGV[9], 'PX', ARGV[10])
redis.call('PEXPIRE', mine, ARGV[10])
redis.call('PEXPIRE', all, ARGV[10])
return {1, {}, {}}
"""

# KEYS: the tenant's slots hash. ARGV: slot id, ref, state, new version.
_SETTLE = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local body = cjson.decode(raw)
body['ref'] = ARGV[2]
body['state'] = ARGV[3]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(body), '~v', ARGV[4])
return 1
"""

# KEYS: as _HOLD. ARGV: slot id, new version, keep ms.
_RELEASE = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1] .. '|' .. cjson.decode(raw)['count'])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], '~v', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[3])
return 1
"""


@dataclass
class _Snapshot:
    """What one read saw: the tenant's slots by id (raw JSON kept to skip re-parsing) and everyone's."""

    version: str
    mine: dict[str, tuple[str, Slot]]
    all_version: str | None
    everyone: dict[str, tuple[str, tuple[datetime, int]]] | None

    def recent(self, now: datetime) -> Recent:
        cutoff = now - SLOT_TTL
        slots = sorted((s for _, s in self.mine.values() if s.at > cutoff), key=lambda s: s.at)
        counts = tuple(c for _, c in (self.everyone or {}).values() if c[0] > cutoff)
        return Recent(tuple(slots), counts)


class RedisStore(StateStore):
    """One connection pool per process, made on first use (inside the event loop that uses it)."""

    shared = True

    def __init__(self, url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._url = url
        self._client: aioredis.Redis | None = None
        self._registered: tuple[aioredis.Redis, AsyncScript, AsyncScript, AsyncScript] | None = None
        self._seen: dict[str, _Snapshot] = {}  # each tenant's last read, newest last (bounded)

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

    # -- values ----------------------------------------------------------------------------

    @staticmethod
    def _wrap(value: dict[str, Any], expires: datetime) -> tuple[str, int]:
        keep = max(_VALUE_KEEP_S, int((expires - utc_now()).total_seconds()) + 60)
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
    #
    # The tenant's slots: a hash {slot id: slot JSON, "~v": version}. Everyone's: a sorted set
    # of "<id>|<count>" scored by the slot's time (stale ones drop by score, with no read), and
    # its version in a string key. A version is a fresh random token per write, so "unchanged
    # since I read it" is exact. ``at`` is ISO 8601 text: cjson re-encodes
    # a number to 14 digits when a script rewrites a body, a string exactly.

    _ALL = f"{_PREFIX}:everyone:slots"
    _ALL_V = f"{_PREFIX}:everyone:version"

    def _scripts(self, r: aioredis.Redis) -> tuple[AsyncScript, AsyncScript, AsyncScript]:
        if self._registered is None or self._registered[0] is not r:
            self._registered = (r, r.register_script(_HOLD), r.register_script(_SETTLE), r.register_script(_RELEASE))
        return self._registered[1:]

    @staticmethod
    async def _eval(r: aioredis.Redis, script: AsyncScript, keys: list[str], args: list[Any]) -> Any:
        """EVALSHA; when the server does not know the script (a restart, SCRIPT FLUSH), EVAL, which also caches it."""
        try:
            return await r.evalsha(script.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await r.eval(cast(str, script.script), len(keys), *keys, *args)

    def _parse(self, tenant: str, mine: list[str], everyone: list[str] | None) -> _Snapshot:
        """A raw read as a snapshot; slots unchanged since the tenant's last read are not parsed again."""
        before = self._seen.get(tenant)
        known = before.mine if before is not None else {}
        version, slots = "", {}
        for sid, raw in zip(mine[::2], mine[1::2], strict=True):
            if sid == "~v":
                version = raw
                continue
            hit = known.get(sid)
            slots[sid] = hit if hit is not None and hit[0] == raw else (raw, slot_from_json(json.loads(raw)))
        counts: dict[str, tuple[str, tuple[datetime, int]]] | None = None
        all_version = None
        if everyone is not None:
            all_version, *flat = everyone
            had = (before.everyone if before is not None else None) or {}
            counts = {}
            for member, score in zip(flat[::2], flat[1::2], strict=True):
                seen = had.get(member)
                counts[member] = (
                    seen
                    if seen is not None and seen[0] == score
                    else (score, (from_json(score), int(member.rsplit("|", 1)[1])))
                )
        snap = _Snapshot(version, slots, all_version, counts)
        self._seen.pop(tenant, None)
        self._seen[tenant] = snap
        while len(self._seen) > _SEEN_TENANTS:
            del self._seen[next(iter(self._seen))]
        return snap

    async def _read(self, r: aioredis.Redis, tenant: str, everyone: bool, now: datetime) -> _Snapshot:
        hold, _, _ = self._scripts(r)
        cutoff = (now - SLOT_TTL).timestamp()
        args = ["?", "1" if everyone else "0", "?", "", cutoff]
        _, mine, all_ = await self._eval(r, hold, [self._slots(tenant), self._ALL, self._ALL_V], args)
        return self._parse(tenant, mine, all_ if everyone else None)

    async def recent(self, tenant: str, *, now: datetime, everyone: bool = True) -> Recent:
        async def work(r: aioredis.Redis) -> Recent:
            return (await self._read(r, tenant, everyone, now)).recent(now)

        return await self._run(work)

    async def hold(self, tenant: str, slot: Slot, check: Check, *, now: datetime, everyone: bool = True) -> None:
        """Check in Python over a snapshot, then add in Redis only if the snapshot is still the truth.

        The rules stay in ``kupe_mcp.safety.rules`` (the ``check`` callable); the script is a pure
        compare-and-add: it adds the slot only when the tenant's version (and everyone's, when
        the check judges it) is the one the check saw, else returns the fresh state and the
        check runs again on it. The first try reuses the snapshot of this tenant's last
        ``recent`` read (the plan was just made from it), so an uncontended hold is one round trip.
        """
        keys = [self._slots(tenant), self._ALL, self._ALL_V]
        body = dumps(slot_to_json(slot))
        member = f"{slot.id}|{slot.count}"

        async def work(r: aioredis.Redis) -> None:
            hold, _, _ = self._scripts(r)
            stale_at = now - SLOT_TTL
            cutoff = stale_at.timestamp()  # the script's score
            snap = self._seen.get(tenant)
            if snap is None or (everyone and snap.all_version is None):
                snap = await self._read(r, tenant, everyone, now)
            for _ in range(_HOLD_TRIES):
                check(snap.recent(now))  # raises CallRefused to refuse: nothing was written
                stale = [sid for sid, (_, s) in snap.mine.items() if s.at <= stale_at]
                version = secrets.token_hex(8)
                args = [
                    snap.version,
                    "1" if everyone else "0",
                    snap.all_version or "",
                    slot.id,
                    cutoff,
                    body,
                    member,
                    slot.at.timestamp(),
                    version,
                    _SLOT_KEEP_MS,
                    *stale,
                ]
                done, mine, all_ = await self._eval(r, hold, keys, args)
                if done:
                    # The script matched: the tenant's slots are now exactly the snapshot's, less the
                    # stale ones, plus this slot (kept, so the next read need not parse them again).
                    for sid in stale:
                        snap.mine.pop(sid, None)
                    snap.mine[slot.id] = (body, slot)
                    snap.version, snap.all_version = version, None  # everyone's: known again on the next read
                    return
                snap = self._parse(tenant, mine, all_ if everyone else None)
            raise RedisError("too many concurrent writers")

        await self._run(work)

    async def settle(self, tenant: str, slot_id: str, *, ref: str, state: str) -> None:
        async def work(r: aioredis.Redis) -> None:
            _, settle, _ = self._scripts(r)
            await self._eval(r, settle, [self._slots(tenant)], [slot_id, ref, state, secrets.token_hex(8)])

        await self._run(work)

    async def release(self, tenant: str, slot_id: str) -> None:
        async def work(r: aioredis.Redis) -> None:
            _, _, release = self._scripts(r)
            keys = [self._slots(tenant), self._ALL, self._ALL_V]
            await self._eval(r, release, keys, [slot_id, secrets.token_hex(8), _SLOT_KEEP_MS])

        await self._run(work)

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            with contextlib.suppress(RedisError):
                await client.aclose()
