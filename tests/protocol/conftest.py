"""Fixtures shared by the protocol tests: the sandbox on a loopback socket, and the call-safety rig."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kupe_mcp.sandbox import SandboxServer, SandboxSettings
from tests._safety import Setup, safety_setup
from tests.conftest import ServerFactory


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    """The sandbox on its own loopback socket, one per test module."""
    with SandboxServer(SandboxSettings(call_step_s=0)) as srv:
        yield srv


@pytest.fixture
def setup(make_server: ServerFactory, sandbox_app: Any, client_mode: str) -> Callable[..., Setup]:
    """``setup(**settings)``: a call-safety rig on the in-process sandbox (see ``tests._safety``)."""
    return safety_setup(make_server, sandbox_app, client_mode)
