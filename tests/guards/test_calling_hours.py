"""When: calling hours are judged in the destination's local time, in every zone the number may ring in."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

import pytest

from kupe_mcp.errors import CallRefused
from kupe_mcp.safety.rules import Destination
from tests._clock import FakeClock
from tests.guards.conftest import MakeGuards

DAY = "09:00-21:00"


def test_a_number_inside_its_local_calling_hours_passes(make_guards: MakeGuards, clock: FakeClock) -> None:
    clock.set(8, 0)  # 13:30 in India
    guards = make_guards(calling_hours=DAY)
    assert guards.check_hours(guards.destination("+919876543210")) is None


def test_outside_local_hours_is_refused_naming_the_local_time_there(make_guards: MakeGuards, clock: FakeClock) -> None:
    clock.set(16, 0)  # 21:30 in India
    guards = make_guards(calling_hours=DAY)
    with pytest.raises(CallRefused) as caught:
        guards.check_hours(guards.destination("+919876543210"))
    text = str(caught.value)
    assert "it is 21:30 in Asia/Calcutta" in text
    assert "09:00-21:00" in text
    assert "KUPE_CALLING_HOURS" in text
    assert "one of" not in text


def test_the_same_utc_moment_is_fine_in_one_country_and_refused_in_another(
    make_guards: MakeGuards, clock: FakeClock
) -> None:
    clock.set(16, 0)  # 09:00 in San Francisco (PDT), 21:30 in India, 17:00 in Berlin
    guards = make_guards(calling_hours=DAY)
    assert guards.check_hours(guards.destination("+14155552671")) is None
    assert guards.check_hours(guards.destination("+4930123456")) is None
    with pytest.raises(CallRefused):
        guards.check_hours(guards.destination("+919876543210"))
    clock.set(15, 59)  # 08:59 in San Francisco
    with pytest.raises(CallRefused, match="08:59 in America/Los_Angeles"):
        guards.check_hours(guards.destination("+14155552671"))


def test_a_number_spanning_zones_is_refused_when_any_zone_is_outside_the_hours(
    make_guards: MakeGuards, clock: FakeClock
) -> None:
    guards = make_guards(calling_hours=DAY)
    russian_mobile = guards.destination("+79161234567")
    assert {"Europe/Moscow", "Asia/Kamchatka"} <= set(russian_mobile.time_zones)
    clock.set(8, 0)  # 11:00 in Moscow, 10:00 in Bucharest, 20:00 in Kamchatka: inside everywhere
    assert guards.check_hours(russian_mobile) is None
    clock.set(12, 0)  # 15:00 in Moscow, but midnight in Kamchatka
    with pytest.raises(CallRefused) as caught:
        guards.check_hours(russian_mobile)
    text = str(caught.value)
    assert "one of the number's time zones" in text
    zone = next(z for z in russian_mobile.time_zones if f" in {z} " in text)
    local = clock().astimezone(ZoneInfo(zone))
    assert f"it is {local:%H:%M} in {zone}" in text
    assert not time(9) <= local.time() < time(21)


def test_a_us_toll_free_number_passes_only_in_the_hours_when_every_us_zone_is_inside(
    make_guards: MakeGuards, clock: FakeClock
) -> None:
    guards = make_guards(calling_hours=DAY)
    toll_free = guards.destination("+18005551234")
    zones = [ZoneInfo(z) for z in toll_free.time_zones]
    assert {"America/New_York", "Pacific/Honolulu", "Pacific/Guam"} <= set(toll_free.time_zones)
    refused_hours = 0
    for hour in range(24):
        clock.set(hour)
        everywhere_inside = all(time(9) <= clock().astimezone(z).time() < time(21) for z in zones)
        if everywhere_inside:
            assert guards.check_hours(toll_free) is None
            continue
        with pytest.raises(CallRefused, match="one of the number's time zones"):
            guards.check_hours(toll_free)
        refused_hours += 1
    assert refused_hours >= 20
    clock.set(16, 0)  # noon in New York, but 02:00 in Guam
    with pytest.raises(CallRefused):
        guards.check_hours(toll_free)


def test_a_window_may_wrap_midnight(make_guards: MakeGuards, clock: FakeClock) -> None:
    guards = make_guards(calling_hours="21:00-09:00")
    india = guards.destination("+919876543210")
    clock.set(16, 0)  # 21:30 in India
    assert guards.check_hours(india) is None
    clock.set(8, 0)  # 13:30 in India
    with pytest.raises(CallRefused, match="13:30"):
        guards.check_hours(india)


def test_a_window_may_end_at_midnight(make_guards: MakeGuards, clock: FakeClock) -> None:
    guards = make_guards(calling_hours="08:00-24:00")
    clock.set(18, 0)  # 23:30 in India
    assert guards.check_hours(guards.destination("+919876543210")) is None
    clock.set(1, 0)  # 06:30 in India
    with pytest.raises(CallRefused, match="08:00-24:00"):
        guards.check_hours(guards.destination("+919876543210"))


def test_calling_hours_off_allows_any_hour(make_guards: MakeGuards, clock: FakeClock) -> None:
    guards = make_guards(calling_hours="off")
    toll_free = guards.destination("+18005551234")
    for hour in range(24):
        clock.set(hour)
        assert guards.check_hours(toll_free) is None


def test_a_number_with_no_known_zone_is_allowed_with_a_note_saying_hours_were_not_checked(
    make_guards: MakeGuards,
) -> None:
    guards = make_guards(calling_hours=DAY)
    nowhere = Destination("+8823123456", "", "001", "", (), allow_listed=False)
    note = guards.check_hours(nowhere)
    assert note is not None
    assert "not checked" in note
    assert "+8823123456" in note


def test_the_default_is_nine_to_nine(make_guards: MakeGuards, clock: FakeClock) -> None:
    from kupe_mcp.config import Settings
    from kupe_mcp.safety.rules import CallGuards

    guards = CallGuards.from_settings(Settings(), clock=clock)
    assert guards.policy.hours_text == "09:00-21:00"
    clock.set(16, 0)  # 21:30 in India
    with pytest.raises(CallRefused):
        guards.plan(["+919876543210"], what="call")


def test_with_advisory_hours_a_call_outside_them_gets_a_note_saying_what_would_be_refused(
    make_guards: MakeGuards, clock: FakeClock
) -> None:
    clock.set(16, 0)  # 21:30 in India
    guards = make_guards(calling_hours=DAY, calling_hours_advisory=True)
    note = guards.check_hours(guards.destination("+919876543210"))
    assert note == (
        "It is 21:30 in Asia/Calcutta, outside the calling hours 09:00-21:00 (KUPE_CALLING_HOURS): against the "
        "real Kupe API this would be refused; the sandbox dials nothing, so it goes ahead."
    )
    plan = guards.plan(["+919876543210", "+919812345678"], what="start batch b")
    assert plan.notes == (note,)  # one note for the rows of one zone
    assert plan.count == 2


def test_the_sandbox_cli_path_and_only_it_makes_calling_hours_advisory() -> None:
    from kupe_mcp.__main__ import sandboxed_hours
    from kupe_mcp.config import Settings

    assert sandboxed_hours(Settings(sandbox=True)).calling_hours_advisory is True
    assert sandboxed_hours(Settings()).calling_hours_advisory is False
    assert Settings.from_env({"KUPE_SANDBOX": "1"}).calling_hours_advisory is False  # no variable turns it on
