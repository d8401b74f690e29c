"""Running the sandbox over a real socket: a context manager for tests/demos and a blocking CLI entry."""

from __future__ import annotations

import copy
import sys
from types import TracebackType

import uvicorn

from kupe_mcp._loopback import LoopbackServer

from ._app import create_app
from ._config import DEMO_API_KEY, DEMO_BEARER_TOKEN, LIMITED_API_KEY, NO_CREDIT_API_KEY, SandboxSettings
from ._state import Sandbox


class SandboxServer(LoopbackServer):
    """The sandbox on a real loopback socket (uvicorn in a daemon thread); ``port=0`` picks a free port.

    ``base_url`` and ``sandbox`` are usable after ``__enter__``; ``__exit__`` stops the
    server, joins the thread and closes the store.
    """

    def __init__(self, settings: SandboxSettings | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(create_app(settings), host=host, port=port)
        self.sandbox: Sandbox = self.app.state.sandbox

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        super().__exit__(exc_type, exc, tb)
        self.sandbox.store.close()


def _stderr_log_config() -> dict[str, object]:
    """uvicorn's default logging, but access logs go to stderr too: stdout may carry a protocol (MCP stdio)."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    for handler in config["handlers"].values():
        handler["stream"] = "ext://sys.stderr"
    return config


def serve(host: str = "127.0.0.1", port: int = 8766, settings: SandboxSettings | None = None) -> None:
    """Run the sandbox until interrupted; prints the base URL and demo credentials to stderr."""
    app = create_app(settings)
    print(
        f"Kupe sandbox listening on http://{host}:{port}\n"
        f"  x-api-key: {DEMO_API_KEY}   (full developer scopes, 25.00 USD credit)\n"
        f"  x-api-key: {LIMITED_API_KEY}   (GET /api/v1/me and /api/v1/agents* only)\n"
        f"  x-api-key: {NO_CREDIT_API_KEY}   (zero balance: calls answer 402)\n"
        f"  Authorization: Bearer {DEMO_BEARER_TOKEN}   (super_admin session)\n"
        "  Destinations ending in 0000 are treated as unreachable. Nothing here dials a real phone.",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(app, host=host, port=port, log_config=_stderr_log_config())
