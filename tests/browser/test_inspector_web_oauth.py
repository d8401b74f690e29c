"""Issue 17: the MCP Inspector's web UI (npm) connects to the multi-tenant server through OAuth, in Chromium.

The Inspector is started on free ports for this server only; the person switches the server on, the tab goes to
this server's sign-in page, they paste a sandbox key, and the tab comes back to the Inspector, connected.
`make test` installs the Inspector (`.tools/`) and Chromium; without either this skips.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from kupe_mcp.sandbox import DEMO_API_KEY
from tests._node import node_env
from tests.e2e.test_cli import free_port
from tests.oauth._oauth import serve

TOOLS = os.environ.get("KUPE_NODE_TOOLS")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.anyio,
    pytest.mark.slow,
    pytest.mark.skipif(not TOOLS, reason="KUPE_NODE_TOOLS is unset (make test sets it)"),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed (make test installs it)"),
]
_UI = re.compile(r"(http://127\.0\.0\.1:\d+\?MCP_INSPECTOR_API_TOKEN=\w+)")


async def test_the_inspector_web_ui_connects_through_the_sign_in_page(tmp_path: Path) -> None:
    tools = Path(str(TOOLS))
    cli = tools / "node_modules" / ".bin" / "mcp-inspector"
    assert cli.exists(), f"{cli} is missing: run make node-tools"
    env = {
        **node_env(tools),
        "HOME": str(tmp_path),
        "MCP_STORAGE_DIR": str(tmp_path / "storage"),
        "MCP_INSPECTOR_SECRET_STORE": "memory",
        "MCP_AUTO_OPEN_ENABLED": "false",
        "CLIENT_PORT": str(free_port()),
        "MCP_SANDBOX_PORT": str(free_port()),
        "MCP_APP_ORIGIN_PORT": str(free_port()),
    }
    with serve() as served:
        proc = subprocess.Popen(  # noqa: S603, ASYNC220 - a background process, never waited on here
            [str(cli), "--web", "--transport", "http", "--server-url", served.mcp_url],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # the launcher starts a child: stop the whole group afterwards
        )
        lines: list[str] = []
        assert proc.stdout is not None
        out = proc.stdout
        reader = threading.Thread(target=lambda: lines.extend(iter(out.readline, "")), daemon=True)
        reader.start()
        try:
            ui = _wait_for(lines, proc)
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                page = await browser.new_page()
                await page.goto(ui)
                await page.get_by_role("switch").first.click(force=True)  # its label sits on top of the input
                await page.wait_for_url(re.compile(r"/oauth/sign-in\?request="), timeout=30_000)
                sign_in_text = await page.inner_text("main")
                await page.get_by_label("Kupe App API key").fill(DEMO_API_KEY)
                await page.get_by_role("button", name="Sign in").click()
                await page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:" + env["CLIENT_PORT"]), timeout=30_000)
                await page.get_by_text("Connected", exact=True).first.wait_for(timeout=30_000)
                connected = await page.inner_text("body")
                await browser.close()
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
            reader.join(timeout=10)
            assert proc.stdout is not None
            proc.stdout.close()
    assert "asks to use your Kupe App account" in sign_in_text
    assert "Connected" in connected
    assert "kupe-app-mcp" in connected
    assert DEMO_API_KEY not in "".join(lines)


def _wait_for(lines: list[str], proc: subprocess.Popen[str]) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for line in list(lines):
            found = _UI.search(line)
            if found:
                return found.group(1)
        if proc.poll() is not None:
            raise AssertionError("the Inspector stopped: " + "".join(lines)[-2000:])
        time.sleep(0.1)
    raise AssertionError("the Inspector never said where its UI is: " + "".join(lines)[-2000:])
