"""Issue 17: three replicas behind a round-robin balancer share OAuth grants through one real Redis.

Every HTTP request of the flow (discovery, registration, the sign-in page and its POST, the code exchange,
MCP calls, the refresh, the revocation) goes to the next replica, as a balancer would send them. The replicas
share ``KUPE_STATE_SECRET`` (so they open each other's sealed keys) and a public origin
(``KUPE_APPROVAL_BASE_URL``, the balancer's address: the issuer and the tokens' resource).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx2
import pytest
import redis as redis_sync
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from pydantic import SecretStr

from kupe_mcp._loopback import LoopbackServer
from kupe_mcp.config import Settings
from kupe_mcp.safety.state import open_store
from kupe_mcp.sandbox import DEMO_API_KEY, NO_CREDIT_API_KEY, SandboxServer, SandboxSettings
from kupe_mcp.serve.server import build_client, create_server
from kupe_mcp.serve.transports import http_app
from tests._mcp import call
from tests._redis import RedisServer
from tests.oauth._oauth import MemoryTokens, Person, list_tools_bearing, oauth_client
from tests.replicas.test_replicas import RoundRobin

pytestmark = pytest.mark.anyio

SECRET = "replica-oauth-secret-0123456789abcdef"
# The balancer's address: the replicas' public origin (KUPE_APPROVAL_BASE_URL). Nothing listens there; the
# RoundRobin transport sends each request on to the next replica's port.
BALANCER = "http://127.0.0.1:8999"
DEMO_USER = "4f79c29a-53f2-5e5a-8825-ed0c4d2a4c57"


class Fleet:
    def __init__(self, redis: RedisServer, ports: list[int]) -> None:
        self.redis = redis
        self.ports = ports
        self.public = BALANCER

    @property
    def mcp_url(self) -> str:
        return f"{self.public}/mcp"

    def dump(self) -> str:
        """Every key and value in Redis, as text."""
        db = redis_sync.Redis.from_url(self.redis.url)
        lines: list[str] = []
        for key in db.scan_iter("*"):
            kind = db.type(key)
            if kind == b"string":
                value: object = db.get(key)
            elif kind == b"hash":
                value = db.hgetall(key)
            elif kind == b"zset":
                value = db.zrange(key, 0, -1)
            elif kind == b"list":
                value = db.lrange(key, 0, -1)
            else:
                value = db.smembers(key)
            lines.append(f"{key!r} {value!r}")
        db.close()
        return "\n".join(lines)


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    with ExitStack() as stack:
        redis = RedisServer(tmp_path)
        redis.start()
        stack.callback(redis.stop)
        sandbox = stack.enter_context(SandboxServer(SandboxSettings(call_step_s=0)))
        ports: list[int] = []
        for _ in range(3):
            settings = Settings(
                base_url=sandbox.base_url,
                toolsets=("account",),
                state_url=redis.url,
                state_secret=SecretStr(SECRET),
                approval_base_url=BALANCER,
            )
            server = create_server(
                settings, build_client(settings), multi_tenant=True, state=open_store(redis.url, secret_set=True)
            )
            app = http_app(server, settings, host="127.0.0.1", multi_tenant=True)
            srv = stack.enter_context(LoopbackServer(app, lifespan="on"))
            ports.append(int(srv.base_url.rsplit(":", 1)[1]))
        yield Fleet(redis, ports)


async def test_three_replicas_share_grants_sign_in_refresh_and_revocation_through_redis(fleet: Fleet) -> None:
    balancer = RoundRobin(fleet.ports)
    person = Person(DEMO_API_KEY, transport=RoundRobin(fleet.ports))
    storage = MemoryTokens()
    auth = oauth_client(fleet.mcp_url, person, storage=storage)
    async with (
        httpx2.AsyncClient(auth=auth, timeout=30, transport=balancer) as http,
        Client(streamable_http_client(fleet.mcp_url, http_client=http)) as mcp,
    ):
        answers = [await call(mcp, "whoami") for _ in range(3)]
        first = storage.tokens
        auth.context.token_expiry_time = 1.0
        refreshed = await call(mcp, "whoami")
    assert {a["user_id"] for a in answers} == {DEMO_USER}
    assert refreshed["user_id"] == DEMO_USER
    assert first is not None
    assert storage.tokens is not None
    assert storage.tokens.refresh_token != first.refresh_token
    assert set(balancer.sent) == set(fleet.ports)
    assert len(person.authorize_urls) == 1
    dump = fleet.dump()
    assert DEMO_API_KEY not in dump
    assert '"sealed"' in dump
    assert storage.tokens.access_token not in dump  # tokens are stored as digests only

    revoker = RoundRobin(fleet.ports)
    assert storage.client is not None
    async with httpx2.AsyncClient(transport=revoker) as plain:
        revoked = await plain.post(
            f"{fleet.public}/revoke",
            data={
                "token": storage.tokens.access_token,
                "client_id": storage.client.client_id,
                "client_secret": storage.client.client_secret or "",
            },
        )
        after = [await list_tools_bearing(plain, fleet.mcp_url, storage.tokens.access_token) for _ in fleet.ports]
    assert revoked.status_code == 200
    assert [r.status_code for r in after] == [401, 401, 401]
    assert '"sealed"' not in fleet.dump()


async def test_two_tenants_signed_in_on_different_replicas_stay_apart(fleet: Fleet) -> None:
    async def whoami(key: str) -> str:
        auth = oauth_client(fleet.mcp_url, Person(key, transport=RoundRobin(fleet.ports)))
        async with (
            httpx2.AsyncClient(auth=auth, timeout=30, transport=RoundRobin(fleet.ports[::-1])) as http,
            Client(streamable_http_client(fleet.mcp_url, http_client=http)) as mcp,
        ):
            user = str((await call(mcp, "whoami"))["user_id"])
            assert str((await call(mcp, "whoami"))["user_id"]) == user
            return user

    a = await whoami(DEMO_API_KEY)
    b = await whoami(NO_CREDIT_API_KEY)
    assert a == DEMO_USER
    assert b != a
