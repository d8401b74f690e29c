"""Shared fixtures: the embedded sandbox in-process, a Kupe client on it, and MCP clients in both protocol modes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx2
import pytest
from mcp.client import Client
from pydantic import SecretStr

from kupe_mcp.client import KupeClient
from kupe_mcp.config import Credentials, Settings
from kupe_mcp.sandbox import DEMO_API_KEY, SandboxSettings, create_app
from kupe_mcp.serve.server import KupeServer, create_server
from tests._approvals import FORM_ONLY, declared_elicitation
from tests._mcp import say_yes
from tests._secrets import LEAK, SecretScanner

SANDBOX_URL = "http://sandbox.kupe.local"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _private_state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's stdio servers keep their call-safety SQLite file in a fresh folder, never the user's."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))


@pytest.fixture
def sandbox_app() -> Any:
    """A fresh sandbox whose calls complete at once (no waiting in tests)."""
    return create_app(SandboxSettings(call_step_s=0))


def make_kupe(app: Any, api_key: str = DEMO_API_KEY) -> KupeClient:
    """A KupeClient talking to ``app`` in-process."""
    return KupeClient(
        base_url=SANDBOX_URL,
        credentials=Credentials(api_key=SecretStr(api_key)),
        transport=httpx2.ASGITransport(app=app),
    )


@pytest.fixture
async def kupe_client(sandbox_app: Any) -> AsyncIterator[KupeClient]:
    async with make_kupe(sandbox_app) as client:
        yield client


ServerFactory = Callable[..., KupeServer]


@pytest.fixture
def make_server(sandbox_app: Any) -> ServerFactory:
    """Build a kupe-app-mcp server on the sandbox; keyword arguments become Settings fields (``state=`` a store)."""

    def factory(**settings: Any) -> KupeServer:
        settings.setdefault("toolsets", ("all",))
        # Tests run at any hour: calling hours are tested on their own (tests/guards, test_call_safety).
        settings.setdefault("calling_hours", "off")
        # These servers run on a sandbox that cannot ring, but their Settings say nothing of --sandbox: the tests
        # built on this factory are about the client-proof flow (in-band answers, cards, page POSTs). Passkey
        # tests ask for approval_proof="passkey" themselves.
        settings.setdefault("approval_proof", "client")
        state = settings.pop("state", None)  # a StateStore to run on (tests/state: memory, SQLite, Redis)
        return create_server(Settings(**settings), make_kupe(sandbox_app), state=state)

    return factory


@pytest.fixture(params=["auto", "legacy"])
def client_mode(request: pytest.FixtureRequest) -> str:
    """Both protocol generations: 2026-07-28 (auto) and the 2025-11-25 initialize handshake (legacy)."""
    mode: str = request.param
    return mode


@pytest.fixture
async def mcp(make_server: ServerFactory, client_mode: str) -> AsyncIterator[Client]:
    """An MCP client connected in-process to a server with every toolset; its person confirms every call (a form
    elicitation client: form elicitation is what asks under client proof when nothing outranks it)."""
    with declared_elicitation(FORM_ONLY):
        async with Client(make_server(), mode=client_mode, elicitation_callback=say_yes) as client:
            yield client


# -- the suite-wide secret scan ---------------------------------------------------------------------------

_scanner = SecretScanner()
# The loggers that could carry a secret, at DEBUG for the whole run so every level is scanned.
_SCANNED_LOGGERS = ("kupe_mcp", "mcp", "sse_starlette", "uvicorn", "httpx2")


def pytest_sessionstart(session: pytest.Session) -> None:
    logging.getLogger().addHandler(_scanner)
    for name in _SCANNED_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A passing test whose logs or captured output hold a test secret fails, naming where it leaked."""
    report = yield
    leaks = _scanner.take()
    for name, text in report.sections:
        if found := LEAK.search(text):
            leaks.append(f"{name}: ...{text[max(0, found.start() - 60) : found.start()]}")
    if leaks and report.passed:
        report.outcome = "failed"
        report.longrepr = "A test secret reached a log or the captured output:\n" + "\n".join(leaks[:5])
    return report
