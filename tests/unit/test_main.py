"""The command line's serving loop (``kupe_mcp.__main__``): when the start-up check runs beside stdio."""

from __future__ import annotations

import anyio
import pytest

from kupe_mcp import __main__ as cli

pytestmark = pytest.mark.anyio


class _Runtime:
    async def aclose(self) -> None:
        return None


class _Server:
    """Answers a client's opening (after reading it) and then stays up a while, noting each step."""

    def __init__(self, steps: list[str]) -> None:
        self.steps = steps
        self.runtime = _Runtime()

    async def run_stdio_async(self) -> None:
        self.steps.append("serving")
        await anyio.sleep(0.05)  # reading initialize from stdin
        self.steps.append("answered the opening")
        await anyio.sleep(cli._CHECK_AFTER_S + 0.5)
        self.steps.append("stdin closed")


class _Check:
    def __init__(self, steps: list[str]) -> None:
        self.steps = steps

    async def problem(self) -> str | None:
        self.steps.append("start-up check")
        return None


async def test_the_start_up_check_runs_after_the_opening_requests_not_before_them() -> None:
    steps: list[str] = []
    await cli._run_stdio(_Server(steps), _Check(steps))
    assert steps == ["serving", "answered the opening", "start-up check", "stdin closed"]


async def test_a_client_that_leaves_at_once_ends_stdio_without_waiting_for_the_check() -> None:
    steps: list[str] = []
    server = _Server(steps)

    async def brief() -> None:
        steps.append("serving")

    server.run_stdio_async = brief  # type: ignore[method-assign]
    await cli._run_stdio(server, _Check(steps))
    assert steps == ["serving"]
