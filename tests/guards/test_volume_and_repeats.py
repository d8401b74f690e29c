"""How often: the hourly cap (a batch counts its rows) and the repeat window that names the earlier call."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import count

import pytest

from kupe_mcp.errors import CallRefused
from kupe_mcp.safety.rules import CallGuards, CallPlan, Recent, Slot
from tests._clock import FakeClock
from tests.guards.conftest import MakeGuards

NUMBERS = [f"+9198765432{i:02d}" for i in range(30)]


@dataclass
class Ledger:
    """The slots a state store would hold, so the pure rules can be judged over them."""

    guards: CallGuards
    slots: list[Slot] = field(default_factory=list)
    ids: count[int] = field(default_factory=count)

    @property
    def recent(self) -> Recent:
        return Recent(tuple(self.slots), tuple((s.at, s.count) for s in self.slots))

    def plan(self, numbers: list[str], what: str = "call") -> CallPlan:
        return self.guards.plan(numbers, what=what, recent=self.recent)

    def reserve(self, numbers: list[str], what: str = "call") -> Slot:
        plan = self.plan(numbers, what)
        slot = Slot(str(next(self.ids)), self.guards.clock(), plan.count, tuple(d.e164 for d in plan.destinations))
        self.slots.append(slot)
        return slot

    def commit(self, slot: Slot, ref: str) -> None:
        self.slots[self.slots.index(slot)] = replace(slot, ref=ref, state="placed")

    def release(self, slot: Slot) -> None:
        self.slots.remove(slot)


def place(guards: Ledger, number: str, ref: str) -> None:
    """What place_call does after the person said yes: plan, reserve, dial, commit."""
    guards.commit(guards.reserve([number], what=f"call {number}"), ref)


def test_calls_under_the_hourly_cap_pass_and_say_how_many_are_left(make_guards: MakeGuards) -> None:
    guards = Ledger(make_guards(max_calls_per_hour=3))
    assert guards.plan([NUMBERS[0]], what="call").calls_left_this_hour == 2
    place(guards, NUMBERS[0], "request_id a")
    assert guards.plan([NUMBERS[1]], what="call").calls_left_this_hour == 1


def test_the_call_over_the_hourly_cap_is_refused_saying_when_a_slot_frees(
    make_guards: MakeGuards, clock: FakeClock
) -> None:
    guards = Ledger(make_guards(max_calls_per_hour=2))
    place(guards, NUMBERS[0], "request_id a")  # 08:00
    clock.advance(600)
    place(guards, NUMBERS[1], "request_id b")  # 08:10
    clock.advance(600)
    with pytest.raises(CallRefused) as caught:
        guards.plan([NUMBERS[2]], what=f"call {NUMBERS[2]}")
    text = str(caught.value)
    assert "KUPE_MAX_CALLS_PER_HOUR is 2" in text
    assert "09:00 UTC" in text
    assert "in about 40 min" in text
    clock.advance(40 * 60 + 1)
    assert guards.plan([NUMBERS[2]], what="call").calls_left_this_hour == 0


def test_a_batch_counts_every_row_against_the_hourly_cap(make_guards: MakeGuards, clock: FakeClock) -> None:
    guards = Ledger(make_guards(max_calls_per_hour=5))
    held = guards.reserve(NUMBERS[:3], what="start batch b1")
    guards.commit(held, "batch b1")
    with pytest.raises(CallRefused) as caught:
        guards.plan(NUMBERS[3:6], what="start batch b2")
    assert str(caught.value).startswith("Refused to start batch b2: 3 calls were placed in the last hour")
    assert guards.plan(NUMBERS[3:5], what="start batch b2").calls_left_this_hour == 0


def test_a_batch_bigger_than_the_hourly_cap_can_never_start_and_says_so(make_guards: MakeGuards) -> None:
    with pytest.raises(CallRefused) as caught:
        Ledger(make_guards(max_calls_per_hour=5)).plan(NUMBERS[:6], what="start batch big")
    text = str(caught.value)
    assert "6 calls is more than KUPE_MAX_CALLS_PER_HOUR (5)" in text
    assert "split" in text


def test_a_released_reservation_gives_its_slot_back(make_guards: MakeGuards) -> None:
    guards = Ledger(make_guards(max_calls_per_hour=1))
    held = guards.reserve([NUMBERS[0]])
    with pytest.raises(CallRefused):
        guards.plan([NUMBERS[1]], what="call")
    guards.release(held)
    assert guards.plan([NUMBERS[1]], what="call").calls_left_this_hour == 0
    assert guards.guards.prior_call(guards.recent, NUMBERS[0]) is None


def test_a_held_reservation_counts_so_concurrent_calls_cannot_both_fit(make_guards: MakeGuards) -> None:
    guards = Ledger(make_guards(max_calls_per_hour=1))
    guards.reserve([NUMBERS[0]])
    with pytest.raises(CallRefused):
        guards.plan([NUMBERS[1]], what="call")


def test_calling_a_number_again_within_the_window_names_the_earlier_call(
    make_guards: MakeGuards, clock: FakeClock
) -> None:
    guards = Ledger(make_guards(repeat_window_s=300))
    place(guards, "+919876543210", "request_id r-1")
    clock.advance(120)
    plan = guards.plan(["+91 98765 43210"], what="call")
    assert plan.needs_confirmation
    (prior,) = plan.prior
    assert prior.ref == "request_id r-1"
    assert prior.describe() == "request_id r-1 at 08:00 UTC"
    assert guards.plan(["+919876543211"], what="call").prior == ()


def test_after_the_repeat_window_the_earlier_call_is_no_longer_named(make_guards: MakeGuards, clock: FakeClock) -> None:
    guards = Ledger(make_guards(repeat_window_s=300))
    place(guards, "+919876543210", "request_id r-1")
    clock.advance(301)
    assert guards.plan(["+919876543210"], what="call").prior == ()


def test_a_started_batch_counts_as_an_earlier_call_to_each_of_its_numbers(make_guards: MakeGuards) -> None:
    guards = Ledger(make_guards())
    held = guards.reserve(NUMBERS[:3], what="start batch b1")
    guards.commit(held, "batch b1")
    (prior,) = guards.plan([NUMBERS[1]], what="call").prior
    assert prior.ref == "batch b1"


def test_confirmation_is_needed_by_default(make_guards: MakeGuards) -> None:
    assert Ledger(make_guards()).plan([NUMBERS[0]], what="call").needs_confirmation
    assert Ledger(make_guards(allowed_destinations=("+91",))).plan([NUMBERS[0]], what="call").needs_confirmation


def test_confirm_calls_off_skips_confirmation_only_for_allow_listed_destinations(make_guards: MakeGuards) -> None:
    unattended = Ledger(make_guards(confirm_calls=False, allowed_destinations=("+91",)))
    assert not unattended.plan([NUMBERS[0]], what="call").needs_confirmation
    assert not unattended.plan(NUMBERS[:3], what="start batch").needs_confirmation
    without_list = Ledger(make_guards(confirm_calls=False))
    assert without_list.plan([NUMBERS[0]], what="call").needs_confirmation


def test_confirm_calls_off_never_widens_who_may_be_called(make_guards: MakeGuards) -> None:
    unattended = Ledger(make_guards(confirm_calls=False, allowed_destinations=("+91",)))
    with pytest.raises(CallRefused, match="not on KUPE_ALLOWED_DESTINATIONS"):
        unattended.plan(["+14155552671"], what="call")


def test_a_repeat_needs_confirmation_even_when_confirmation_is_off(make_guards: MakeGuards) -> None:
    guards = Ledger(make_guards(confirm_calls=False, allowed_destinations=("+91",)))
    place(guards, NUMBERS[0], "request_id r-1")
    plan = guards.plan([NUMBERS[0]], what="call")
    assert plan.needs_confirmation
    assert plan.prior[0].ref == "request_id r-1"


def test_a_batch_with_refused_rows_is_refused_listing_them(make_guards: MakeGuards) -> None:
    rows = ["+919876543210", "112", "+44 909 876 5432", "+14155552671", "garbage", "+1 555 123 4567"]
    with pytest.raises(CallRefused) as caught:
        Ledger(make_guards()).plan(rows, what="start batch b1")
    text = str(caught.value)
    assert text.startswith("Refused to start batch b1: 4 of 6 numbers may not be called now")
    assert "'112': it is a short code" in text
    assert "premium-rate" in text
    assert "(and 1 more)" in text
    assert "fix or remove those rows" in text


def test_the_operator_wide_cap_counts_every_tenants_calls(make_guards: MakeGuards) -> None:
    guards = make_guards(max_calls_per_hour=10, max_calls_per_hour_total=3)
    now = guards.clock()
    everyone = Recent((), ((now, 2), (now, 1)))  # three calls by other tenants; none by this one
    with pytest.raises(CallRefused) as caught:
        guards.plan([NUMBERS[0]], what="call", recent=everyone)
    assert "KUPE_MAX_CALLS_PER_HOUR_TOTAL (for the whole server) is 3" in str(caught.value)
    assert guards.plan([NUMBERS[0]], what="call", recent=Recent((), ((now, 2),))).calls_left_this_hour == 9


def test_an_attempt_whose_outcome_is_unknown_is_named_for_the_whole_hour(
    make_guards: MakeGuards, clock: FakeClock
) -> None:
    guards = Ledger(make_guards(repeat_window_s=300))
    slot = guards.reserve([NUMBERS[0]])
    guards.slots[0] = replace(slot, ref="an attempt whose answer was lost", state="unknown")
    clock.advance(30 * 60)
    (prior,) = guards.plan([NUMBERS[0]]).prior
    assert prior.ref == "an attempt whose answer was lost"
    clock.advance(30 * 60 + 1)
    assert guards.plan([NUMBERS[0]]).prior == ()
