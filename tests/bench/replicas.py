"""``make bench``: HTTP ``tools/call`` throughput of 1, 2 and 3 kupe-app-mcp replicas beside the SDK one-tool proxy.

Every server is its own process on a loopback port; the replicas are single-tenant HTTP
(``kupe-app-mcp --transport http``) sharing one real redis-server (``KUPE_STATE_URL``,
``KUPE_STATE_SECRET``), in front of the sandbox REST API (``kupe-app-mcp sandbox-api``). The
balancer is client-side round robin: each call goes to the next replica's port (a proxy process
would spend the same two cores the replicas need). 16 concurrent clients in the benchmark's own
asyncio loop post stateless JSON-RPC ``tools/call get_agent`` for a few seconds per configuration.

``python -m tests.bench.replicas --write BENCHMARKS.md`` replaces its section of the report.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx2

from kupe_mcp.sandbox._config import DEMO_API_KEY
from tests._redis import RedisServer
from tests.bench.__main__ import (
    KUPE,
    MCP_HEADERS,
    PY,
    SMOKE_HELP,
    call_body,
    clean_env,
    free_port,
    mcp_json,
    replace_section,
    sandbox_api,
    wait_until_up,
)

CLIENTS = 16
SECONDS = 3.0
RUNS = 3
TARGET_2_OVER_1 = 1.5
SECTION = "replicas"
PROXY_FLOOR = [PY, str(Path(__file__).with_name("proxy_floor.py"))]
SECRET = "bench-state-secret-0123456789abcdef0123"


@contextmanager
def serving(cmd: Sequence[str], env: dict[str, str], count: int) -> Iterator[list[int]]:
    """``count`` processes of ``cmd`` with a free port as the last argument, and their ports."""
    ports, procs = [], []
    try:
        for _ in range(count):
            port = free_port()
            proc = subprocess.Popen([*cmd, str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
            procs.append(proc)
            wait_until_up(f"http://127.0.0.1:{port}/mcp", proc)
            ports.append(port)
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


async def rate(ports: list[int], seconds: float, clients: int = CLIENTS) -> float:
    """Calls/s of ``clients`` loops, each call to the next port in turn (round robin)."""
    turn = itertools.cycle(ports)
    done = 0
    limits = httpx2.Limits(max_connections=clients * len(ports), max_keepalive_connections=clients * len(ports))
    async with httpx2.AsyncClient(timeout=60, limits=limits, headers=MCP_HEADERS) as http:

        async def call(i: int) -> None:
            message = mcp_json(await http.post(f"http://127.0.0.1:{next(turn)}/mcp", json=call_body(i)))
            assert not message["result"].get("isError"), message

        for i in range(clients * 2):  # warm every connection and replica
            await call(i)
        deadline = time.perf_counter() + seconds

        async def loop(worker: int) -> None:
            nonlocal done
            i = 0
            while time.perf_counter() < deadline:
                await call(worker * 1_000_000 + i)
                i += 1
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(loop(w) for w in range(clients)))
        return done / (time.perf_counter() - started)


def measure(seconds: float, runs: int) -> dict[str, list[float]]:
    """Every server up at once (an idle one costs no CPU); each run measures every configuration in turn.

    Interleaving the configurations run by run spreads the shared machine's changing load over all of them.
    """
    samples: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as folder, sandbox_api() as base, ExitStack() as stack:
        redis = RedisServer(Path(folder))
        redis.start()
        stack.callback(redis.stop)
        env = clean_env(
            KUPE_BASE_URL=base, KUPE_API_KEY=DEMO_API_KEY, KUPE_STATE_URL=redis.url, KUPE_STATE_SECRET=SECRET
        )
        floor = stack.enter_context(serving(PROXY_FLOOR, env, 1))
        replicas = stack.enter_context(serving([*KUPE, "--transport", "http", "--port"], env, 3))
        configs = {
            "SDK one-tool proxy (bare MCPServer, same GET), 1 process": floor,
            "kupe-app-mcp, 1 replica": replicas[:1],
            "kupe-app-mcp, 2 replicas": replicas[:2],
            "kupe-app-mcp, 3 replicas": replicas,
        }
        for _ in range(runs):
            for name, ports in configs.items():
                samples.setdefault(name, []).append(asyncio.run(rate(ports, seconds)))
    return samples


def report(seconds: float, runs: int) -> str:
    load_before = os.getloadavg()[0]
    runs_of = measure(seconds, runs)
    results = {name: statistics.median(values) for name, values in runs_of.items()}
    load_after = os.getloadavg()[0]
    names = list(results)
    floor, one, two, three = (results[n] for n in names)
    lines = [
        f"<!-- {SECTION}:begin -->",
        "## Replicas: HTTP `tools/call` throughput behind a round-robin balancer",
        "",
        f"{CLIENTS} concurrent clients post stateless `tools/call get_agent` (JSON-RPC over streamable HTTP) for "
        f"{seconds:g} s, median of {runs} runs per row (the rows interleaved run by run). Each server is its own "
        "process on loopback; replicas are "
        "single-tenant HTTP sharing one redis-server (`KUPE_STATE_URL`) in front of the sandbox REST API (its own "
        "process). The balancer is client-side round robin over the replicas' ports (no proxy process: it would "
        "spend the same two cores). `python -m tests.bench.replicas --write BENCHMARKS.md` re-measures this "
        "section alone.",
        "",
        "| configuration | calls/s (median) | slowest-fastest run | vs 1 replica |",
        "|---|---:|---:|---:|",
    ]
    for name in names:
        low, high = min(runs_of[name]), max(runs_of[name])
        lines.append(f"| {name} | {results[name]:.0f} | {low:.0f}-{high:.0f} | {results[name] / one:.2f} |")
    met = two / one >= TARGET_2_OVER_1
    lines += [
        "",
        f"2 replicas / 1 replica: **{two / one:.2f}x** (target >= {TARGET_2_OVER_1}x on this 2-core machine: "
        f"{'met' if met else 'not met'}); 3 / 1: **{three / one:.2f}x**; 1 replica / SDK proxy: "
        f"{one / floor:.2f}.",
        "",
        f"Load average (1 min) {load_before:.2f} before and {load_after:.2f} after, on {os.cpu_count()} cores shared "
        "with other sessions. Every process here (replicas, sandbox API, Redis and the clients' own event loop) "
        "shares those cores, so added replicas compete with the load generator and the sandbox for CPU: a ratio",
        "measured while the machine is already busy says little about scale-out on an idle one.",
        f"<!-- {SECTION}:end -->",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path, help="replace (or add) this section of a Markdown report")
    parser.add_argument("--seconds", type=float, default=SECONDS)
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = parser.parse_args(argv)
    text = report(0.1, 1) if args.smoke else report(args.seconds, args.runs)
    print(text)
    if args.write is not None:
        replace_section(args.write, SECTION, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
