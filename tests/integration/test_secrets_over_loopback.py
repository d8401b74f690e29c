"""No credential leaks on the real request path: not in any log record (ours, httpx2's, uvicorn's), nor in errors."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from kupe_mcp.client import KupeClient
from kupe_mcp.errors import KupeError
from kupe_mcp.sandbox import DEMO_API_KEY, DEMO_BEARER_TOKEN, LIMITED_API_KEY, NO_CREDIT_API_KEY, SandboxServer
from kupe_mcp.sandbox._seed import DEMO_AGENT_ID
from tests._mcp import exception_texts

from .conftest import Sleeps, make_client

pytestmark = pytest.mark.anyio

WRONG_KEY = "kupe_sbx_WRONG_TESTSECRET_51c0"
SECRETS = (DEMO_API_KEY, LIMITED_API_KEY, NO_CREDIT_API_KEY, DEMO_BEARER_TOKEN, WRONG_KEY)

Call = Callable[[KupeClient], Awaitable[Any]]


def _record_texts(record: logging.LogRecord) -> list[str]:
    texts = [record.getMessage(), repr(record.args), record.exc_text or "", record.stack_info or ""]
    if record.exc_info:
        texts.append(logging.Formatter().formatException(record.exc_info))
    return texts


async def test_no_credential_appears_in_logs_or_errors_through_retries_faults_and_refusals(
    server: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = server.sandbox.settings
    errors: list[BaseException] = []

    async def run(api_key: str | None, call: Call, *, fault: str | None = None, bearer: str | None = None) -> None:
        """One call, optionally with a fault on every request until the client's first back-off clears it."""
        if fault is not None:
            settings.fault_kinds, settings.fault_rate = (fault,), 1.0
        async with make_client(server, api_key=api_key, bearer_token=bearer, sleep=Sleeps(server.sandbox)) as kupe:
            try:
                await call(kupe)
            except KupeError as exc:
                errors.append(exc)
        settings.fault_rate = 0.0

    await run(DEMO_API_KEY, lambda k: k.me(), fault="503")  # retried, recovers
    await run(DEMO_API_KEY, lambda k: k.list_agents(), fault="reset")  # retried after a dropped connection
    await run(DEMO_API_KEY, lambda k: k.create_call("+14155551111", agent_id=DEMO_AGENT_ID), fault="reset")
    await run(DEMO_API_KEY, lambda k: k.create_agent_simple("leak check"), fault="html")
    await run(DEMO_API_KEY, lambda k: k.create_call("+14155551112", agent_id=DEMO_AGENT_ID), fault="429")
    await run(DEMO_API_KEY, lambda k: k.get_agent(str(uuid.uuid4())))
    await run(DEMO_API_KEY, lambda k: k.create_call("+14155550000", agent_id=DEMO_AGENT_ID))
    await run(DEMO_API_KEY, lambda k: k.create_agent({"agent": {}}))
    await run(WRONG_KEY, lambda k: k.me())
    await run(LIMITED_API_KEY, lambda k: k.list_model_providers())
    await run(NO_CREDIT_API_KEY, lambda k: k.create_call("+14155551113", workflow_id=str(uuid.uuid4())))
    await run(None, lambda k: k.get_agent(str(uuid.uuid4())), bearer=DEMO_BEARER_TOKEN, fault="503")

    # The run really went through failures, retries and server-side tracebacks, so there was something to leak.
    assert [type(error).__name__ for error in errors] == [
        "CallOutcomeUnknown",
        "UnexpectedResponse",
        "RateLimited",
        "NotFound",
        "CallInitiationFailed",
        "InvalidRequest",
        "AuthenticationFailed",
        "PermissionDenied",
        "InsufficientCredits",
        "NotFound",
    ]
    messages = [record.getMessage() for record in caplog.records]
    assert any("retrying" in message for message in messages)
    assert any(record.levelno == logging.DEBUG for record in caplog.records)
    assert any(record.exc_info for record in caplog.records if record.name.startswith("uvicorn"))

    texts = [text for record in caplog.records for text in _record_texts(record)]
    texts += [text for error in errors for text in exception_texts(error)]
    texts.append(caplog.text)
    leaks = sorted({secret for secret in SECRETS for text in texts if secret in text})
    assert leaks == []
