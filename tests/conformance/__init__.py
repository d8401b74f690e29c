"""The MCP conformance suite (npm ``@modelcontextprotocol/conformance``, pinned in the Makefile) run from tests."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.test_cli import KUPE, clean_env, free_port, wait_for_port

TOOLS = os.environ.get("KUPE_NODE_TOOLS")


def suite_script(tools: Path) -> Path:
    """The suite's command-line entry point inside the ``.tools`` folder ``make`` installs."""
    script = tools / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
    assert script.exists(), f"{script} is missing: run make node-tools"
    return script


@contextmanager
def serving(log: Path, *args: str, **env: str) -> Iterator[str]:
    """A ``kupe-app-mcp --transport http`` process on a free loopback port, its stderr in ``log``; yields its URL."""
    port = free_port()
    with log.open("wb") as err:
        proc = subprocess.Popen(  # noqa: S603
            [*KUPE, *args, "--transport", "http", "--port", str(port)],
            env=clean_env(**env),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        try:
            wait_for_port(port, proc)
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            proc.terminate()
            proc.wait(timeout=30)
