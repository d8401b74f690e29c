"""Fixtures for integration tests: the sandbox on a real loopback socket and KupeClients pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from kupe_mcp.client import KupeClient, RetryPolicy
from kupe_mcp.config import Credentials
from kupe_mcp.sandbox import DEMO_API_KEY, Sandbox, SandboxServer, SandboxSettings


class Sleeps(list[float]):
    """Stands in for ``anyio.sleep``: records each back-off instead of waiting.

    With ``sandbox`` set, the first back-off also switches the sandbox's faults off, so
    "the first attempt fails, the retry succeeds" is deterministic.
    """

    def __init__(self, sandbox: Sandbox | None = None) -> None:
        super().__init__()
        self.sandbox = sandbox

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)
        if self.sandbox is not None:
            self.sandbox.settings.fault_rate = 0.0


def make_client(
    server: SandboxServer | str,
    *,
    api_key: str | None = DEMO_API_KEY,
    bearer_token: str | None = None,
    sleep: Sleeps | None = None,
    timeout_s: float = 10.0,
    retry: RetryPolicy | None = None,
) -> KupeClient:
    """A KupeClient on ``server`` (or a base URL) over TCP; back-offs are recorded, never waited for."""
    credentials = Credentials(
        api_key=SecretStr(api_key) if api_key is not None else None,
        bearer_token=SecretStr(bearer_token) if bearer_token is not None else None,
    )
    return KupeClient(
        base_url=server if isinstance(server, str) else server.base_url,
        credentials=credentials,
        timeout_s=timeout_s,
        connect_timeout_s=2.0,
        retry=retry,
        sleep=sleep if sleep is not None else Sleeps(),
    )


@pytest.fixture(scope="module")
def shared_server() -> Iterator[SandboxServer]:
    """One sandbox per module for tests whose state does not interfere (each creates its own objects)."""
    with SandboxServer(SandboxSettings(call_step_s=0)) as server:
        yield server


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    """A fresh sandbox for tests that flip faults or need pristine state."""
    with SandboxServer(SandboxSettings(call_step_s=0, seed=1234)) as server:
        yield server
