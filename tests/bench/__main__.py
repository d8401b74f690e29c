"""``make bench``: kupe-app-mcp beside the SDK floor and a raw HTTP client, measured in one run on one machine.

Every server runs in its own process; this process is the client. Cold starts alternate between the servers
run by run so background load hits them alike. Writes a Markdown report (``--out``, default stdout).
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

from kupe_mcp.sandbox._config import DEMO_API_KEY
from kupe_mcp.sandbox._seed import DEMO_AGENT_ID
from kupe_mcp.toolsets._shape import RESULT_BUDGET_BYTES
from tests.bench.results import RECIPIENTS, campaign_sizes, tour_sizes

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
FLOOR = [PY, str(Path(__file__).with_name("floor_server.py"))]
KUPE = [PY, "-m", "kupe_mcp"]
PROTOCOL = "2025-11-25"
INIT = {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "kupe-bench", "version": "0"}}
MCP_HEADERS = {
    "accept": "application/json, text/event-stream",
    "content-type": "application/json",
    "mcp-protocol-version": PROTOCOL,
}
# Figures measured elsewhere and quoted by issue #5 (not re-measured here).
PEER_COLD_START_MS = {"elevenlabs-mcp": 1032, "Vapi MCP server": 559, "Retell community server (Node)": 499}
MODEL_FACING = ("name", "title", "description", "inputSchema")
PEER_BYTES_PER_TOOL = {"ElevenLabs": 2577, "Vapi": 1344, "Retell": 822}
# Quoted, not re-measured: issue #19's A/B of its base commit against the lazy imports, beside the floor.
BEFORE_LAZY_TOOLSETS = (
    "- Before issue #19's lazy imports (*quoted*: base 1de52c1 and this branch, 20 runs each beside the same floor, "
    "2026-12-04 18:35, load 1.1-2.8): `initialize` 1.21x -> 1.11x, `tools/list` 1.40x -> 1.26x."
)
SDK_FLOOR_ELSEWHERE_MS = 614


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def clean_env(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("KUPE_")}, **extra}


def peak_rss_mib(pid: int) -> float:
    """VmHWM: the process's peak resident set size."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class StdioPeer:
    """An MCP server process spoken to in raw JSON-RPC lines, so the client adds next to nothing."""

    def __init__(self, cmd: Sequence[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(  # noqa: S603
            list(cmd), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
        )
        self._id = 0

    def send(self, method: str, params: dict[str, Any] | None = None, *, notify: bool = False) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        if not notify:
            self._id += 1
            message["id"] = self._id
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        self.proc.stdin.flush()

    def receive(self) -> bytes:
        """The raw line answering the last request (notifications from the server are skipped)."""
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("the server closed stdout")
            if b'"id"' in line:
                return line

    def request(self, method: str, params: dict[str, Any] | None = None) -> bytes:
        self.send(method, params)
        return self.receive()

    def close(self) -> float:
        """Stop the process; return its peak RSS in MiB."""
        rss = peak_rss_mib(self.proc.pid)
        self.proc.kill()
        self.proc.wait()
        return rss


@dataclass
class ColdStart:
    init_ms: list[float] = field(default_factory=list)
    list_ms: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)
    tools: list[dict[str, Any]] = field(default_factory=list)
    list_bytes: int = 0


def cold_start_once(cmd: Sequence[str], env: dict[str, str], into: ColdStart) -> None:
    started = time.perf_counter()
    peer = StdioPeer(cmd, env)
    peer.send("initialize", INIT)
    init = peer.receive()
    initialized = time.perf_counter()
    peer.send("notifications/initialized", notify=True)
    listed = peer.request("tools/list")
    done = time.perf_counter()
    into.rss_mib.append(peer.close())
    assert b'"result"' in init, init[:200]
    assert b'"tools"' in listed, listed[:200]
    into.init_ms.append((initialized - started) * 1000)
    into.list_ms.append((done - started) * 1000)
    into.tools = json.loads(listed)["result"]["tools"]
    into.list_bytes = len(json.dumps(json.loads(listed)["result"], separators=(",", ":")).encode())


@contextmanager
def sandbox_api() -> Iterator[str]:
    """The sandbox REST API in its own process, calls completing at once."""
    port = free_port()
    proc = subprocess.Popen(  # noqa: S603
        [*KUPE, "sandbox-api", "--port", str(port), "--call-step-s", "0"],
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/health", proc)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def wait_until_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    """Wait until the server accepts TCP connections on ``url``'s port."""
    port = httpx2.URL(url).port
    assert port is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the server for {url} exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


def timed(call: Callable[[], object], count: int, warmup: int = 20) -> list[float]:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def mcp_json(response: httpx2.Response) -> dict[str, Any]:
    """The JSON-RPC message of a streamable-HTTP answer, JSON or a one-event SSE stream."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        for line in response.text.splitlines():
            if line.startswith("data:"):
                message: dict[str, Any] = json.loads(line[5:])
                return message
        raise RuntimeError(f"no data in the SSE answer: {response.text[:200]}")
    body: dict[str, Any] = response.json()
    return body


def call_body(i: int) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": i,
        "method": "tools/call",
        "params": {"name": "get_agent", "arguments": {"agent_id": DEMO_AGENT_ID}},
    }


async def throughput(make_call: Callable[[httpx2.AsyncClient, int], Any], clients: int, seconds: float) -> float:
    """Calls per second ``clients`` concurrent loops complete in ``seconds``.

    Each loop completes at least one call: on a loaded machine a short (smoke) run could otherwise end before any
    call did, and a rate of zero calls divides nothing.
    """
    done = 0
    deadline = time.perf_counter() + seconds
    limits = httpx2.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx2.AsyncClient(timeout=60, limits=limits) as http:

        async def loop(worker: int) -> None:
            nonlocal done
            i = 0
            while i == 0 or time.perf_counter() < deadline:
                await make_call(http, worker * 1_000_000 + i)
                i += 1
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(loop(w) for w in range(clients)))
        return done / (time.perf_counter() - started)


def phase_profile(runs: int) -> dict[str, float]:
    """Where kupe-app-mcp's start-up goes, in a fresh process each run: medians in ms."""
    script = (
        "import time, json\n"
        "t0 = time.perf_counter()\n"
        "import mcp.server.mcpserver, mcp.server.stdio\n"
        "t1 = time.perf_counter()\n"
        "from kupe_mcp.config import Settings\n"
        "from kupe_mcp.serve.server import build_client, create_server\n"
        "import kupe_mcp.__main__\n"
        "from kupe_mcp.serve._sdk import tool_manager\n"
        "t2 = time.perf_counter()\n"
        "s = Settings.from_env({'KUPE_API_KEY': 'x'})\n"
        "server = create_server(s, build_client(s))\n"
        "t3 = time.perf_counter()\n"
        "tool_manager(server).list_tools()\n"
        "t4 = time.perf_counter()\n"
        "print(json.dumps([t1 - t0, t2 - t1, t3 - t2, t4 - t3]))\n"
    )
    rows = [
        json.loads(subprocess.run([PY, "-c", script], capture_output=True, check=True, env=clean_env()).stdout)  # noqa: S603
        for _ in range(runs)
    ]
    names = [
        "import the SDK (mcp.server.mcpserver + stdio), floor pays it too",
        "import the kupe-app-mcp modules serving starts with (config, client, server, CLI)",
        "Settings + create_server (tools, resources and prompts deferred)",
        "register the default tools (on the first tools/list, with the toolset and call-safety modules)",
    ]
    return {name: statistics.median(r[i] for r in rows) * 1000 for i, name in enumerate(names)}


def heaviest_imports(top: int = 8) -> list[tuple[str, float]]:
    """kupe-app-mcp's own import tree beyond the SDK (``python -X importtime``): the heaviest modules, cumulative ms."""
    script = (
        "import mcp.server.mcpserver, mcp.server.stdio, sys\n"
        "print('MARK', file=sys.stderr, flush=True)\n"
        "import kupe_mcp.serve.server, kupe_mcp.config, kupe_mcp.__main__\n"
    )
    done = subprocess.run([PY, "-X", "importtime", "-c", script], capture_output=True, text=True, check=True)  # noqa: S603
    rows = []
    for line in done.stderr.split("MARK", 1)[1].splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
            if cumulative.isdigit():
                rows.append((name.strip(), int(cumulative) / 1000))
    return sorted(rows, key=lambda r: -r[1])[:top]


PROFILE_CALLS = """
import cProfile, io, pstats, sys
import anyio, httpx2
from pydantic import SecretStr
from mcp.client import Client
from kupe_mcp.config import Settings
from kupe_mcp.serve.server import build_client, create_server
settings = Settings(base_url=sys.argv[1], credentials={"api_key": SecretStr(sys.argv[2])})
server = create_server(settings, build_client(settings))
async def main() -> None:
    async with Client(server) as mcp:
        for _ in range(20):
            await mcp.call_tool("get_agent", {"agent_id": sys.argv[3]})
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(int(sys.argv[4])):
            await mcp.call_tool("get_agent", {"agent_id": sys.argv[3]})
        profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(12)
    print(out.getvalue())
anyio.run(main)
"""


def call_profile(base: str, calls: int = 200) -> str:
    """cProfile of ``calls`` in-process ``tools/call get_agent`` (memory transport), top functions by own time."""
    done = subprocess.run(  # noqa: S603
        [PY, "-c", PROFILE_CALLS, base, DEMO_API_KEY, DEMO_AGENT_ID, str(calls)],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    header = [line for line in lines[:start] if "function calls" in line]
    return "\n".join([*header, *lines[start:]]).rstrip()


def machine() -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    return {
        "CPU": cpu,
        "nproc": str(os.cpu_count()),
        "Python": platform.python_version(),
        "OS": platform.platform(),
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def ratio(value: float, floor: float) -> str:
    return f"{value / floor:.2f}x"


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def run(runs: int, calls: int, seconds: float, profile_calls: int = 200) -> str:
    lines: list[str] = []
    out = lines.append
    info = machine()
    # Bytecode as an installed wheel has it: with PYTHONDONTWRITEBYTECODE set (or a fresh editable checkout) every
    # spawn would compile kupe_mcp's sources again, which the SDK floor (compiled at install) never pays.
    compileall.compile_dir(ROOT / "kupe_mcp", quiet=1)
    with sandbox_api() as base:
        kupe_env = clean_env(KUPE_BASE_URL=base, KUPE_API_KEY=DEMO_API_KEY)
        # 1. Cold start, alternating the three servers run by run.
        results = {"floor": ColdStart(), "default": ColdStart(), "all": ColdStart()}
        commands = {
            "floor": (FLOOR, clean_env()),
            "default": (KUPE, kupe_env),
            "all": (KUPE, {**kupe_env, "KUPE_TOOLSETS": "all"}),
        }
        for _ in range(runs):
            for name, (cmd, env) in commands.items():
                cold_start_once(cmd, env, results[name])
        # 2. Per-call overhead over stdio, against raw httpx2.
        raw_http = httpx2.Client(base_url=base, headers={"x-api-key": DEMO_API_KEY}, timeout=30)
        raw = timed(lambda: raw_http.get(f"/api/v1/agents/{DEMO_AGENT_ID}").raise_for_status(), calls)
        peer = StdioPeer(KUPE, kupe_env)
        peer.request("initialize", INIT)
        peer.send("notifications/initialized", notify=True)

        def stdio_call() -> None:
            answer = peer.request("tools/call", {"name": "get_agent", "arguments": {"agent_id": DEMO_AGENT_ID}})
            assert b'"isError":false' in answer or b'"isError"' not in answer, answer[:300]

        stdio = timed(stdio_call, calls)
        stdio_rss = peer.close()
        # The SDK's own share: the floor's no-op echo tool over stdio, no Kupe request at all.
        floor_peer = StdioPeer(FLOOR, clean_env())
        floor_peer.request("initialize", INIT)
        floor_peer.send("notifications/initialized", notify=True)
        floor_echo = timed(
            lambda: floor_peer.request("tools/call", {"name": "echo", "arguments": {"text": "x"}}), calls
        )
        floor_peer.close()
        # 3. Over streamable HTTP: kupe-app-mcp in its own process, stateless, raw JSON-RPC POSTs.
        port = free_port()
        server = subprocess.Popen(  # noqa: S603
            [*KUPE, "--transport", "http", "--port", str(port)],
            env=kupe_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}/mcp"
            wait_until_up(url, server)
            mcp_http = httpx2.Client(headers=MCP_HEADERS, timeout=30)

            def http_call() -> None:
                message = mcp_json(mcp_http.post(url, json=call_body(1)))
                assert not message["result"].get("isError"), message

            over_http = timed(http_call, calls)

            async def raw_call(http: httpx2.AsyncClient, i: int) -> None:
                response = await http.get(f"{base}/api/v1/agents/{DEMO_AGENT_ID}", headers={"x-api-key": DEMO_API_KEY})
                response.raise_for_status()

            async def mcp_call(http: httpx2.AsyncClient, i: int) -> None:
                message = mcp_json(await http.post(url, json=call_body(i), headers=MCP_HEADERS))
                assert not message["result"].get("isError"), message

            rates: dict[tuple[str, int], float] = {}
            for clients in (1, 8, 32):
                for label, fn in (("raw", raw_call), ("mcp", mcp_call)):
                    rates[(label, clients)] = statistics.median(
                        asyncio.run(throughput(fn, clients, seconds)) for _ in range(runs)
                    )
            http_rss = peak_rss_mib(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
        calls_profile = call_profile(base, profile_calls)
    profile = phase_profile(runs)
    imports = heaviest_imports()

    floor, default, every = results["floor"], results["default"], results["all"]
    tour, campaign = asyncio.run(tour_sizes()), asyncio.run(campaign_sizes())
    med = statistics.median
    out("# kupe-app-mcp benchmarks")
    out("")
    out(
        "Generated by `make bench` (`tests/bench/`); a report, not a pass/fail test. Every figure below was measured in"
    )
    out("this one run on this one machine; peer figures marked *elsewhere* are quoted from issue #5, not re-measured.")
    out("")
    out("## Machine")
    out("")
    out("| | |")
    out("|---|---|")
    for key, value in info.items():
        out(f"| {key} | {value} |")
    out("")
    out("## Commands")
    out("")
    out("```sh")
    out("make bench   # = .venv/bin/python -m tests.bench --out BENCHMARKS.md.partial  (a copy of the report)")
    out("#              then python -m tests.bench.state --write BENCHMARKS.md.partial  (the state store section)")
    out("#              then python -m tests.bench.replicas --write BENCHMARKS.md.partial  (the replicas section)")
    out("#              then mv BENCHMARKS.md.partial BENCHMARKS.md  (only when every step ran)")
    out(f"# runs per figure: {runs}; calls per latency sample: {calls}; seconds per throughput run: {seconds}")
    out("# kupe-app-mcp: python -m kupe_mcp (stdio; KUPE_BASE_URL=<sandbox-api on loopback>, KUPE_API_KEY=<demo key>)")
    out("#            python -m kupe_mcp --transport http --port <free>   (same env)")
    out("# SDK floor: python tests/bench/floor_server.py   (MCPServer, one tool, stdio)")
    out("# Kupe:      python -m kupe_mcp sandbox-api --port <free> --call-step-s 0   (its own process)")
    out("```")
    out("")
    out("## Cold start over stdio (spawn -> answer), median of runs")
    out("")
    out("| server | spawn -> `initialize` | x floor | spawn -> `tools/list` | x floor | peak RSS |")
    out("|---|---:|---:|---:|---:|---:|")
    for name, label in (
        ("floor", "SDK floor"),
        ("default", "kupe-app-mcp, default toolsets"),
        ("all", "kupe-app-mcp, all (API key: no admin)"),
    ):
        r = results[name]
        out(
            f"| {label} ({len(r.tools)} tools) | {med(r.init_ms):.0f} ms | {ratio(med(r.init_ms), med(floor.init_ms))} "
            f"| {med(r.list_ms):.0f} ms | {ratio(med(r.list_ms), med(floor.list_ms))} | {med(r.rss_mib):.1f} MiB |"
        )
    for peer_name, ms in PEER_COLD_START_MS.items():
        out(
            f"| {peer_name} (*elsewhere*) | {ms} ms "
            f"| {ms / SDK_FLOOR_ELSEWHERE_MS:.2f}x of {SDK_FLOOR_ELSEWHERE_MS} | | | |"
        )
    init_ok = med(default.init_ms) <= 1.10 * med(floor.init_ms)
    list_ok = med(default.list_ms) <= 1.20 * med(floor.list_ms)
    out("")
    init_ratio, all_ratio = (
        ratio(med(default.init_ms), med(floor.init_ms)),
        ratio(med(every.init_ms), med(floor.init_ms)),
    )
    out(
        f"- Target `initialize` <= 1.10x floor (default toolsets): {verdict(init_ok)} "
        f"({init_ratio}; `all`: {all_ratio})."
    )
    out(f"- Target `tools/list` (default) <= 1.20x floor: {verdict(list_ok)} "
        f"({ratio(med(default.list_ms), med(floor.list_ms))}).")  # fmt: skip
    out(BEFORE_LAZY_TOOLSETS)
    out("")
    out("Where kupe-app-mcp's start-up goes (fresh process per run, medians):")
    out("")
    out("| phase | ms |")
    out("|---|---:|")
    for phase, phase_ms in profile.items():
        out(f"| {phase} | {phase_ms:.0f} |")
    out("")
    out("Heaviest modules kupe-app-mcp imports beyond the SDK (`python -X importtime`, cumulative, one run):")
    out("")
    out("| module | ms |")
    out("|---|---:|")
    for module, module_ms in imports:
        out(f"| `{module}` | {module_ms:.0f} |")
    out("")
    out("## Per-call overhead: `tools/call get_agent` vs a raw `httpx2` GET of the same sandbox endpoint")
    out("")
    out("| path | p50 | p99 | p50 above raw |")
    out("|---|---:|---:|---:|")
    for label, samples in (
        ("raw httpx2 GET (loopback)", raw),
        ("kupe-app-mcp over stdio", stdio),
        ("kupe-app-mcp over HTTP", over_http),
    ):
        above = "" if samples is raw else f"{med(samples) - med(raw):+.2f} ms"
        out(f"| {label} | {med(samples):.2f} ms | {percentile(samples, 0.99):.2f} ms | {above} |")
    out(f"| SDK floor `tools/call echo` over stdio (no Kupe request) | {med(floor_echo):.2f} ms | "
        f"{percentile(floor_echo, 0.99):.2f} ms | |")  # fmt: skip
    stdio_ok = med(stdio) - med(raw) <= 2.0
    own = med(stdio) - med(raw) - med(floor_echo)
    out("")
    out(f"- Target stdio overhead p50 <= 2 ms above raw: {verdict(stdio_ok)} ({med(stdio) - med(raw):+.2f} ms). "
        f"{calls} timed calls each after 20 warm-up calls.")  # fmt: skip
    out(f"- Of that, the SDK's own stdio `tools/call` round trip (the floor's no-op echo) is {med(floor_echo):.2f} ms; "
        f"what kupe-app-mcp adds on top of the SDK and the Kupe request is {own:+.2f} ms (argument and answer models, "
        "the client's request path and output-schema serialisation).")  # fmt: skip
    out("")
    out(
        f"Where a call's time goes: cProfile of {profile_calls} in-process `tools/call get_agent` (memory transport, "
        "same sandbox):"
    )
    out("")
    out("```")
    out(calls_profile)
    out("```")
    out("")
    out("## Throughput over HTTP (calls/s, median of runs)")
    out("")
    out("| concurrent clients | raw httpx2 GET | kupe-app-mcp `tools/call get_agent` | kupe-app-mcp / raw |")
    out("|---:|---:|---:|---:|")
    for clients in (1, 8, 32):
        raw_rate, mcp_rate = rates[("raw", clients)], rates[("mcp", clients)]
        out(f"| {clients} | {raw_rate:.0f} | {mcp_rate:.0f} | {mcp_rate / raw_rate:.2f} |")
    out("")
    out("Both clients are one asyncio loop in the benchmark process, which caps the raw figures on a 2-core machine.")
    out("")
    out("## Context cost of `tools/list`")
    out("")
    out("The model reads each tool's name, title, description and inputSchema (model-facing); clients read the")
    out("output schemas to check structuredContent. Both are measured, apart:")
    out("")
    out("| toolsets | tools | tools/list bytes | model-facing bytes/tool | output-schema bytes/tool | tokens/tool |")
    out("|---|---:|---:|---:|---:|---:|")
    for name, label in (("default", "default"), ("all", "all")):
        r = results[name]
        facing = sum(len(json.dumps({k: t[k] for k in MODEL_FACING if k in t}, separators=(",", ":"))) for t in r.tools)
        schemas = sum(len(json.dumps(t.get("outputSchema") or {}, separators=(",", ":"))) for t in r.tools)
        out(f"| {label} | {len(r.tools)} | {r.list_bytes} | {facing / len(r.tools):.0f} | {schemas / len(r.tools):.0f} "
            f"| {facing / len(r.tools) / 4:.0f} |")  # fmt: skip
    for peer_name, per_tool in PEER_BYTES_PER_TOOL.items():
        out(f"| {peer_name} (*elsewhere*, no output schemas) | | | {per_tool} | | |")
    facing_default = sum(
        len(json.dumps({k: t[k] for k in MODEL_FACING if k in t}, separators=(",", ":"))) for t in default.tools
    )
    ctx_ok = facing_default / len(default.tools) <= 550
    out("")
    out(f"- Target default toolsets <= 550 model-facing bytes/tool (549 before output schemas were typed): "
        f"{verdict(ctx_ok)}.")  # fmt: skip
    out("")
    out("## Result sizes (text the model reads)")
    out("")
    out(f"Largest result of each tool in the scripted tour (`make demo`), then the heavy cases ({RECIPIENTS} "
        f"recipients added and listed, whole catalogs). Budget: {RESULT_BUDGET_BYTES} bytes.")  # fmt: skip
    out("")
    out("| tool | largest result (bytes) | within budget |")
    out("|---|---:|---|")
    for label, sizes in (("tour", tour), (f"{RECIPIENTS}-recipient campaign", campaign)):
        for tool, size in sorted(sizes.items(), key=lambda kv: -kv[1]):
            out(f"| {tool} ({label}) | {size} | {verdict(size <= RESULT_BUDGET_BYTES)} |")
    out("")
    out("## Peak RSS of the server process")
    out("")
    out("| process | peak RSS (VmHWM) |")
    out("|---|---:|")
    out(f"| SDK floor after `tools/list` | {med(floor.rss_mib):.1f} MiB |")
    out(f"| kupe-app-mcp stdio, default, after `tools/list` | {med(default.rss_mib):.1f} MiB |")
    out(f"| kupe-app-mcp stdio, all, after `tools/list` | {med(every.rss_mib):.1f} MiB |")
    out(f"| kupe-app-mcp stdio after {calls + 20} `get_agent` calls | {stdio_rss:.1f} MiB |")
    out(f"| kupe-app-mcp HTTP after the latency and throughput runs | {http_rss:.1f} MiB |")
    out("")
    return "\n".join(lines)


SMOKE_HELP = "each figure from a few requests, to show the report still builds (make test); the figures mean nothing"

KEPT_SECTIONS = ("state", "replicas", "eval")
"""Sections other commands write (tests/bench/state.py, tests/bench/replicas.py, ``make eval``): kept by ``--out``."""


def kept_section(path: Path, name: str) -> str:
    """The ``name`` section of an existing report (between its markers), or ""."""
    text = path.read_text() if path.exists() else ""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if begin not in text or end not in text:
        return ""
    return "\n" + begin + text.split(begin, 1)[1].split(end, 1)[0] + end + "\n"


def kept_eval_section(path: Path) -> str:
    """The sections other commands write, so that ``make bench`` does not erase them."""
    return "".join(kept_section(path, name) for name in KEPT_SECTIONS)


def replace_section(path: Path, name: str, text: str) -> None:
    """Put ``text`` (which starts and ends with ``name``'s markers) in place of that section, or before eval's."""
    old = path.read_text() if path.exists() else ""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        new = head + text.strip("\n") + rest.split(end, 1)[1]
    elif "<!-- eval:begin -->" in old:
        head, rest = old.split("<!-- eval:begin -->", 1)
        new = head + text.strip("\n") + "\n\n<!-- eval:begin -->" + rest
    else:
        new = old.rstrip("\n") + "\n\n" + text
    path.write_text(new)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--out", type=Path, help="write the Markdown report here (default: stdout)")
    parser.add_argument("--runs", type=int, default=12, help="runs per cold-start and throughput figure (>= 10)")
    parser.add_argument("--calls", type=int, default=300, help="timed calls per latency figure")
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one throughput run")
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = parser.parse_args(argv)
    report = run(1, 5, 0.05, profile_calls=10) if args.smoke else run(args.runs, args.calls, args.seconds)
    if args.out:
        args.out.write_text(report + "\n" + kept_eval_section(args.out))
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        print(report)
    return 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
