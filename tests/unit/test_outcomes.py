"""The typed outcomes of the write tools (``kupe_mcp.safety.outcomes``): the published schema and stored records."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from pydantic import SecretStr

from kupe_mcp.config import Credentials, Settings
from kupe_mcp.safety.outcomes import (
    Answer,
    ApprovalPending,
    ConfirmationRequired,
    Declined,
    DryRun,
    OutcomeUnknown,
    Placed,
    Started,
    batch_outcome,
    call_outcome,
    must_replay,
    recorded,
    unknown,
)
from kupe_mcp.serve.server import create_server

pytestmark = pytest.mark.anyio

SHARED: list[Answer] = [
    DryRun(preview={"destination": "+919876543210"}, confirmation="asked", calls_left_this_hour=4, estimate_basis="-"),
    ApprovalPending(approval_id="a1b2c3d4", channel="link", expires_in_s=600, preview={}, next="open it"),
    ConfirmationRequired(preview={}, confirmation_token="tok", expires_in_s=300, next="bring it back"),
    Declined(reason="The person declined"),
    unknown("place_call"),
]


async def _published(tool: str) -> dict[str, Any]:
    settings = Settings(toolsets=("all",), credentials=Credentials(bearer_token=SecretStr("t")))
    (schema,) = [t.output_schema for t in await create_server(settings).list_tools() if t.name == tool]
    assert schema is not None
    return schema


def _without_nulls(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}  # as compact_text sends it


def _branches_matching(schema: dict[str, Any], value: dict[str, Any]) -> int:
    return sum(jsonschema.Draft202012Validator(b).is_valid(value) for b in schema["oneOf"])


async def test_every_place_call_outcome_matches_its_published_schema_and_exactly_one_branch() -> None:
    schema = await _published("place_call")
    outcomes = [call_outcome(a) for a in [*SHARED, Placed(request_id="r1", next="wait_for_call")]]
    assert {o.root.outcome for o in outcomes} == set(schema["properties"]["outcome"]["enum"])
    for outcome in outcomes:
        for value in (outcome.model_dump(mode="json"), _without_nulls(outcome.model_dump(mode="json"))):
            jsonschema.validate(value, schema)
            assert _branches_matching(schema, value) == 1, value


async def test_every_start_batch_outcome_matches_its_published_schema_and_exactly_one_branch() -> None:
    schema = await _published("start_batch")
    outcomes = [batch_outcome(a, "b-1") for a in [*SHARED, Started(batch_id="b-1")]]
    assert {o.root.outcome for o in outcomes} == set(schema["properties"]["outcome"]["enum"])
    for outcome in outcomes:
        value = _without_nulls(outcome.model_dump(mode="json"))
        assert value["batch_id"] == "b-1"
        jsonschema.validate(value, schema)
        assert _branches_matching(schema, value) == 1, value


@pytest.mark.parametrize(
    ("tool", "value"),
    [
        ("place_call", {"outcome": "placed", "placed": False, "next": "x"}),  # placed, yet not placed
        ("place_call", {"outcome": "declined", "placed": False, "declined": True}),  # no reason
        ("place_call", {"outcome": "approval_pending", "placed": False, "approval_required": True}),
        ("place_call", {"placed": False, "declined": True, "reason": "no"}),  # which outcome is it?
        ("start_batch", {"outcome": "declined", "started": False, "declined": True, "reason": "no"}),  # no batch_id
        ("start_batch", {"outcome": "placed", "placed": True, "next": "x", "batch_id": "b", "started": True}),
    ],
)
async def test_the_published_schema_refuses_an_answer_no_variant_describes(tool: str, value: dict[str, Any]) -> None:
    schema = await _published(tool)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(value, schema)


async def test_the_published_schema_is_a_flat_object_not_a_wrapped_union() -> None:
    for tool in ("place_call", "start_batch"):
        schema = await _published(tool)
        assert schema["type"] == "object"
        assert "outcome" in schema["required"]
        assert "result" not in schema["properties"]
        assert "$defs" not in schema
        assert "$ref" not in str(schema)


def test_a_stored_outcome_reads_back_as_the_same_variant() -> None:
    placed = Placed(request_id="r1", next="wait_for_call", variable_values_applied=True)
    pending = SHARED[1]
    assert recorded(placed.model_dump(mode="json"), "place_call") == placed
    assert recorded(pending.model_dump(mode="json"), "place_call") == pending


@pytest.mark.parametrize(
    "stored",
    [
        {"placed": True, "request_id": "r1"},  # written before outcomes were typed: no outcome field
        {"outcome": "placed"},  # damaged: no next
        "placed",
        None,
    ],
)
def test_a_stored_record_that_no_longer_reads_as_an_outcome_is_unknown_and_never_redialled(stored: Any) -> None:
    read = recorded(stored, "place_call")
    assert isinstance(read, OutcomeUnknown)
    assert "place_call" in read.reason
    assert call_outcome(read).root.placed is False


def test_only_a_dial_or_a_person_being_asked_keeps_the_idempotency_key() -> None:
    kept = [o for o in [*SHARED, Placed(next="x"), Started(batch_id="b")] if must_replay(o)]
    assert [type(o) for o in kept] == [ApprovalPending, Placed, Started]
