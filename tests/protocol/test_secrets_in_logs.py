"""Secrets never reach a log (at DEBUG, over real HTTP), an error, or a repr; a new key's secret is shown once."""

from __future__ import annotations

import logging

import httpx2
import pytest
from mcp.client import Client
from pydantic import SecretStr

from kupe_mcp._loopback import LoopbackServer
from kupe_mcp.client import KupeClient
from kupe_mcp.config import Credentials, Settings
from kupe_mcp.errors import KupeAPIError
from kupe_mcp.sandbox import DEMO_API_KEY, DEMO_BEARER_TOKEN, SandboxServer
from kupe_mcp.sandbox._seed import DEMO_AGENT_ID
from kupe_mcp.serve.server import build_client, create_server
from kupe_mcp.serve.transports import http_app
from kupe_mcp.text import redact as _redact
from tests._approvals import SECRET_FIELD, answer_page
from tests._mcp import call, fail

pytestmark = pytest.mark.anyio

# Shaped like no known key: only knowing the live secret can redact it.
PLAIN_KEY = "plainkey-TESTSECRET-0c7e55aa"
VALUES = {"name": "Ada", "appointment_date": "2 May"}  # what the demo agent's prompt uses
PASSWORD = "pw-TESTSECRET-77"


def served(sandbox: SandboxServer, fallback: str = "link", **creds: str) -> LoopbackServer:
    config = Settings(
        base_url=sandbox.base_url,
        credentials={k: SecretStr(v) for k, v in creds.items()},
        toolsets=("all",),
        calling_hours="off",
        confirm_fallback=fallback,
        approval_proof="client",  # tokens and page POSTs: the client-proof flows whose secrets must not be logged
    )
    server = create_server(config, build_client(config))
    return LoopbackServer(http_app(server, config, host="127.0.0.1", multi_tenant=False), lifespan="on")


def log_text(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join([caplog.text, *(r.getMessage() for r in caplog.records)])


async def test_create_api_key_shows_the_new_secret_once_and_no_log_line_at_debug_holds_it(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture, client_mode: str
) -> None:
    caplog.set_level(logging.DEBUG)
    with served(sandbox, bearer_token=DEMO_BEARER_TOKEN) as srv:
        async with Client(f"{srv.base_url}/mcp", mode=client_mode) as mcp:
            made = await call(mcp, "create_api_key", name="CRM sync")
            listed = await call(mcp, "list_api_keys")
    secret = made["api_key"]
    assert secret.startswith("kupe_sbx_")
    assert "shown only this once" in made["note"]
    assert secret not in str(listed)
    assert secret not in log_text(caplog)


async def test_a_confirmation_token_never_reaches_a_log_at_debug(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture, client_mode: str
) -> None:
    caplog.set_level(logging.DEBUG)
    with served(sandbox, fallback="token", api_key=DEMO_API_KEY) as srv:
        async with Client(f"{srv.base_url}/mcp", mode=client_mode) as mcp:  # no elicitation: tokens
            args = {"phone_number": "+919876543210", "agent_id": DEMO_AGENT_ID, "variable_values": VALUES}
            preview = await call(mcp, "place_call", **args)
            token = preview["confirmation_token"]
            placed = await call(mcp, "place_call", **args, confirmation_token=token)
    assert placed["placed"] is True
    assert len(token) >= 24
    assert token not in log_text(caplog)


def echoing_kupe(request: httpx2.Request) -> httpx2.Response:
    """A backend that puts the caller's key into its error."""
    return httpx2.Response(401, json={"detail": f"API key {request.headers.get('x-api-key')} is not valid"})


def echoing_client() -> KupeClient:
    return KupeClient(
        base_url="https://api.kupe.test",
        credentials=Credentials(api_key=SecretStr(PLAIN_KEY)),
        transport=httpx2.MockTransport(echoing_kupe),
    )


async def test_a_backend_echoing_the_callers_key_does_not_put_it_into_the_error() -> None:
    async with echoing_client() as kupe:
        with pytest.raises(KupeAPIError) as caught:
            await kupe.me()
    assert PLAIN_KEY not in str(caught.value)
    assert "API key [redacted] is not valid" in str(caught.value)


async def test_a_backend_echoing_the_callers_key_does_not_put_it_into_the_tool_result_or_the_log(
    caplog: pytest.LogCaptureFixture, client_mode: str
) -> None:
    caplog.set_level(logging.DEBUG)
    server = create_server(Settings(credentials={"api_key": SecretStr(PLAIN_KEY)}), echoing_client())
    async with Client(server, mode=client_mode) as mcp:
        text = await fail(mcp, "whoami")
    assert "[redacted]" in text
    assert PLAIN_KEY not in text
    assert PLAIN_KEY not in log_text(caplog)


def test_a_password_inside_kupe_base_url_stays_out_of_reprs() -> None:
    settings = Settings(base_url=f"https://ops:{PASSWORD}@api.kupe.test")
    client = build_client(settings)
    assert PASSWORD not in repr(settings)
    assert "ops:[redacted]@api.kupe.test" in repr(settings)
    assert PASSWORD not in repr(client)


def test_a_remembered_secret_is_redacted_from_every_later_log_record(caplog: pytest.LogCaptureFixture) -> None:
    _redact.install()
    secret = "Zx9-TESTSECRET-remembered-4411"
    _redact.remember(secret)
    caplog.set_level(logging.DEBUG)
    logging.getLogger("some.library").debug("answer: %s", {"token": secret})
    try:
        raise ValueError(secret)
    except ValueError:
        logging.getLogger("other").exception("failed")
    assert secret not in log_text(caplog)
    assert "[redacted]" in caplog.records[0].getMessage()
    assert secret not in (caplog.records[1].exc_text or "")


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("key kupe_live_0123456789abcdef here", "key [redacted] here"),
        ("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "Bearer [redacted]"),
        ("https://user:hunter2@api.kupe.in/x", "https://user:[redacted]@api.kupe.in/x"),
        ("kupe_mcp.client retried GET /api/v1/me", "kupe_mcp.client retried GET /api/v1/me"),
    ],
)
def test_redact_removes_key_jwt_and_url_password_shapes_and_keeps_plain_text(text: str, kept: str) -> None:
    assert _redact.redact(text) == kept


