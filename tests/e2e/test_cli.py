"""The ``kupe-app-mcp`` command as people run it: real processes, real stdio and sockets."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx2
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from kupe_mcp.sandbox import DEMO_API_KEY, SandboxServer, SandboxSettings

pytestmark = pytest.mark.anyio

KUPE = [sys.executable, "-m", "kupe_mcp"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUPE_")}
    return {**env, **extra}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxSettings(call_step_s=0)) as srv:
        yield srv


def test_without_credentials_or_sandbox_stdio_exits_2_with_one_line_saying_what_to_set() -> None:
    done = subprocess.run(KUPE, env=clean_env(), capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "KUPE_API_KEY" in lines[0]
    assert "--sandbox" in lines[0]
    assert done.stdout == ""


def test_a_misspelt_kupe_variable_is_warned_about_at_start_and_the_test_tools_ones_are_not() -> None:
    tools = {"KUPE_NODE": "/x/node", "KUPE_NODE_TOOLS": "/x", "KUPE_MCPB": "/x/mcpb", "KUPE_EXT_APPS": "/x/ext-apps"}
    env = clean_env(KUPE_TOOLSET="all", **tools)
    done = subprocess.run(  # noqa: S603
        [*KUPE, "--sandbox"], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "warning" in line]
    assert warnings == [
        "kupe-app-mcp: warning: KUPE_TOOLSET is not a kupe-app-mcp setting and is ignored: did you mean KUPE_TOOLSETS?"
    ]
    assert done.stdout == ""


def test_unknown_toolset_exits_2_listing_the_valid_ones() -> None:
    done = subprocess.run(  # noqa: S603
        [*KUPE, "--sandbox", "--toolsets", "agents,nope"], env=clean_env(), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "nope" in done.stderr
    assert "knowledge" in done.stderr


async def test_stdio_server_answers_whoami_against_kupe_at_kupe_base_url(
    sandbox: SandboxServer, client_mode: str
) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "kupe_mcp"],
        env=clean_env(KUPE_BASE_URL=sandbox.base_url, KUPE_API_KEY=DEMO_API_KEY),
    )
    async with Client(params, mode=client_mode) as mcp:
        result = await mcp.call_tool("whoami", {})
    assert not result.is_error, result.content
    assert result.structured_content is not None
    assert result.structured_content["auth"] == "api_key"
    assert ("GET", "/api/v1/me") in sandbox.sandbox.request_log


def wait_for_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, "the server process exited early"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class Served:
    """A ``kupe-app-mcp`` process serving on a free loopback port; ``out``/``err`` are filled after it stops."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(  # noqa: S603
            [*KUPE, *args, "--port", str(self.port)],
            env=clean_env(**(env or {})),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.out = self.err = b""

    def __enter__(self) -> Served:
        try:
            wait_for_port(self.port, self.proc)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.out, self.err = self.proc.communicate(timeout=30)


def test_sandbox_api_command_serves_the_kupe_api_on_loopback() -> None:
    with Served("sandbox-api") as served:
        base = f"http://127.0.0.1:{served.port}"
        assert httpx2.get(f"{base}/health", timeout=5).json()["status"] == "healthy"
        me = httpx2.get(f"{base}/api/v1/me", headers={"x-api-key": DEMO_API_KEY}, timeout=5)
        assert me.status_code == 200
    assert served.out == b""
    assert DEMO_API_KEY.encode() in served.err


@pytest.fixture
def http_sandbox_server() -> Iterator[Served]:
    with Served("--sandbox", "--transport", "http") as served:
        yield served


async def test_http_transport_with_sandbox_serves_mcp(http_sandbox_server: Served, client_mode: str) -> None:
    url = f"http://127.0.0.1:{http_sandbox_server.port}/mcp"
    async with Client(url, mode=client_mode) as mcp:
        result = await mcp.call_tool("whoami", {})
    assert not result.is_error, result.content


def test_http_transport_prints_how_to_connect_on_stderr_only() -> None:
    with Served("--sandbox", "--transport", "http") as served:
        pass
    url = f"http://127.0.0.1:{served.port}/mcp"
    text = served.err.decode()
    assert served.out == b""
    assert url in text
    assert "claude mcp add --transport http" in text
    assert "mcpServers" in text
