"""Issue 17: the MCP Inspector's CLI (a real third-party client, npm) connects to the multi-tenant server through
OAuth: it discovers the metadata from the 401, registers by DCR, and waits on its loopback callback while the
person signs in on the server's page (driven over HTTP here), then calls a tool as that person's account.

The Inspector "opens a browser" through ``xdg-open``/``$BROWSER``; a stand-in script records the URL instead, so
no real browser starts. `make test` installs the Inspector into `.tools/`; plain `pytest` without it skips.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path
from urllib.parse import urlencode

import anyio
import httpx2
import pytest

from kupe_mcp.sandbox import DEMO_API_KEY
from tests._node import node_env
from tests.e2e.test_cli import free_port
from tests.oauth._oauth import serve, sign_in

TOOLS = os.environ.get("KUPE_NODE_TOOLS")
pytestmark = [pytest.mark.skipif(not TOOLS, reason="KUPE_NODE_TOOLS is unset (make test sets it)"), pytest.mark.slow]

DEMO_USER = "4f79c29a-53f2-5e5a-8825-ed0c4d2a4c57"
_AUTHORIZE = re.compile(r"(http://127\.0\.0\.1:\d+/authorize\?\S+)")


def test_the_inspector_cli_signs_in_through_oauth_and_calls_whoami(tmp_path: Path) -> None:
    tools = Path(str(TOOLS))
    cli = tools / "node_modules" / ".bin" / "mcp-inspector"
    assert cli.exists(), f"{cli} is missing: run make node-tools"
    opened = tmp_path / "opened.txt"
    fake = tmp_path / "bin"
    fake.mkdir()
    for name in ("xdg-open", "open-browser"):
        (fake / name).write_text(f'#!/bin/sh\necho "$1" >> {opened}\n')
        (fake / name).chmod(0o755)
    callback = f"http://127.0.0.1:{free_port()}/oauth/callback"
    base = node_env(tools)
    env = {
        **base,
        "PATH": f"{fake}{os.pathsep}{base['PATH']}",
        "BROWSER": str(fake / "open-browser"),
        "HOME": str(tmp_path),
        "MCP_STORAGE_DIR": str(tmp_path / "storage"),
        "MCP_INSPECTOR_SECRET_STORE": "memory",
        "MCP_AUTO_OPEN_ENABLED": "true",  # the CLI has no TTY here; it "opens" the page through the stand-in
    }
    with serve() as served:
        args = ["--cli", "--server-url", served.mcp_url, "--method", "tools/call", "--tool-name", "whoami"]
        proc = subprocess.Popen(  # noqa: S603
            [str(cli), *args, "--callback-url", callback],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            url = _wait_for_authorization_url(proc, opened)
            result = anyio.run(sign_in, url, DEMO_API_KEY)
            # The browser follows the whole redirect: code, state and the issuer (RFC 9207, which the CLI checks).
            answer = {"code": result.code, "state": result.state or "", "iss": result.iss or ""}
            delivered = httpx2.get(f"{callback}?{urlencode(answer)}", timeout=15)
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert delivered.status_code == 200
    assert proc.returncode == 0, err[-2000:]
    assert json.loads(out)["structuredContent"]["user_id"] == DEMO_USER
    assert DEMO_API_KEY not in out + err


def _wait_for_authorization_url(proc: subprocess.Popen[str], opened: Path) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if opened.exists():
            found = _AUTHORIZE.search(opened.read_text())
            if found:
                return found.group(1)
        if proc.poll() is not None:
            _, err = proc.communicate()
            raise AssertionError(f"the Inspector stopped before asking for a sign-in: {err[-2000:]}")
        time.sleep(0.1)
    raise AssertionError("the Inspector never opened an authorization URL")
