"""The command's HTTP start-up: the banner only once the port is bound, and no password from KUPE_BASE_URL."""

from __future__ import annotations

import socket
import subprocess

import httpx2

from tests.e2e.test_cli import KUPE, clean_env, free_port, wait_for_port

PASSWORD = "hunter2-TESTSECRET-9a41"


def test_the_banner_is_not_printed_when_the_port_cannot_be_bound() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(  # noqa: S603
            [*KUPE, "--sandbox", "--transport", "http", "--port", str(port)],
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode != 0
    assert "Connect with" not in done.stderr
    assert f":{port}/mcp" not in done.stderr


def test_a_password_in_kupe_base_url_is_not_printed_at_start_up_and_healthz_answers() -> None:
    env = {"KUPE_BASE_URL": f"https://ops:{PASSWORD}@127.0.0.1:9", "KUPE_API_KEY": "kupe_sk_TESTSECRET_cli_0001"}
    port = free_port()
    proc = subprocess.Popen(  # noqa: S603
        [*KUPE, "--transport", "http", "--log-level", "DEBUG", "--port", str(port)],
        env=clean_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, proc)
        health = httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    text = err.decode()
    assert health.json() == {"status": "ok"}
    assert out == b""
    assert "Connect with" in text
    assert "https://ops:[redacted]@127.0.0.1:9" in text
    assert PASSWORD not in text
    assert "kupe_sk_TESTSECRET_cli_0001" not in text
