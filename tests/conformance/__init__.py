"""The MCP conformance suite (npm ``@modelcontextprotocol/conformance``, pinned in the Makefile) run from tests."""

from __future__ import annotations

import os
from pathlib import Path

TOOLS = os.environ.get("KUPE_NODE_TOOLS")


def suite_script(tools: Path) -> Path:
    """The suite's command-line entry point inside the ``.tools`` folder ``make`` installs."""
    script = tools / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
    assert script.exists(), f"{script} is missing: run make node-tools"
    return script
