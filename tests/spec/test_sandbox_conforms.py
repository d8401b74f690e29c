"""Hold the sandbox to Kupe's spec with a tool we did not write: schemathesis against `kupe-app-mcp sandbox-api`.

The sandbox was written by us, so where we misread Kupe it agrees with us; schemathesis reads
Kupe's own OpenAPI file (a copy in this folder) and checks, on generated inputs, that no
answer is a 5xx, that answers match the response schemas, that statuses are documented
(``st_hooks.documented_status``), that inputs the spec allows are accepted and inputs it
forbids are refused. Bounded by ``schemathesis.toml`` (examples per operation, total time).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
SPEC = HERE / "kupe-voice-agent.openapi.yaml"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sandbox-api exited with {process.returncode}")
        try:
            if httpx2.get(f"{url}/health", timeout=1.0).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("sandbox-api did not become healthy")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_sandbox_conforms_to_kupes_openapi_spec_under_schemathesis(tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cli = Path(sys.executable).with_name("kupe-app-mcp")
    sandbox = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
        [str(cli), "sandbox-api", "--host", "127.0.0.1", "--port", str(port), "--call-step-s", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_healthy(url, sandbox)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}  # the config names tests.spec.st_hooks
        run = subprocess.run(  # noqa: S603 - schemathesis from this venv, fixed arguments
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "--config-file",
                str(HERE / "schemathesis.toml"),
                "run",
                str(SPEC),
                "--url",
                url,
                "--report",
                "junit",
                "--report-dir",
                str(tmp_path),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=280,
            check=False,
        )
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-3000:]
