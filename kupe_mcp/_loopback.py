"""An ASGI app served by uvicorn in a daemon thread on loopback: for tests, the demo and benchmarks."""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Any, Literal, Self

import uvicorn

__all__ = ["LoopbackServer"]


class LoopbackServer:
    """``with LoopbackServer(app) as srv: srv.base_url`` — ``port=0`` picks a free port; exit stops and joins."""

    def __init__(
        self, app: Any, *, host: str = "127.0.0.1", port: int = 0, lifespan: Literal["on", "off"] = "off"
    ) -> None:
        self.app = app
        self.base_url = ""
        self._config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,  # leave logging to the host process
            log_level="warning",
            access_log=False,
            lifespan=lifespan,
            timeout_graceful_shutdown=1,
        )
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        server = uvicorn.Server(self._config)
        thread = threading.Thread(target=server.run, name="kupe-loopback", daemon=True)
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"could not start a server on {self._config.host}:{self._config.port}")
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        self.base_url = f"http://{self._config.host}:{port}"
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
