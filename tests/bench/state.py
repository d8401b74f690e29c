"""``make bench``: what the call-safety state store adds to one call, per store (memory, SQLite, Redis).

One call's store work is what the gate does around a dial: read the tenant's recent slots (the
plan), hold a slot atomically (check + add) and settle it; a dial approved in the client's form, by a
token or with no question also keeps its audit record first (``StateApprovals.keep``: the tenant's opening
lock, the record, the tenant's list). Measured in-process against a real redis-server on loopback; the
target is at most 1 ms added at p50 by Redis over memory, for the slot work.

``python -m tests.bench.state --write BENCHMARKS.md`` replaces its section of the report.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import anyio

from kupe_mcp.safety.approvals import Approval, StateApprovals, decided_elsewhere, new_approval
from kupe_mcp.safety.rules import Recent, Slot
from kupe_mcp.safety.state import StateStore, open_store
from tests._redis import RedisServer
from tests.bench.__main__ import SMOKE_HELP, replace_section

CALLS = 2000
TARGET_MS = 1.0


def _ok(_recent: Recent) -> None:
    return None


def _audit_record(now: datetime) -> Approval:
    asked = new_approval(
        tenant="user:bench",
        digest="d" * 64,
        tool="place_call",
        arguments={"phone_number": "+919876543210"},
        facts={"kind": "call", "recipients": 1, "destinations": ["+919876543210"]},
        channel="elicitation",
        now=now,
        ttl_s=0,
    )
    return decided_elsewhere(asked, approved=True, note="approved by the person in the client's own form")


async def per_call_ms(store: StateStore, calls: int, *, everyone: bool = False, audit: bool = False) -> list[float]:
    """As the gate does it; ``everyone`` as when KUPE_MAX_CALLS_PER_HOUR_TOTAL is set (everyone's slots judged);
    ``audit`` keeps each dial's audit record first, as a dial approved without a pending approval does."""
    now = datetime.now(UTC)
    approvals = StateApprovals(store)
    samples = []
    run = secrets.token_hex(4)  # slot ids of this run only: a store measured twice still holds the first run's
    for i in range(calls + 50):
        record = _audit_record(now) if audit else None
        started = time.perf_counter()
        if record is not None:
            await approvals.keep(record)
        await store.recent("user:bench", now=now, everyone=everyone)
        await store.hold("user:bench", Slot(f"{run}-{i}", now, 1, ("+919876543210",)), _ok, now=now, everyone=everyone)
        await store.settle("user:bench", f"{run}-{i}", ref=f"request_id {i}", state="placed")
        if i >= 50:
            samples.append((time.perf_counter() - started) * 1000)
        if i % 200 == 199:  # keep the hour's slots small, as a real cap would
            for j in range(i - 199, i + 1):
                await store.release("user:bench", f"{run}-{j}")
    for j in range((calls + 50) // 200 * 200, calls + 50):
        await store.release("user:bench", f"{run}-{j}")
    await store.aclose()
    return samples


def report(calls: int) -> str:
    load = os.getloadavg()[0]
    results: dict[str, tuple[float, float, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        redis = RedisServer(Path(folder))
        redis.start()
        try:
            # Each row: the store's URL, whether it is shared (it then needs KUPE_STATE_SECRET), everyone's slots.
            stores = {
                "memory:": ("memory:", False, False),
                "sqlite (file)": (f"sqlite://{folder}/bench.sqlite3", False, False),
                "redis (loopback)": (redis.url, True, False),
                "redis, KUPE_MAX_CALLS_PER_HOUR_TOTAL set": (redis.url, True, True),
            }
            for name, (url, shared, everyone) in stores.items():
                samples = anyio.run(partial(per_call_ms, open_store(url, secret_set=shared), calls, everyone=everyone))
                audited = anyio.run(
                    partial(per_call_ms, open_store(url, secret_set=shared), calls, everyone=everyone, audit=True)
                )
                results[name] = (
                    statistics.median(samples),
                    statistics.quantiles(samples, n=20)[18],
                    statistics.median(audited),
                )
        finally:
            redis.stop()
    base = results["memory:"][0]
    lines = [
        "<!-- state:begin -->",
        "## Call-safety state store: added latency per call",
        "",
        f"Per call: read recent slots, hold a slot atomically, settle it ({calls} calls, one client, in-process;",
        "Redis is a real redis-server on loopback; up to 200 slots in the tenant's hour). Target: Redis adds at most",
        "1 ms at p50 over memory. The last row also judges everyone's slots (KUPE_MAX_CALLS_PER_HOUR_TOTAL set).",
        "",
        "| store | p50 ms | p95 ms | added p50 vs memory | p50 ms with the audit record |",
        "|---|---|---|---|---|",
    ]
    for name, (p50, p95, with_audit) in results.items():
        added = p50 - base
        mark = "" if name == "memory:" else (" ✓" if added <= TARGET_MS else " ✗ over target")
        lines.append(f"| {name} | {p50:.3f} | {p95:.3f} | {added:+.3f} ms{mark} | {with_audit:.3f} |")
    lines += [
        "",
        f"Load average (1 min) {load:.2f} on {os.cpu_count()} cores shared with other sessions. Redis does three round",
        "trips per call: the plan's read, the hold (one Lua script: a compare-and-add against the version the",
        "guards.py rules judged, reusing the plan's read; under contention it returns the fresh state and the rules",
        "judge again) and the settle (one script). Slots unchanged since the last read are not parsed again.",
        "The last column adds what a dial approved in the client's form, by a token or with no question does first:",
        "keep its audit record: five Redis commands (the tenant's opening lock taken and freed, the record, the",
        "tenant's list of up to 1,000 records read and written), seven once the tenant holds 1,000 (its oldest",
        "record dropped). Page and card approvals wrote their record when they were opened.",
        "",
        "Before (2026-12-01, quoted, not re-measured): the hold as `WATCH`, two `HGETALL`, `MULTI/EXEC` and the settle",
        "as `HGET`/`HSET`, about seven round trips, added +3.42 ms p50 (load 1.7) and +11.15 ms (load 7.5).",
        "<!-- state:end -->",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path, help="replace (or add) this section of a Markdown report")
    parser.add_argument("--calls", type=int, default=CALLS)
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = parser.parse_args(argv)
    text = report(20 if args.smoke else args.calls)
    print(text)
    if args.write is not None:
        replace_section(args.write, "state", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
