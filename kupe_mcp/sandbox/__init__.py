"""Embedded Kupe sandbox: a local, offline emulator of the Kupe App voice-agent REST API.

It lets people try kupe-app-mcp without an account, gives tests a real HTTP peer and
drives demos.  Calls and campaigns are simulated from timestamps (no phone is ever
dialled, no network is ever reached), state lives in SQLite, and faults can be
injected to exercise client retry logic.
"""

from __future__ import annotations

from ._app import create_app
from ._config import DEMO_API_KEY, DEMO_BEARER_TOKEN, LIMITED_API_KEY, NO_CREDIT_API_KEY, SandboxSettings
from ._server import SandboxServer, serve
from ._state import Sandbox

__all__ = [
    "DEMO_API_KEY",
    "DEMO_BEARER_TOKEN",
    "LIMITED_API_KEY",
    "NO_CREDIT_API_KEY",
    "Sandbox",
    "SandboxServer",
    "SandboxSettings",
    "create_app",
    "serve",
]
