"""Every upstream answer is bounded: in size (streamed and cut) and in total time (one deadline per attempt)."""

from __future__ import annotations

import gzip
import time
from collections.abc import AsyncIterator

import anyio
import httpx2
import pytest

from kupe_mcp.client import KupeClient
from kupe_mcp.errors import KupeTimeout, UnexpectedResponse
from tests.client._support import BASE_URL, CREDENTIALS, Sleeps

pytestmark = pytest.mark.anyio

MB = 1_000_000


def client(handler: object, **kwargs: object) -> KupeClient:
    return KupeClient(
        base_url=BASE_URL,
        credentials=CREDENTIALS["api_key"],
        transport=httpx2.MockTransport(handler),  # type: ignore[arg-type]
        sleep=Sleeps(),
        **kwargs,  # type: ignore[arg-type]
    )


class Huge:
    """A 150 MB JSON answer produced lazily, counting how much of it was ever read."""

    def __init__(self) -> None:
        self.sent = 0

    async def body(self) -> AsyncIterator[bytes]:
        yield b'{"data": "'
        for _ in range(150):
            self.sent += MB
            yield b"x" * MB
        yield b'"}'

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=self.body(), headers={"content-type": "application/json"})


async def test_an_answer_larger_than_the_limit_is_cut_off_with_a_sentence_and_not_read_to_the_end() -> None:
    huge = Huge()
    async with client(huge, max_response_bytes=2 * MB) as kupe:
        with pytest.raises(UnexpectedResponse) as caught:
            await kupe.request("GET", "/api/v1/agents")
    assert "larger than the 2 MB" in str(caught.value)
    assert "KUPE_MAX_RESPONSE_MB" in str(caught.value)
    assert huge.sent <= 3 * MB


async def test_a_declared_content_length_over_the_limit_is_refused_before_reading() -> None:
    def big(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=b"{}", headers={"content-length": str(150 * MB)})

    async with client(big, max_response_bytes=2 * MB) as kupe:
        with pytest.raises(UnexpectedResponse, match="larger than"):
            await kupe.request("GET", "/api/v1/agents")


async def test_an_answer_within_the_limit_is_decoded_as_before_even_when_compressed() -> None:
    def gzipped(request: httpx2.Request) -> httpx2.Response:
        body = gzip.compress(b'{"data": [1, 2, 3]}')
        return httpx2.Response(
            200, content=body, headers={"content-encoding": "gzip", "content-type": "application/json"}
        )

    async with client(gzipped, max_response_bytes=MB) as kupe:
        assert await kupe.request("GET", "/api/v1/agents") == {"data": [1, 2, 3]}


async def test_the_default_limit_comes_from_kupe_max_response_mb() -> None:
    from kupe_mcp.config import Settings
    from kupe_mcp.serve.server import build_client

    settings = Settings.from_env({"KUPE_MAX_RESPONSE_MB": "0.5"})
    huge = Huge()
    async with build_client(settings, transport=httpx2.MockTransport(huge)) as kupe:
        with pytest.raises(UnexpectedResponse, match=r"larger than the 0\.5 MB"):
            await kupe.request("POST", "/api/v1/agents/simple", json_body={})


async def test_a_trickling_answer_is_bounded_by_one_deadline_not_by_the_per_read_timeout() -> None:
    async def trickle() -> AsyncIterator[bytes]:
        yield b"{"
        for _ in range(20):  # 20 x 0.2 s: each chunk well inside any per-read timeout, 4 s in all
            await anyio.sleep(0.2)
            yield b" "
        yield b"}"

    def slow(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=trickle())

    started = time.monotonic()
    async with client(slow, timeout_s=0.5) as kupe:
        with pytest.raises(KupeTimeout) as caught:
            await kupe.request("POST", "/api/call/create_call", json_body={})
    elapsed = time.monotonic() - started
    assert caught.value.may_have_reached is True
    assert "check whether it took effect" in str(caught.value)
    assert elapsed < 2.0  # bounded by the 0.5 s deadline, not the 4 s trickle
