"""Numbers that cost money: satellite and personal ranges, exact allow-list entries, batches that outrun the window."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from kupe_mcp.config import Settings
from kupe_mcp.errors import CallRefused, ConfigError
from kupe_mcp.safety.rules import ASSUMED_CALL_S, CallGuards, CallPlan, batch_overrun, entry_matches
from tests._clock import FakeClock
from tests.guards.conftest import MakeGuards

SATELLITE = {
    "+881631234567": "+881",  # GMSS (Iridium-class)
    "+870773111632": "+870",  # Inmarsat
    "+882161234567": "+882",  # international networks
}
UK_PERSONAL = "+447012345678"


@pytest.mark.parametrize("number", [*SATELLITE, "+883510012345"])
def test_satellite_and_international_network_numbers_are_refused_by_default(
    make_guards: MakeGuards, number: str
) -> None:
    with pytest.raises(CallRefused, match="KUPE_ALLOWED_DESTINATIONS names it") as caught:
        make_guards().destination(number)
    assert "costs far more" in str(caught.value)


def test_a_uk_070_personal_number_is_refused_by_default(make_guards: MakeGuards) -> None:
    with pytest.raises(CallRefused, match="personal"):
        make_guards().destination(UK_PERSONAL)


@pytest.mark.parametrize(("number", "range_"), SATELLITE.items())
def test_a_satellite_number_is_called_when_its_range_is_allow_listed(
    make_guards: MakeGuards, number: str, range_: str
) -> None:
    dest = make_guards(allowed_destinations=(range_,)).destination(number)
    assert (dest.e164, dest.kind) == (number, "satellite or international network")


def test_a_satellite_number_is_called_when_it_is_allow_listed_exactly(make_guards: MakeGuards) -> None:
    assert make_guards(allowed_destinations=("+881631234567",)).destination("+881631234567").allow_listed


def test_a_broad_allow_list_entry_does_not_count_as_naming_a_costly_range(make_guards: MakeGuards) -> None:
    with pytest.raises(CallRefused, match="personal"):
        make_guards(allowed_destinations=("+44",)).destination(UK_PERSONAL)
    with pytest.raises(CallRefused, match="satellite"):
        make_guards(allowed_destinations=("+8",)).destination("+881631234567")


def test_a_uk_personal_number_is_called_when_its_range_is_allow_listed(make_guards: MakeGuards) -> None:
    assert make_guards(allowed_destinations=("+4470",)).destination(UK_PERSONAL).e164 == UK_PERSONAL


def test_a_full_number_on_the_allow_list_matches_only_itself(make_guards: MakeGuards) -> None:
    # Both are valid Berlin numbers: German numbers vary in length, so one can begin with another.
    guards = make_guards(allowed_destinations=("+4930123456",))
    assert guards.destination("+4930123456").allow_listed
    with pytest.raises(CallRefused, match="not on KUPE_ALLOWED_DESTINATIONS"):
        guards.destination("+493012345678")


def test_a_starred_allow_list_entry_is_a_prefix_even_when_it_is_a_full_number(make_guards: MakeGuards) -> None:
    guards = make_guards(allowed_destinations=("+4930123456*",))
    assert guards.destination("+493012345678").allow_listed


def test_a_short_allow_list_entry_is_a_prefix_with_or_without_a_star(make_guards: MakeGuards) -> None:
    for entry in ("+1415555", "+1415555*"):
        guards = make_guards(allowed_destinations=(entry,))
        assert guards.destination("+14155552671").allow_listed
        with pytest.raises(CallRefused, match="not on KUPE_ALLOWED_DESTINATIONS"):
            guards.destination("+14165552671")


@pytest.mark.parametrize(
    ("entry", "number", "admits"),
    [
        ("+14155552671", "+14155552671", True),
        ("+4930123456", "+493012345678", False),
        ("+4930123456*", "+493012345678", True),
        ("+91", "+919876543210", True),
        ("+91*", "+919876543210", True),
        ("+1415555", "+14155552671", True),
        ("+1415555", "+14165552671", False),
    ],
)
def test_entry_matches_follows_the_documented_rule(entry: str, number: str, admits: bool) -> None:
    assert entry_matches(number, entry) is admits


def test_a_full_number_on_the_block_list_also_blocks_longer_numbers(make_guards: MakeGuards) -> None:
    with pytest.raises(CallRefused, match="KUPE_BLOCKED_DESTINATIONS"):
        make_guards(blocked_destinations=("+4930123456",)).destination("+493012345678")


def test_settings_accept_a_starred_prefix_and_refuse_a_star_in_the_middle() -> None:
    assert Settings.from_env({"KUPE_ALLOWED_DESTINATIONS": "+1415555*"}).allowed_destinations == ("+1415555*",)
    with pytest.raises(ConfigError, match="KUPE_ALLOWED_DESTINATIONS"):
        Settings.from_env({"KUPE_ALLOWED_DESTINATIONS": "+14*15"})


# -- a batch must fit in the calling window ---------------------------------------------------------

# 08:00 UTC = 13:30 in India; 09:00-21:00 there ends in 7 h 30 min.
NOW = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
HOURS = (time(9), time(21))
IN_WINDOW = timedelta(hours=7, minutes=30)


def waves_until_close() -> int:
    return int(IN_WINDOW.total_seconds() // ASSUMED_CALL_S)


def test_a_batch_whose_last_wave_starts_before_the_window_closes_fits() -> None:
    rows = waves_until_close()  # one at a time: the last wave starts just before 21:00
    assert batch_overrun(["Asia/Kolkata"], rows=rows, calls_at_once=1, now=NOW, hours=HOURS) is None


def test_a_batch_whose_last_wave_would_start_after_the_window_closes_is_caught() -> None:
    rows = waves_until_close() + 1
    over = batch_overrun(["Asia/Kolkata"], rows=rows, calls_at_once=1, now=NOW, hours=HOURS)
    assert over is not None
    zone, end, _ = over
    assert (zone, end.astimezone(UTC)) == ("Asia/Kolkata", datetime(2026, 3, 10, 15, 30, tzinfo=UTC))


def test_more_calls_at_once_make_the_same_batch_fit() -> None:
    rows = 4 * waves_until_close()
    assert batch_overrun(["Asia/Kolkata"], rows=rows, calls_at_once=1, now=NOW, hours=HOURS) is not None
    assert batch_overrun(["Asia/Kolkata"], rows=rows, calls_at_once=4, now=NOW, hours=HOURS) is None


def test_the_earliest_closing_zone_decides() -> None:
    # 08:00 UTC is 09:00 in Berlin (closes in 12 h) and 13:30 in India (closes in 7 h 30).
    rows = waves_until_close() + 10
    over = batch_overrun(["Europe/Berlin", "Asia/Kolkata"], rows=rows, calls_at_once=1, now=NOW, hours=HOURS)
    assert over is not None
    assert over[0] == "Asia/Kolkata"


def test_a_window_that_wraps_midnight_ends_the_next_morning() -> None:
    late = datetime(2026, 3, 10, 22, 0, tzinfo=UTC)  # 22:00 in UTC, inside 21:00-09:00
    wraps = (time(21), time(9))
    assert batch_overrun(["UTC"], rows=100, calls_at_once=1, now=late, hours=wraps) is None  # 99 waves: ~5 h
    assert batch_overrun(["UTC"], rows=300, calls_at_once=1, now=late, hours=wraps) is not None


def test_no_calling_hours_means_no_overrun() -> None:
    assert batch_overrun(["Asia/Kolkata"], rows=10_000, calls_at_once=1, now=NOW, hours=None) is None


def test_check_pace_refuses_a_long_batch_with_one_sentence_saying_what_to_do(clock: FakeClock) -> None:
    guards = CallGuards.from_settings(Settings(calling_hours="09:00-21:00"), clock=clock)
    dest = guards.destination("+919876543210")
    plan = CallPlan((dest,) * (waves_until_close() + 1), True, (), (), 0)
    with pytest.raises(CallRefused) as caught:
        guards.check_pace(plan, calls_at_once=1, what="start batch b1")
    text = str(caught.value)
    assert text.startswith("Refused to start batch b1: dialled 1 at a time")
    assert f"end in {dest.time_zones[0]} in 450 min" in text
    assert "raise its batch_size" in text
    guards.check_pace(plan, calls_at_once=2, what="start batch b1")  # twice as fast fits


@pytest.mark.parametrize("reported", [None, "", "many", 0])
def test_an_unreadable_batch_size_counts_as_one_call_at_a_time(clock: FakeClock, reported: object) -> None:
    guards = CallGuards.from_settings(Settings(calling_hours="09:00-21:00"), clock=clock)
    dest = guards.destination("+919876543210")
    plan = CallPlan((dest,) * (waves_until_close() + 1), True, (), (), 0)
    with pytest.raises(CallRefused, match="dialled 1 at a time"):
        guards.check_pace(plan, calls_at_once=reported, what="start batch b1")
