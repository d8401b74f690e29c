"""Toolset ``webhooks`` against the sandbox: configuration, test delivery, and the secret staying hidden."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kupe_mcp.sandbox._seed import DEMO_AGENT_ID
from kupe_mcp.toolsets import webhooks
from kupe_mcp.toolsets.webhooks import HIDDEN, mask_secrets
from tests._mcp import call, fail
from tests.toolsets.conftest import Serve, api_key, requests_to_kupe, sandbox_client

pytestmark = pytest.mark.anyio

OUTGOING = {"outgoing": {"url": "https://crm.example.com/kupe", "enabled": True}}


async def test_webhook_secret_never_appears_in_read_or_write_output(serve: Serve) -> None:
    async with serve(webhooks) as mcp:
        rotated = await call(mcp, "rotate_webhook_secret", agent_id=DEMO_AGENT_ID)
        secret = rotated["secret"]
        outputs = [
            await call(mcp, "get_agent_webhook", agent_id=DEMO_AGENT_ID),
            await call(mcp, "set_agent_webhook", agent_id=DEMO_AGENT_ID, config=OUTGOING),
            await call(mcp, "list_webhooks"),
        ]
    assert secret.startswith("whsec_")
    for output in outputs:
        text = json.dumps(output)
        assert secret not in text
        assert secret[-4:] not in text
    assert outputs[0]["incoming"]["secret"] == HIDDEN


async def test_rotating_the_secret_returns_a_new_one_that_kupe_now_holds(serve: Serve, sandbox_app: Any) -> None:
    async with serve(webhooks) as mcp:
        first = (await call(mcp, "rotate_webhook_secret", agent_id=DEMO_AGENT_ID))["secret"]
        second = (await call(mcp, "rotate_webhook_secret", agent_id=DEMO_AGENT_ID))["secret"]
    assert first != second
    async with sandbox_client(sandbox_app, api_key()) as kupe:
        revealed = await kupe.get_agent_webhooks(DEMO_AGENT_ID, reveal_secret=True)
    assert (revealed.incoming or {})["secret"] == second


async def test_set_webhook_then_test_delivery_reports_the_configured_url(serve: Serve) -> None:
    async with serve(webhooks) as mcp:
        before = await fail(mcp, "test_agent_webhook", agent_id=DEMO_AGENT_ID)
        await call(mcp, "set_agent_webhook", agent_id=DEMO_AGENT_ID, config=OUTGOING)
        got = await call(mcp, "get_agent_webhook", agent_id=DEMO_AGENT_ID)
        listed = await call(mcp, "list_webhooks")
        delivered = await call(mcp, "test_agent_webhook", agent_id=DEMO_AGENT_ID)
    assert "has no call-ended webhook URL" in before
    assert "set_agent_webhook" in before
    assert "retry" not in before
    assert got["outgoing"]["url"] == OUTGOING["outgoing"]["url"]
    row = next(r for r in listed["items"] if r["agent_id"] == DEMO_AGENT_ID)
    assert row["outgoing_url"] == OUTGOING["outgoing"]["url"]
    assert delivered["url"] == OUTGOING["outgoing"]["url"]


async def test_bad_agent_id_names_the_field_and_never_reaches_kupe(serve: Serve, sandbox_app: Any) -> None:
    async with serve(webhooks) as mcp:
        before = requests_to_kupe(sandbox_app)
        text = await fail(mcp, "rotate_webhook_secret", agent_id="agent-1")
        assert requests_to_kupe(sandbox_app) == before
    assert "agent_id" in text


async def test_webhook_tools_declare_their_effects(serve: Serve) -> None:
    async with serve(webhooks) as mcp:
        tools = {t.name: t for t in (await mcp.list_tools()).tools}
    assert "reveal" not in json.dumps(tools["get_agent_webhook"].input_schema)
    rotate, test = tools["rotate_webhook_secret"].annotations, tools["test_agent_webhook"].annotations
    assert rotate is not None
    assert test is not None
    assert (rotate.read_only_hint, rotate.destructive_hint, rotate.idempotent_hint) == (False, True, False)
    assert (test.read_only_hint, test.open_world_hint) == (False, True)
    assert "only" in (tools["rotate_webhook_secret"].description or "")


def test_mask_secrets_hides_nested_secret_strings_but_keeps_flags_and_other_fields() -> None:
    masked = mask_secrets({"incoming": {"secret": "whsec_abc", "enabled": True}, "rows": [{"hmac_secret": "x"}]})
    assert masked == {"incoming": {"secret": HIDDEN, "enabled": True}, "rows": [{"hmac_secret": HIDDEN}]}
    assert mask_secrets({"has_secret": False, "secret": ""}) == {"has_secret": False, "secret": ""}
