"""``make bench``: what the call-safety state store adds to one call, per store (memory, SQLite, Redis).

One call's store work is what the gate does around a dial: read the tenant's recent slots (the
plan), hold a slot atomically (check + add) and settle it. Measured in-process against a real
redis-server on loopback; the target is at most 1 ms added at p50 by Redis over memory.

``python -m tests.bench.state --append BENCHMARKS.md`` appends its section to the report.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import anyio

from kupe_mcp.guards import Recent, Slot
from kupe_mcp.state import StateStore, open_store
from tests._redis import RedisServer

CALLS = 2000
TARGET_MS = 1.0


def _ok(_recent: Recent) -> None:
    return None


async def per_call_ms(store: StateStore, calls: int, *, everyone: bool = False) -> list[float]:
    """As the gate does it; ``everyone`` as when KUPE_MAX_CALLS_PER_HOUR_TOTAL is set (everyone's slots judged)."""
    now = datetime.now(UTC)
    samples = []
    for i in range(calls + 50):
        started = time.perf_counter()
        await store.recent("user:bench", now=now, everyone=everyone)
        await store.hold("user:bench", Slot(f"s{i}", now, 1, ("+919876543210",)), _ok, now=now, everyone=everyone)
        await store.settle("user:bench", f"s{i}", ref=f"request_id {i}", state="placed")
        if i >= 50:
            samples.append((time.perf_counter() - started) * 1000)
        if i % 200 == 199:  # keep the hour's slots small, as a real cap would
            for j in range(i - 199, i + 1):
                await store.release("user:bench", f"s{j}")
    await store.aclose()
    return samples


def report(calls: int) -> str:
    results: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        redis = RedisServer(Path(folder))
        redis.start()
        try:
            stores = {
                "memory:": (open_store("memory:", secret_set=False), False),
                "sqlite (file)": (open_store(f"sqlite://{folder}/bench.sqlite3", secret_set=False), False),
                "redis (loopback)": (open_store(redis.url, secret_set=True), False),
                "redis, KUPE_MAX_CALLS_PER_HOUR_TOTAL set": (open_store(redis.url, secret_set=True), True),
            }
            for name, (store, everyone) in stores.items():
                samples = anyio.run(partial(per_call_ms, store, calls, everyone=everyone))
                results[name] = (statistics.median(samples), statistics.quantiles(samples, n=20)[18])
        finally:
            redis.stop()
    base = results["memory:"][0]
    lines = [
        "",
        "## Call-safety state store: added latency per call",
        "",
        f"Per call: read recent slots, hold a slot atomically, settle it ({calls} calls, one client, in-process;",
        "Redis is a real redis-server on loopback). Target: Redis adds at most 1 ms at p50 over memory.",
        "",
        "| store | p50 ms | p95 ms | added p50 vs memory |",
        "|---|---|---|---|",
    ]
    for name, (p50, p95) in results.items():
        added = p50 - base
        mark = "" if name == "memory:" else (" ✓" if added <= TARGET_MS else " ✗ over target")
        lines.append(f"| {name} | {p50:.3f} | {p95:.3f} | {added:+.3f} ms{mark} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--append", type=Path, help="append the section to this Markdown file")
    parser.add_argument("--calls", type=int, default=CALLS)
    args = parser.parse_args(argv)
    text = report(args.calls)
    print(text)
    if args.append is not None:
        with args.append.open("a") as out:
            out.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
