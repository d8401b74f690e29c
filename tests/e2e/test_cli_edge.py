"""The command's HTTP start-up: the banner only once the port is bound, and no password from KUPE_BASE_URL."""

from __future__ import annotations

import re
import socket
import subprocess

import httpx2
import pytest

from tests.e2e.test_cli import KUPE, Served, clean_env

PASSWORD = "hunter2-TESTSECRET-9a41"


def serve_on_a_taken_port() -> tuple[int, subprocess.CompletedProcess[str]]:
    """Start the HTTP sandbox server on a port another socket is listening on; (that port, the finished run)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port: int = taken.getsockname()[1]
        done = subprocess.run(  # noqa: S603
            [*KUPE, "--sandbox", "--transport", "http", "--port", str(port)],
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    return port, done


def test_the_banner_is_not_printed_when_the_port_cannot_be_bound() -> None:
    port, done = serve_on_a_taken_port()
    assert done.returncode != 0
    assert "Connect with" not in done.stderr
    assert f":{port}/mcp" not in done.stderr


def test_a_password_in_kupe_base_url_is_not_printed_at_start_up_and_healthz_answers() -> None:
    env = {"KUPE_BASE_URL": f"https://ops:{PASSWORD}@127.0.0.1:9", "KUPE_API_KEY": "kupe_sk_TESTSECRET_cli_0001"}
    with Served("--transport", "http", "--log-level", "DEBUG", env=env) as served:
        health = httpx2.get(f"http://127.0.0.1:{served.port}/healthz", timeout=5)
    text = served.err.decode()
    assert health.json() == {"status": "ok"}
    assert served.out == b""
    assert "Connect with" in text
    assert "https://ops:[redacted]@127.0.0.1:9" in text
    assert PASSWORD not in text
    assert "kupe_sk_TESTSECRET_cli_0001" not in text


def test_a_taken_port_is_one_sentence_naming_it_and_how_to_choose_another() -> None:
    port, done = serve_on_a_taken_port()
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()  # said before anything starts: no log lines, no traceback
    assert line.startswith(f"kupe-app-mcp: Port {port} on 127.0.0.1 is already in use")
    assert "Errno" not in line
    assert re.search(r": stop it or choose --port \d+ \(make run PORT=\d+\)\.$", line), line


MCP_HEADERS = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25"}
LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_stateless_requests_log_nothing_at_info(level: str) -> None:
    with Served("--sandbox", "--transport", "http", "--log-level", level) as served:
        for _ in range(3):
            answer = httpx2.post(f"http://127.0.0.1:{served.port}/mcp", json=LIST, headers=MCP_HEADERS, timeout=30)
            assert answer.status_code == 200
    lines = served.err.decode().splitlines()
    assert [line for line in lines if " INFO " in line and "Terminating session" in line] == []
    terminating = [line for line in lines if " DEBUG " in line and "Terminating session: None" in line]
    assert len(terminating) == (3 if level == "DEBUG" else 0)
