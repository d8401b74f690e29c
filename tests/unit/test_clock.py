"""Call safety's one time type (``kupe_mcp.safety.clock``): what records keep, and what they may hold from before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from kupe_mcp.safety.clock import from_json, listed_time, shown_time, to_json, utc_now

AT = datetime(2026, 3, 10, 8, 0, 12, 345678, tzinfo=UTC)


def test_a_time_written_to_a_record_reads_back_equal_to_the_microsecond() -> None:
    assert to_json(AT) == "2026-03-10T08:00:12.345678Z"
    assert from_json(to_json(AT)) == AT
    assert to_json(AT.replace(microsecond=0)) == "2026-03-10T08:00:12Z"


def test_a_time_in_another_zone_is_written_as_the_same_instant_in_utc() -> None:
    india = AT.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert to_json(india) == to_json(AT)


def test_epoch_seconds_earlier_versions_stored_read_as_the_same_instant() -> None:
    epoch = AT.timestamp()
    assert from_json(epoch) == AT
    assert from_json(int(epoch)) == AT.replace(microsecond=0)
    assert from_json(repr(epoch)) == AT  # Redis slot bodies kept ``at`` as text
    assert from_json(str(int(epoch))) == AT.replace(microsecond=0)


def test_every_time_read_is_aware_utc() -> None:
    for raw in (AT.timestamp(), "2026-03-10T13:30:12.345678+05:30", "2026-03-10T08:00:12.345678", AT):
        read = from_json(raw)
        assert read.tzinfo is UTC
        assert read == AT


@pytest.mark.parametrize("raw", [None, True, "soon", "nan", "inf", float("inf"), [], {}])
def test_what_is_not_a_time_is_refused_rather_than_guessed(raw: object) -> None:
    with pytest.raises(ValueError, match="not a time"):
        from_json(raw)


def test_a_naive_time_is_refused_on_the_way_out() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        to_json(datetime(2026, 3, 10, 8, 0))


def test_people_read_a_time_in_utc_in_sentences_to_the_minute_and_in_listings_to_the_second() -> None:
    india = AT.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert shown_time(india) == "08:00 UTC"
    assert listed_time(india) == "2026-03-10T08:00:12Z"


def test_the_default_clock_is_aware_utc_wall_time() -> None:
    now = utc_now()
    assert now.tzinfo is UTC
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)
