"""Confirmation tokens for clients without elicitation: single use, bound to the exact request, five minutes.

The store takes a token's record atomically (tests/state); the rule judging the record is pure.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from kupe_mcp.errors import CallRefused
from kupe_mcp.safety.rules import TOKEN_TTL_S, request_digest
from kupe_mcp.safety.state import StateKeys
from tests._clock import FakeClock
from tests.guards.conftest import MakeGuards

DIGEST = request_digest("place_call", to="+919876543210", agent_id="a1", variable_values={"name": "Ada"})


def test_a_token_record_for_the_same_request_within_its_life_passes(make_guards: MakeGuards, clock: FakeClock) -> None:
    guards = make_guards()
    guards.check_token((DIGEST, clock() + timedelta(seconds=TOKEN_TTL_S)), DIGEST)


def test_a_token_for_other_arguments_is_refused(make_guards: MakeGuards, clock: FakeClock) -> None:
    other = request_digest("place_call", to="+919876543210", agent_id="a1", variable_values={"name": "Eve"})
    with pytest.raises(CallRefused, match="issued for different arguments"):
        make_guards().check_token((DIGEST, clock() + timedelta(seconds=60)), other)


def test_a_token_expires_after_five_minutes(make_guards: MakeGuards, clock: FakeClock) -> None:
    guards = make_guards()
    expires = clock() + timedelta(seconds=TOKEN_TTL_S)
    clock.advance(TOKEN_TTL_S - 1)
    guards.check_token((DIGEST, expires), DIGEST)
    clock.advance(1)
    with pytest.raises(CallRefused, match="expired"):
        guards.check_token((DIGEST, expires), DIGEST)


def test_an_unknown_or_used_token_is_refused(make_guards: MakeGuards) -> None:
    with pytest.raises(CallRefused, match="unknown or already used"):
        make_guards().check_token(None, DIGEST)


def test_tokens_are_random_and_stored_only_under_a_keyed_digest() -> None:
    keys = StateKeys.from_secret("a-long-operator-secret-0123456789")
    tokens = {keys.new_token() for _ in range(50)}
    assert len(tokens) == 50
    assert all(len(t) >= 32 for t in tokens)
    token = next(iter(tokens))
    assert token not in keys.token_id(token)
    assert keys.token_id(token) != StateKeys.from_secret("another-operator-secret-98765").token_id(token)


def test_the_digest_ignores_argument_order_but_not_values() -> None:
    one = request_digest("place_call", to="+1", variable_values={"a": "1", "b": "2"})
    same = request_digest("place_call", variable_values={"b": "2", "a": "1"}, to="+1")
    assert one == same
    assert one != request_digest("place_call", to="+1", variable_values={"a": "1", "b": "3"})
    assert one != request_digest("start_batch", to="+1", variable_values={"a": "1", "b": "2"})
