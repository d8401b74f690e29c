"""Confirmation tokens for clients without elicitation: single use, bound to the exact request, five minutes."""

from __future__ import annotations

import pytest

from kupe_mcp.errors import CallRefused
from kupe_mcp.guards import TOKEN_TTL_S, request_digest
from tests._clock import FakeClock
from tests.guards.conftest import MakeGuards

DIGEST = request_digest("place_call", to="+919876543210", agent_id="a1", variable_values={"name": "Ada"})


def test_a_token_is_accepted_once_for_the_request_it_was_issued_for(make_guards: MakeGuards) -> None:
    guards = make_guards()
    token = guards.issue_token(DIGEST)
    guards.redeem_token(token, DIGEST)
    with pytest.raises(CallRefused, match="unknown or already used"):
        guards.redeem_token(token, DIGEST)


def test_a_token_for_other_arguments_is_refused_and_used_up(make_guards: MakeGuards) -> None:
    guards = make_guards()
    token = guards.issue_token(DIGEST)
    other = request_digest("place_call", to="+919876543210", agent_id="a1", variable_values={"name": "Eve"})
    with pytest.raises(CallRefused, match="issued for different arguments"):
        guards.redeem_token(token, other)
    with pytest.raises(CallRefused, match="already used"):
        guards.redeem_token(token, DIGEST)


def test_a_token_expires_after_five_minutes(make_guards: MakeGuards, clock: FakeClock) -> None:
    guards = make_guards()
    fresh, stale = guards.issue_token(DIGEST), guards.issue_token(DIGEST)
    clock.advance(TOKEN_TTL_S - 1)
    guards.redeem_token(fresh, DIGEST)
    clock.advance(1)
    with pytest.raises(CallRefused, match="expired"):
        guards.redeem_token(stale, DIGEST)


def test_an_invented_token_is_refused(make_guards: MakeGuards) -> None:
    with pytest.raises(CallRefused, match="unknown"):
        make_guards().redeem_token("made-up", DIGEST)


def test_tokens_are_random_and_each_is_distinct(make_guards: MakeGuards) -> None:
    guards = make_guards()
    tokens = {guards.issue_token(DIGEST) for _ in range(50)}
    assert len(tokens) == 50
    assert all(len(t) >= 32 for t in tokens)


def test_the_digest_ignores_argument_order_but_not_values() -> None:
    one = request_digest("place_call", to="+1", variable_values={"a": "1", "b": "2"})
    same = request_digest("place_call", variable_values={"b": "2", "a": "1"}, to="+1")
    assert one == same
    assert one != request_digest("place_call", to="+1", variable_values={"a": "1", "b": "3"})
    assert one != request_digest("start_batch", to="+1", variable_values={"a": "1", "b": "2"})
