"""``kupe-app-mcp passkey add|list|rename|revoke`` with a person at a browser (Chromium, a CDP virtual authenticator):
the one-time code from the terminal enrols a passkey in the stdio server's own state file, which then approves a
call on the stdio server's page; a revoked passkey approves nothing.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from typing import Any

import anyio.to_thread
import pytest
from mcp.client import Client
from playwright.async_api import Browser

from kupe_mcp.__main__ import main
from kupe_mcp.safety.state import default_state_url, open_store
from kupe_mcp.sandbox import DEMO_API_KEY, SandboxServer, SandboxSettings
from kupe_mcp.serve.server import build_client, create_server
from tests._mcp import call
from tests._safety import ADA_CALL, CREATE_CALL, calls_settings
from tests.browser._page import with_authenticator

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

# The code rides in the fragment: no server, log or Referer ever sees it, and the page clears it from the address.
LINK = re.compile(r"Open (http://localhost:\d+/approvals/passkeys/enrol#code=\S+&from=terminal) in your browser")


async def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = await anyio.to_thread.run_sync(main, argv)  # the command runs its own event loop
    out, err = capsys.readouterr()
    return status, out + err


async def test_passkey_add_enrols_from_the_terminal_code_and_the_stdio_server_accepts_it_until_revoked(
    browser: Browser, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with SandboxServer(SandboxSettings(call_step_s=0)) as sandbox:
        monkeypatch.setenv("KUPE_API_KEY", DEMO_API_KEY)
        monkeypatch.setenv("KUPE_BASE_URL", sandbox.base_url)
        # `passkey add` waits for the browser: run it beside the test, reading its terminal as it writes.
        done: dict[str, Any] = {}
        lines: list[str] = []

        class Terminal:
            def write(self, text: str) -> int:
                lines.append(text)
                return len(text)

            def flush(self) -> None: ...

        terminal, sys.stderr = sys.stderr, Terminal()
        try:
            worker = threading.Thread(target=lambda: done.update(status=main(["passkey", "add"])), daemon=True)
            worker.start()
            page = await with_authenticator(browser)
            found = None
            for _ in range(200):
                found = LINK.search("".join(lines))
                if found:
                    break
                await page.wait_for_timeout(50)
            assert found is not None, lines
            await page.goto(found.group(1))  # the code is filled in from the link
            intro = await page.locator("#intro").text_content()
            assert page.url.endswith("/approvals/passkeys/enrol")
            assert intro is not None
            assert intro.startswith("The one-time code from your terminal is filled in.")
            await page.fill("#name", "desk key")
            await page.get_by_role("button", name="Create passkey").click()
            await page.locator("#msg").filter(has_text="enrolled").wait_for()
            worker.join(timeout=30)
        finally:
            sys.stderr = terminal
        assert done["status"] == 0
        assert "Passkey 'desk key' enrolled" in capsys.readouterr().out

        status, listed = await run_cli(["passkey", "list"], capsys)
        assert status == 0
        assert "'desk key'" in listed
        passkey_id = listed.split()[0]
        assert await run_cli(["passkey", "rename", passkey_id, "office"], capsys) == (0, "Renamed to 'office'.\n")

        # The stdio server on the same state file: the passkey approves its call.
        config = calls_settings(sandbox, approval_proof="passkey")
        store = open_store(default_state_url("stdio", os.environ), secret_set=False)
        server = create_server(config, build_client(config), state=store)
        try:
            async with Client(server) as mcp:
                out = await call(mcp, "place_call", **ADA_CALL)
                assert "passkey" not in out  # one is enrolled: no enrolment hint
                await page.goto(out["approval_url"])
                await page.get_by_role("button", name="Approve").click()
                await page.get_by_text("Approved.").wait_for()
                done_call = await call(mcp, "wait_for_approval", approval_id=out["approval_id"], timeout_s=10)
                assert done_call["result"]["placed"] is True

                assert (await run_cli(["passkey", "revoke", passkey_id], capsys))[0] == 0
                second = await call(mcp, "place_call", **{**ADA_CALL, "phone_number": "+919876543211"})
                await page.goto(second["approval_url"])
                await page.get_by_role("button", name="Approve").click()
                await page.get_by_text("No passkey is enrolled").wait_for()
        finally:
            await server.runtime.aclose()
        assert list(sandbox.sandbox.request_log).count(CREATE_CALL) == 1
