"""The three state stores, each a fixture parameter, the Redis one on a real redis-server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from kupe_mcp.safety.state import StateStore, open_store
from tests._redis import RedisServer


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StateStore]:
    kind: str = request.param
    if kind == "memory":
        made = open_store("memory:", secret_set=False)
    elif kind == "sqlite":
        made = open_store(f"sqlite://{tmp_path / 'state.sqlite3'}", secret_set=False)
    else:
        redis: RedisServer = request.getfixturevalue("redis_server")
        redis.flush()
        made = open_store(redis.url, secret_set=True)
    try:
        yield made
    finally:
        await made.aclose()
