"""The call-safety settings: read from the environment, each mistake named in one sentence."""

from __future__ import annotations

from datetime import time

import pytest

from kupe_mcp.config import Settings, parse_calling_hours
from kupe_mcp.errors import ConfigError
from kupe_mcp.safety.rules import CallPolicy


def test_defaults_are_the_safe_ones() -> None:
    settings = Settings.from_env({})
    assert settings.calling_hours == (time(9), time(21))
    assert settings.confirm_calls is True
    assert settings.repeat_window_s == 300
    assert settings.max_calls_per_hour == 20
    assert settings.allowed_destinations == ()
    assert settings.blocked_destinations == ()
    assert settings.default_region is None


def test_calling_hours_are_parsed_once_into_the_window_the_rules_read() -> None:
    """The setting holds the parsed window (or None for off); the rules take it as it is, never the text."""
    assert Settings(calling_hours=" 21:00 - 07:30 ").calling_hours == (time(21), time(7, 30))
    assert Settings(calling_hours="off").calling_hours is None
    assert Settings.from_env({"KUPE_CALLING_HOURS": "off"}).calling_hours is None
    assert CallPolicy.from_settings(Settings(calling_hours="08:00-24:00")).hours == (time(8), time(23, 59, 59, 999999))


def test_every_call_safety_variable_is_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "KUPE_DEFAULT_REGION": "in",
            "KUPE_ALLOWED_DESTINATIONS": "+91, +1 415 555 2671",
            "KUPE_BLOCKED_DESTINATIONS": "+9198765",
            "KUPE_CALLING_HOURS": "08:30-20:00",
            "KUPE_CONFIRM_CALLS": "off",
            "KUPE_REPEAT_WINDOW_S": "60",
            "KUPE_MAX_CALLS_PER_HOUR": "5",
        }
    )
    policy = CallPolicy.from_settings(settings)
    assert policy.default_region == "IN"
    assert policy.allowed == ("+91", "+14155552671")
    assert policy.blocked == ("+9198765",)
    assert policy.hours == (time(8, 30), time(20))
    assert policy.confirm is False
    assert policy.repeat_window_s == 60
    assert policy.max_per_hour == 5


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KUPE_DEFAULT_REGION", "India"),
        ("KUPE_ALLOWED_DESTINATIONS", "+91,919876543210"),
        ("KUPE_BLOCKED_DESTINATIONS", "+91x"),
        ("KUPE_CALLING_HOURS", "9 to 5"),
        ("KUPE_CALLING_HOURS", "10:00-10:00"),
        ("KUPE_CONFIRM_CALLS", "sometimes"),
        ("KUPE_REPEAT_WINDOW_S", "five minutes"),
        ("KUPE_REPEAT_WINDOW_S", "-1"),
        ("KUPE_MAX_CALLS_PER_HOUR", "lots"),
        ("KUPE_MAX_CALLS_PER_HOUR", "0"),
    ],
)
def test_a_bad_value_is_a_config_error_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({name: value})
    assert name in str(caught.value)


def test_an_unknown_default_region_stops_start_up() -> None:
    with pytest.raises(ConfigError, match="KUPE_DEFAULT_REGION='XX'"):
        CallPolicy.from_settings(Settings(default_region="XX"))


@pytest.mark.parametrize(("raw", "window"), [("off", None), ("OFF", None), ("9:00 - 17:30", (time(9), time(17, 30)))])
def test_calling_hours_parse(raw: str, window: tuple[time, time] | None) -> None:
    assert parse_calling_hours(raw) == window
