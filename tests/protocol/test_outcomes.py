"""Each typed outcome of place_call and start_batch, produced in its real situation through an MCP client.

Every result is checked against the output schema the tool publishes in ``tools/list``: it must match it, and match
exactly one of its ``oneOf`` branches (the one its ``outcome`` names), so a client can tell the variants apart.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from mcp.client import Client

from kupe_mcp.client import CallStarted, KupeClient
from kupe_mcp.errors import CallOutcomeUnknown
from kupe_mcp.sandbox._seed import DEMO_AGENT_ID, IN_PHONE_ID
from tests._mcp import call, say_yes
from tests._safety import Setup
from tests.protocol.test_call_safety import Person

pytestmark = pytest.mark.anyio

INDIA = "+919876543210"
CALL = {"phone_number": INDIA, "agent_id": DEMO_AGENT_ID}


async def checked(mcp: Client, tool: str, /, **args: Any) -> dict[str, Any]:
    """``tool``'s structured result, once it is shown to match the tool's own output schema and one branch of it."""
    (schema,) = [t.output_schema for t in (await mcp.list_tools()).tools if t.name == tool]
    assert schema is not None
    result = await call(mcp, tool, **args)
    jsonschema.validate(result, schema)
    matched = [b for b in schema["oneOf"] if jsonschema.Draft202012Validator(b).is_valid(result)]
    assert len(matched) == 1, matched
    assert matched[0]["properties"]["outcome"] == {"const": result["outcome"]}
    return result


async def test_a_call_that_needs_no_question_is_placed_with_its_request_id(setup: Any) -> None:
    s: Setup = setup(confirm_calls=False, allowed_destinations=("+91",))
    async with s.client() as mcp:
        out = await checked(mcp, "place_call", **CALL)
    assert (out["outcome"], out["placed"]) == ("placed", True)
    assert isinstance(out["request_id"], str)
    assert f"wait_for_call(request_id={out['request_id']})" in out["next"]
    assert s.calls_placed() == 1


async def test_a_dry_run_is_a_dry_run_outcome_and_dials_nothing(setup: Any) -> None:
    s: Setup = setup()
    async with s.client() as mcp:
        out = await checked(mcp, "place_call", **CALL, dry_run=True)
    assert (out["outcome"], out["placed"], out["dry_run"], out["checks"]) == ("dry_run", False, True, "passed")
    assert out["preview"]["destination"] == INDIA
    assert isinstance(out["calls_left_this_hour"], int)
    assert s.calls_placed() == 0


async def test_a_client_that_cannot_ask_gets_an_approval_pending_with_its_link(setup: Any) -> None:
    s: Setup = setup()
    async with s.client() as mcp:
        out = await checked(mcp, "place_call", **CALL)
    assert (out["outcome"], out["placed"], out["approval_required"], out["channel"]) == (
        "approval_pending",
        False,
        True,
        "link",
    )
    assert out["approval_url"].endswith(f"/approvals/{out['approval_id']}")
    assert s.calls_placed() == 0


async def test_the_token_fallback_answers_confirmation_required_with_its_token(setup: Any) -> None:
    s: Setup = setup(confirm_fallback="token")
    async with s.client() as mcp:
        out = await checked(mcp, "place_call", **CALL)
    assert (out["outcome"], out["placed"], out["confirmation_required"]) == ("confirmation_required", False, True)
    assert out["confirmation_token"]
    assert "approval_id" not in out  # nothing is stored for a person to answer: it is not a pending approval
    assert s.calls_placed() == 0


async def test_a_person_who_does_not_tick_confirm_gets_a_declined_outcome(setup: Any) -> None:
    s: Setup = setup()
    async with s.client(Person(action="accept", confirm=False)) as mcp:
        out = await checked(mcp, "place_call", **CALL)
    assert (out["outcome"], out["placed"], out["declined"]) == ("declined", False, True)
    assert "did not tick" in out["reason"]
    assert s.calls_placed() == 0


async def test_a_retry_after_a_lost_answer_gets_outcome_unknown_and_dials_nothing_more(
    setup: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    s: Setup = setup()
    real = KupeClient.create_call

    async def lost(self: Any, *args: Any, **kwargs: Any) -> Any:
        await real(self, *args, **kwargs)  # Kupe dials, and its answer is lost
        raise CallOutcomeUnknown("the connection dropped", method="POST", path="/api/call/create_call")

    monkeypatch.setattr(KupeClient, "create_call", lost)
    async with s.client(say_yes) as mcp:
        broken = await mcp.call_tool("place_call", {**CALL, "idempotency_key": "lost-0001"})
        out = await checked(mcp, "place_call", **CALL, idempotency_key="lost-0001")
    assert broken.is_error
    assert (out["outcome"], out["placed"], out["outcome_unknown"]) == ("outcome_unknown", False, True)
    assert "not dialled again" in out["reason"]
    assert s.calls_placed() == 1


async def test_a_kupe_answer_with_our_field_names_and_odd_ones_is_still_placed_and_only_placed(
    setup: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    s: Setup = setup(confirm_calls=False, allowed_destinations=("+91",))
    real = KupeClient.create_call

    async def odd(self: Any, *args: Any, **kwargs: Any) -> CallStarted:
        started = await real(self, *args, **kwargs)
        extra = {"outcome": "declined", "declined": True, "placed": "no", "reason": "?", "surprise": {"a": [1]}}
        return CallStarted.model_validate({**started.to_json(), **extra})

    monkeypatch.setattr(KupeClient, "create_call", odd)
    async with s.client() as mcp:
        out = await checked(mcp, "place_call", **CALL)
    assert (out["outcome"], out["placed"]) == ("placed", True)
    assert {"declined", "reason", "surprise"}.isdisjoint(out)
    assert out["kupe"]["surprise"] == {"a": [1]}  # Kupe's answer is kept whole, beside the outcome
    assert out["kupe"]["request_id"] == out["request_id"]
    assert s.calls_placed() == 1


async def _filled_batch(mcp: Client) -> str:
    created = await call(
        mcp,
        "create_batch",
        name="Outcomes",
        phone_number_id=IN_PHONE_ID,
        agent_id=DEMO_AGENT_ID,
        variable_names=["name", "appointment_date"],
    )
    rows = [{"phone_number": INDIA, "variables": {"name": "Ada", "appointment_date": "2 May"}}]
    await call(mcp, "add_batch_recipients", batch_id=created["id"], recipients=rows)
    batch_id = created["id"]
    assert isinstance(batch_id, str)
    return batch_id


async def test_start_batch_answers_the_same_outcomes_with_its_batch_id_and_started(setup: Any) -> None:
    s: Setup = setup()
    async with s.client() as mcp:
        bid = await _filled_batch(mcp)
        dry = await checked(mcp, "start_batch", batch_id=bid, dry_run=True)
        pending = await checked(mcp, "start_batch", batch_id=bid)
    assert (dry["outcome"], dry["batch_id"], dry["started"]) == ("dry_run", bid, False)
    assert (pending["outcome"], pending["batch_id"], pending["started"]) == ("approval_pending", bid, False)
    assert "placed" not in dry


async def test_a_started_batch_is_a_started_outcome(setup: Any) -> None:
    s: Setup = setup()
    async with s.client(say_yes) as mcp:
        bid = await _filled_batch(mcp)
        out = await checked(mcp, "start_batch", batch_id=bid)
    assert (out["outcome"], out["batch_id"], out["started"]) == ("started", bid, True)