def test_the_request_credentials_are_redacted_only_while_that_request_runs() -> None:
    token = _redact.request_credentials.set(("tenant-key-TESTSECRET-aa01",))
    try:
        assert _redact.redact("got tenant-key-TESTSECRET-aa01") == "got [redacted]"
    finally:
        _redact.request_credentials.reset(token)
    assert _redact.request_credentials.get() == ()


def test_the_cli_keeps_tool_results_out_of_its_debug_log() -> None:
    from kupe_mcp.__main__ import _configure_logging

    loggers = [logging.getLogger(name) for name in ("sse_starlette", "httpx2")]
    before = [lg.level for lg in loggers]
    try:
        _configure_logging("DEBUG")
        assert loggers[0].getEffectiveLevel() == logging.INFO
    finally:
        for lg, level in zip(loggers, before, strict=True):
            lg.setLevel(level)


def test_the_suites_secret_scanner_is_listening_and_catches_a_leak() -> None:
    from tests._secrets import SecretScanner

    assert any(isinstance(h, SecretScanner) for h in logging.getLogger().handlers)
    scanner = SecretScanner()
    scanner.handle(logging.LogRecord("x", logging.DEBUG, __file__, 1, "sent %s", ("a-TESTSECRET-b",), None))
    scanner.handle(logging.LogRecord("x", logging.DEBUG, __file__, 1, "nothing here", None, None))
    leaks = scanner.take()
    assert len(leaks) == 1
    assert "TESTSECRET" not in leaks[0]  # the report names where, never the secret itself


async def test_an_approval_pages_secret_never_reaches_a_log_at_debug(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture, client_mode: str
) -> None:
    caplog.set_level(logging.DEBUG)
    with served(sandbox, api_key=DEMO_API_KEY) as srv:
        async with Client(f"{srv.base_url}/mcp", mode=client_mode) as mcp:  # no elicitation: the approval link
            args = {"phone_number": "+919876543210", "agent_id": DEMO_AGENT_ID, "variable_values": VALUES}
            asked = await call(mcp, "place_call", **args)
            async with httpx2.AsyncClient(timeout=10) as http:
                page = await http.get(asked["approval_url"])
            found = SECRET_FIELD.search(page.text)
            assert found is not None, page.text
            answered = await answer_page(asked["approval_url"], "approve")
            placed = await call(mcp, "wait_for_approval", approval_id=asked["approval_id"], timeout_s=10)
    assert answered.status_code == 200
    assert placed["status"] == "approved"
    assert placed["result"]["placed"] is True
    secret = found.group(1)
    assert len(secret) >= 24
    assert secret not in log_text(caplog)
