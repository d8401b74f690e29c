"""The API key and the Bearer token never leave the auth header: not in reprs, errors or logs."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx2
import pytest

from kupe_mcp.client import KupeClient
from kupe_mcp.config import Settings
from tests._mcp import exception_texts

from ._support import API_KEY, BEARER_TOKEN, CREDENTIALS, FakeKupe, kupe_client

SECRETS = (API_KEY, BEARER_TOKEN)
MCP_TOKEN = "mcp_TESTSECRET_5b2e"


def _leaks(text: str) -> list[str]:
    return [secret for secret in (*SECRETS, MCP_TOKEN) if secret in text]


def test_settings_repr_hides_every_secret() -> None:
    settings = Settings.from_env(
        {"KUPE_API_KEY": API_KEY, "KUPE_BEARER_TOKEN": BEARER_TOKEN, "KUPE_MCP_TOKEN": MCP_TOKEN}
    )
    assert settings.credentials.kind == "bearer"  # the secrets really are inside
    for text in (repr(settings), str(settings), repr(settings.credentials), repr(settings.model_dump())):
        assert _leaks(text) == []


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["api_key", "bearer"])
async def test_client_repr_hides_the_credentials(kind: str) -> None:
    async with kupe_client(FakeKupe(), credentials=CREDENTIALS[kind]) as client:
        other = client.with_credentials(CREDENTIALS["bearer" if kind == "api_key" else "api_key"])
        for text in (repr(client), str(client), repr(other), repr(client.credentials)):
            assert _leaks(text) == []
        assert kind in repr(client)


Call = Callable[[KupeClient], Awaitable[Any]]

# One run through every failure path: HTTP errors, retries, transport failures, bad bodies.
SCENARIOS: list[tuple[tuple[httpx2.Response | Exception, ...], Call]] = [
    ((httpx2.Response(401, json={"detail": "Invalid API key"}),), lambda c: c.me()),
    ((httpx2.Response(403, json={"detail": "Forbidden: API Key does not have required scopes"}),), lambda c: c.me()),
    ((httpx2.Response(422, json={"detail": [{"loc": ["body", "name"], "msg": "Field required"}]}),), lambda c: c.me()),
    ((httpx2.Response(503, json={"detail": "busy"}),), lambda c: c.get_agent("agent-1")),
    ((httpx2.Response(429, json={"detail": "slow"}, headers={"Retry-After": "1"}),), lambda c: c.list_agents()),
    ((httpx2.ConnectError("connection refused"),), lambda c: c.create_call("+15551234567", agent_id="a")),
    ((httpx2.ReadTimeout("timed out"),), lambda c: c.create_call("+15551234567", agent_id="a")),
    ((httpx2.ReadError("reset"),), lambda c: c.delete_agent("agent-1")),
    ((httpx2.Response(502, content=b"<html>Bad Gateway</html>"),), lambda c: c.start_batch("batch-1")),
    ((httpx2.Response(200, content=b'{"user_id": '),), lambda c: c.me()),
    ((httpx2.Response(200, json={"no": "user"}),), lambda c: c.me()),
    ((httpx2.Response(200, json={"status": "failed", "request_id": "r"}),), lambda c: c.create_call("+1555")),
]


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["api_key", "bearer"])
async def test_errors_and_logs_never_contain_the_secret(kind: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[Exception] = []
    sent: list[httpx2.Request] = []
    for replies, call in SCENARIOS:
        fake = FakeKupe(*replies)
        async with kupe_client(fake, credentials=CREDENTIALS[kind]) as client:
            try:
                await call(client)
            except Exception as exc:
                errors.append(exc)
        sent += fake.requests

    assert len(errors) == len(SCENARIOS)
    secret = API_KEY if kind == "api_key" else BEARER_TOKEN
    assert all(secret in " ".join(request.headers.values()) for request in sent)  # the secret was in play
    assert any("retrying" in record.getMessage() for record in caplog.records)  # the logs were captured
    for error in errors:
        for text in exception_texts(error):
            assert _leaks(text) == [], f"{type(error).__name__} leaks a secret"
    for record in caplog.records:
        for text in (record.getMessage(), repr(record.args), record.exc_text or "", repr(vars(record))):
            assert _leaks(text) == [], f"log record {record.name}:{record.lineno} leaks a secret"


def test_a_credentials_fingerprint_tells_tenants_apart_without_holding_the_secret() -> None:
    from pydantic import SecretStr

    from kupe_mcp.config import Credentials

    key = "kupe_live_super_secret_value"
    a = Credentials(api_key=SecretStr(key)).fingerprint()
    b = Credentials(api_key=SecretStr(key + "2")).fingerprint()
    assert a != b
    assert key not in a
    assert a == Credentials(api_key=SecretStr(key)).fingerprint()
