"""Toolset ``campaigns`` against the sandbox: a batch is created, filled, inspected and launched."""

from __future__ import annotations

from typing import Any

import pytest

from kupe_mcp.sandbox._seed import DEMO_AGENT_ID, IN_PHONE_ID
from kupe_mcp.toolsets import campaigns
from tests._mcp import call, fail, new_batch
from tests.toolsets.conftest import Serve, refused_before_kupe, requests_to_kupe

pytestmark = pytest.mark.anyio

RECIPIENTS = [
    {"phone_number": "+919876543210", "variables": {"name": "Ada", "appointment_date": "Monday"}},
    {"phone_number": "+14155550199", "variables": {"name": "Grace", "appointment_date": "Tuesday"}},
]


async def test_created_batch_with_recipients_shows_up_in_get_batch_with_counts(serve: Serve) -> None:
    async with serve(campaigns) as mcp:
        batch_id = await new_batch(mcp, "November follow-ups", batch_size=2)
        added = await call(mcp, "add_batch_recipients", batch_id=batch_id, recipients=RECIPIENTS)
        assert added["submitted"] == 2
        got = await call(mcp, "get_batch", batch_id=batch_id)
    assert got["batch"]["id"] == batch_id
    assert got["batch"]["batch_name"] == "November follow-ups"
    assert got["batch"]["batch_size"] == 2
    assert got["status_counts"]["not_started"] == 2
    assert got["status_counts"]["total"] == 2


async def test_list_batch_recipients_returns_numbers_variables_and_filters_by_status(serve: Serve) -> None:
    async with serve(campaigns) as mcp:
        batch_id = await new_batch(mcp, "November follow-ups")
        await call(mcp, "add_batch_recipients", batch_id=batch_id, recipients=RECIPIENTS)
        page = await call(mcp, "list_batch_recipients", batch_id=batch_id, page_size=1)
        waiting = await call(mcp, "list_batch_recipients", batch_id=batch_id, status="not_started")
        done = await call(mcp, "list_batch_recipients", batch_id=batch_id, status="completed")
    assert page["total"] == 2
    assert page["next_page"] == 2
    assert len(page["items"]) == 1
    assert {r["to_phonenumber"] for r in waiting["items"]} == {"+919876543210", "+14155550199"}
    assert {r["variable_values"]["name"] for r in waiting["items"]} == {"Ada", "Grace"}
    assert done["items"] == []


async def test_list_batches_lists_newest_first_and_filters_by_state(serve: Serve) -> None:
    async with serve(campaigns) as mcp:
        older = await new_batch(mcp, "November follow-ups")
        batch_id = await new_batch(mcp, "November follow-ups")
        everything = await call(mcp, "list_batches")
        fresh = await call(mcp, "list_batches", status="not_started")
        finished = await call(mcp, "list_batches", status="completed")
    assert [b["id"] for b in everything["items"]][:2] == [batch_id, older]
    assert batch_id in {b["id"] for b in fresh["items"]}
    assert batch_id not in {b["id"] for b in finished["items"]}


async def test_start_batch_dials_every_recipient_and_cannot_be_started_twice(serve: Serve, sandbox_app: Any) -> None:
    async with serve(campaigns) as mcp:
        batch_id = await new_batch(mcp, "November follow-ups", batch_size=2)
        await call(mcp, "add_batch_recipients", batch_id=batch_id, recipients=RECIPIENTS)
        started = await call(mcp, "start_batch", batch_id=batch_id)
        got = await call(mcp, "get_batch", batch_id=batch_id)
        again = await fail(mcp, "start_batch", batch_id=batch_id)
    assert started["batch_id"] == batch_id
    assert started["started"] is True
    assert got["batch"]["status"] != "not_started"
    assert got["status_counts"]["not_started"] == 0
    assert "already started" in again
    starts = [p for m, p in sandbox_app.state.sandbox.request_log if m == "POST" and "/start/" in p]
    assert len(starts) == 1


async def test_create_batch_with_both_agent_and_workflow_is_refused_before_any_request(
    serve: Serve, sandbox_app: Any
) -> None:
    async with serve(campaigns) as mcp:
        before = requests_to_kupe(sandbox_app)
        both = await fail(
            mcp,
            "create_batch",
            name="x",
            phone_number_id=IN_PHONE_ID,
            agent_id=DEMO_AGENT_ID,
            workflow_id=DEMO_AGENT_ID,
        )
        neither = await fail(mcp, "create_batch", name="x", phone_number_id=IN_PHONE_ID)
        assert requests_to_kupe(sandbox_app) == before
    for text in (both, neither):
        assert "agent_id" in text
        assert "workflow_id" in text


async def test_invalid_arguments_name_the_field_and_never_reach_kupe(serve: Serve, sandbox_app: Any) -> None:
    new_batch = {"name": "x", "phone_number_id": IN_PHONE_ID, "agent_id": DEMO_AGENT_ID}
    async with serve(campaigns) as mcp:
        await refused_before_kupe(
            mcp,
            sandbox_app,
            ("get_batch", {"batch_id": "not-a-uuid"}, "batch_id"),
            ("add_batch_recipients", {"batch_id": DEMO_AGENT_ID, "recipients": []}, "recipients"),
            ("create_batch", {**new_batch, "batch_size": 0}, "batch_size"),
        )


async def test_unknown_batch_gives_an_actionable_not_found(serve: Serve) -> None:
    async with serve(campaigns) as mcp:
        text = await fail(mcp, "add_batch_recipients", batch_id=DEMO_AGENT_ID, recipients=RECIPIENTS[:1])
    assert "404" in text
    assert "check the id" in text


async def test_start_batch_is_declared_destructive_and_warns_about_calls_and_credits(serve: Serve) -> None:
    async with serve(campaigns) as mcp:
        tools = {t.name: t for t in (await mcp.list_tools()).tools}
    start = tools["start_batch"]
    assert start.annotations is not None
    assert start.annotations.read_only_hint is False
    assert start.annotations.destructive_hint is True
    assert start.annotations.idempotent_hint is False
    assert "credits" in (start.description or "")
    assert "EVERY" in (start.description or "")
    kupe_tools = [t for n, t in tools.items() if n != "answer_call_approval"]  # the card's button stays local
    assert all(t.annotations and t.annotations.open_world_hint for t in kupe_tools)
    reads = {n for n, t in tools.items() if t.annotations and t.annotations.read_only_hint}
    assert reads == {"get_batch", "list_batch_recipients", "list_batches", "wait_for_batch"}
