"""A real third-party client: the MCP Inspector CLI (npm, Node >= 22) drives kupe-app-mcp over stdio.

`make test` installs Node 22 and the Inspector into `.tools/` and sets KUPE_NODE_TOOLS;
plain `pytest` without it skips these tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kupe_mcp.sandbox import DEMO_API_KEY, SandboxServer, SandboxSettings
from kupe_mcp.sandbox._seed import DEMO_AGENT_ID
from tests._node import node_env

# The demo agent's prompt greets {{name}} and confirms {{appointment_date}}: a call must fill both.
VALUES = 'variable_values={"name": "Ada", "appointment_date": "Friday"}'

TOOLS = os.environ.get("KUPE_NODE_TOOLS")
pytestmark = pytest.mark.skipif(not TOOLS, reason="KUPE_NODE_TOOLS is unset (make test sets it)")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxSettings(call_step_s=0)) as srv:
        yield srv


def inspector(sandbox: SandboxServer, *args: str, settings: tuple[str, ...] = ()) -> tuple[int, Any, str]:
    """Run ``mcp-inspector --cli`` against ``python -m kupe_mcp --toolsets all`` on the sandbox.

    ``settings`` adds ``NAME=value`` environment settings for the server (each run is a fresh server process).
    """
    tools = Path(str(TOOLS))
    cli = tools / "node_modules" / ".bin" / "mcp-inspector"
    assert cli.exists(), f"{cli} is missing: run make node-tools"
    env = node_env(tools)
    done = subprocess.run(  # noqa: S603
        [
            str(cli),
            "--cli",
            *args,
            "-e",
            f"KUPE_BASE_URL={sandbox.base_url}",
            "-e",
            f"KUPE_API_KEY={DEMO_API_KEY}",
            "-e",
            "KUPE_TOOLSETS=all",
            # The Inspector hands its server only these variables: without this the server's call-safety SQLite
            # file would be the user's own, and calls from earlier runs would count against this one.
            "-e",
            f"XDG_STATE_HOME={os.environ['XDG_STATE_HOME']}",
            *(arg for pair in settings for arg in ("-e", pair)),
            sys.executable,
            "-m",
            "kupe_mcp",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    try:
        body = json.loads(done.stdout)
    except json.JSONDecodeError:
        body = None
    return done.returncode, body, done.stderr


def structured(body: Any) -> dict[str, Any]:
    assert body is not None
    assert not body.get("isError"), body
    content: dict[str, Any] = body["structuredContent"]
    return content


def test_inspector_lists_every_tool_with_strict_schema_portability_checks(sandbox: SandboxServer) -> None:
    code, body, err = inspector(sandbox, "--method", "tools/list", "--strict")
    assert code == 0, err
    names = {t["name"] for t in body["tools"]}
    assert {"whoami", "create_agent", "get_agent", "place_call", "start_batch"} <= names


def test_inspector_calls_whoami_create_agent_and_get_agent(sandbox: SandboxServer) -> None:
    code, body, err = inspector(sandbox, "--method", "tools/call", "--tool-name", "whoami")
    assert code == 0, err
    assert structured(body)["auth"] == "api_key"

    code, body, err = inspector(
        sandbox,
        "--method",
        "tools/call",
        "--tool-name",
        "create_agent",
        "--tool-arg",
        "name=Inspector agent",
        "--tool-arg",
        "welcome_message=Hello from the Inspector",
    )
    assert code == 0, err
    agent_id = structured(body)["agent"]["id"]

    code, body, err = inspector(
        sandbox, "--method", "tools/call", "--tool-name", "get_agent", "--tool-arg", f"agent_id={agent_id}"
    )
    assert code == 0, err
    assert structured(body)["agent"]["first_response_message"] == "Hello from the Inspector"


def test_inspector_searches_knowledge_reads_an_agent_resource_and_gets_a_prompt(sandbox: SandboxServer) -> None:
    code, body, err = inspector(
        sandbox, "--method", "tools/call", "--tool-name", "search_knowledge",
        "--tool-arg", f"agent_id={DEMO_AGENT_ID}", "--tool-arg", "query=refund",
    )  # fmt: skip
    assert code == 0, err
    assert "hits" in structured(body)

    code, body, err = inspector(sandbox, "--method", "resources/read", "--uri", f"kupe://agents/{DEMO_AGENT_ID}")
    assert code == 0, err
    assert DEMO_AGENT_ID in body["contents"][0]["text"]

    # The Inspector CLI cannot answer elicitation and each run is a new server process (so a confirmation
    # token cannot outlive it): this is the unattended set-up, an allow-listed number with confirmation off.
    # KUPE_STATE_URL=memory: keeps an earlier run's calls (the stdio default is a SQLite file in the user's state
    # directory) from making this one a repeat that needs a person.
    unattended = (
        "KUPE_CALLING_HOURS=off",
        "KUPE_CONFIRM_CALLS=off",
        "KUPE_ALLOWED_DESTINATIONS=+919876543210",
        "KUPE_STATE_URL=memory:",
    )
    started = structured(
        inspector(
            sandbox, "--method", "tools/call", "--tool-name", "place_call",
            "--tool-arg", "phone_number=+919876543210", "--tool-arg", f"agent_id={DEMO_AGENT_ID}",
            "--tool-arg", VALUES, settings=unattended,
        )[1]
    )  # fmt: skip
    assert started["placed"] is True, started
    code, body, err = inspector(
        sandbox, "--method", "prompts/get", "--prompt-name", "review_call",
        "--prompt-args", f"request_id={started['request_id']}",
    )  # fmt: skip
    assert code == 0, err
    assert any(m["content"]["type"] == "resource" for m in body["messages"])


def test_inspector_without_elicitation_gets_an_approval_link_instead_of_a_call(sandbox: SandboxServer) -> None:
    before = len(sandbox.sandbox.request_log)
    code, body, err = inspector(
        sandbox, "--method", "tools/call", "--tool-name", "place_call",
        "--tool-arg", "phone_number=+91 98765 43210", "--tool-arg", f"agent_id={DEMO_AGENT_ID}",
        "--tool-arg", VALUES, settings=("KUPE_CALLING_HOURS=off", "KUPE_STATE_URL=memory:"),
    )  # fmt: skip
    assert code == 0, err
    preview = structured(body)
    assert preview["placed"] is False
    assert preview["approval_url"].startswith(
        "http://localhost:"
    )  # the stdio server's own loopback listener, a passkey's host
    assert "confirmation_token" not in preview
    assert preview["preview"]["destination"] == "+919876543210"
    log = sandbox.sandbox.request_log[before:]
    assert not [path for method, path in log if method != "GET"]
