"""``sqlite:///path``: call-safety state in a file, so a relaunched stdio server remembers the last hour.

Times are aware UTC datetimes everywhere else; the ``expires`` and ``at`` columns hold epoch seconds (REAL), so
SQLite compares and prunes them as numbers: the conversion happens here, at the store's edge, and nowhere else.

Each operation runs in a worker thread inside one ``BEGIN IMMEDIATE`` transaction: atomic
against other threads and against other processes sharing the file.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread

from kupe_mcp.errors import StateUnavailable
from kupe_mcp.safety.clock import from_json
from kupe_mcp.safety.rules import Recent, Slot
from kupe_mcp.safety.state import (
    SLOT_TTL,
    Check,
    StateStore,
    dumps,
    slot_from_json,
    slot_to_json,
    tenant_key,
)

__all__ = ["SqliteStore"]

_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (tenant TEXT, key TEXT, value TEXT, expires REAL, PRIMARY KEY (tenant, key));
CREATE TABLE IF NOT EXISTS slots (id TEXT PRIMARY KEY, tenant TEXT, at REAL, body TEXT);
CREATE INDEX IF NOT EXISTS slots_tenant ON slots (tenant, at);
"""
# An ``approvals`` table left by an older version (an event log nothing read) is no longer created or used;
# a file that has one keeps working, and the table is left as it is rather than dropped under the user.


class SqliteStore(StateStore):
    """One connection, used from worker threads under a lock; the file is created with its folder."""

    def __init__(self, path: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def describe(self) -> str:
        return f"sqlite file {self.path}"

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            db = sqlite3.connect(self.path, timeout=5.0, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # WAL: a crash may lose the last commit, never corrupts
            db.executescript(_SCHEMA)
            self._db = db
        return self._db

    async def _run(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        def run() -> _T:
            with self._lock:
                try:
                    db = self._connect()
                    db.execute("BEGIN IMMEDIATE")
                    try:
                        result = work(db)
                    except BaseException:
                        db.execute("ROLLBACK")
                        raise
                    db.execute("COMMIT")
                    return result
                except sqlite3.Error as exc:
                    raise StateUnavailable(
                        f"Refused: the call-safety state file {self.path} cannot be used ({type(exc).__name__}), "
                        "so no call can be checked against the limits; nothing was dialled. "
                        "Check the file and its folder, or set KUPE_STATE_URL."
                    ) from None

        return await anyio.to_thread.run_sync(run)

    # -- values ----------------------------------------------------------------------------

    async def put(self, tenant: str, key: str, value: dict[str, Any], *, expires: datetime) -> None:
        row = (tenant_key(tenant), key, dumps(value), expires.timestamp())
        await self._run(lambda db: db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?, ?, ?)", row))

    async def put_new(self, tenant: str, key: str, value: dict[str, Any], *, expires: datetime, now: datetime) -> bool:
        t = tenant_key(tenant)

        def work(db: sqlite3.Connection) -> bool:
            db.execute("DELETE FROM kv WHERE tenant = ? AND key = ? AND expires <= ?", (t, key, now.timestamp()))
            cur = db.execute(
                "INSERT OR IGNORE INTO kv VALUES (?, ?, ?, ?)", (t, key, dumps(value), expires.timestamp())
            )
            return cur.rowcount == 1

        return await self._run(work)

    async def get(self, tenant: str, key: str, *, now: datetime) -> dict[str, Any] | None:
        args = (tenant_key(tenant), key, now.timestamp())

        def work(db: sqlite3.Connection) -> dict[str, Any] | None:
            row = db.execute("SELECT value FROM kv WHERE tenant = ? AND key = ? AND expires > ?", args).fetchone()
            return json.loads(row[0]) if row else None

        return await self._run(work)

    async def take(self, tenant: str, key: str, *, now: datetime) -> dict[str, Any] | None:
        t = tenant_key(tenant)

        def work(db: sqlite3.Connection) -> dict[str, Any] | None:
            row = db.execute(
                "DELETE FROM kv WHERE tenant = ? AND key = ? RETURNING value, expires", (t, key)
            ).fetchone()
            db.execute("DELETE FROM kv WHERE expires <= ?", (now.timestamp(),))
            return json.loads(row[0]) if row and row[1] > now.timestamp() else None

        return await self._run(work)

    # -- slots -----------------------------------------------------------------------------

    @staticmethod
    def _snapshot(db: sqlite3.Connection, tenant: str, now: datetime) -> Recent:
        db.execute("DELETE FROM slots WHERE at <= ?", ((now - SLOT_TTL).timestamp(),))
        mine = [
            slot_from_json(json.loads(body))
            for (body,) in db.execute("SELECT body FROM slots WHERE tenant = ? ORDER BY at", (tenant,))
        ]
        everyone = [(from_json(at), json.loads(body)["count"]) for at, body in db.execute("SELECT at, body FROM slots")]
        return Recent(tuple(mine), tuple(everyone))

    async def recent(self, tenant: str, *, now: datetime, everyone: bool = True) -> Recent:
        t = tenant_key(tenant)
        return await self._run(lambda db: self._snapshot(db, t, now))

    async def hold(self, tenant: str, slot: Slot, check: Check, *, now: datetime, everyone: bool = True) -> None:
        t = tenant_key(tenant)

        def work(db: sqlite3.Connection) -> None:
            check(self._snapshot(db, t, now))
            db.execute(
                "INSERT INTO slots VALUES (?, ?, ?, ?)", (slot.id, t, slot.at.timestamp(), dumps(slot_to_json(slot)))
            )

        await self._run(work)

    async def settle(self, tenant: str, slot_id: str, *, ref: str, state: str) -> None:
        t = tenant_key(tenant)

        def work(db: sqlite3.Connection) -> None:
            row = db.execute("SELECT body FROM slots WHERE id = ? AND tenant = ?", (slot_id, t)).fetchone()
            if row:
                body = {**json.loads(row[0]), "ref": ref, "state": state}
                db.execute("UPDATE slots SET body = ? WHERE id = ?", (dumps(body), slot_id))

        await self._run(work)

    async def release(self, tenant: str, slot_id: str) -> None:
        args = (slot_id, tenant_key(tenant))
        await self._run(lambda db: db.execute("DELETE FROM slots WHERE id = ? AND tenant = ?", args))

    async def aclose(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
