"""Who may be called: parsing what people type, refusing numbers that must never be rung, allow and block lists."""

from __future__ import annotations

import phonenumbers
import pytest

from kupe_mcp.errors import CallRefused, KupeError
from tests.guards.conftest import MakeGuards

PNT = phonenumbers.PhoneNumberType


def refusal(make_guards: MakeGuards, raw: str, **settings: object) -> str:
    with pytest.raises(CallRefused) as caught:
        make_guards(**settings).destination(raw)
    return str(caught.value)


def test_a_refusal_is_a_kupe_error_so_tools_report_its_sentence() -> None:
    assert issubclass(CallRefused, KupeError)


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("+91 98765 43210", "+919876543210"),
        ("+91-98765-43210", "+919876543210"),
        ("  +1 (415) 555-2671 ", "+14155552671"),
        ("+49 30 123456", "+4930123456"),
    ],
)
def test_what_people_type_is_normalised_to_e164(make_guards: MakeGuards, typed: str, e164: str) -> None:
    assert make_guards().destination(typed).e164 == e164


def test_a_destination_knows_its_country_line_type_and_time_zones(make_guards: MakeGuards) -> None:
    dest = make_guards().destination("+919876543210")
    assert dest.country == "India"
    assert dest.region == "IN"
    assert dest.kind == "mobile"
    assert dest.time_zones == ("Asia/Calcutta",)
    assert dest.describe() == "+919876543210 (India, mobile)"


def test_a_national_number_is_read_in_the_default_region(make_guards: MakeGuards) -> None:
    assert make_guards(default_region="US").destination("(415) 555-2671").e164 == "+14155552671"
    assert make_guards(default_region="in").destination("098765 43210").e164 == "+919876543210"


def test_a_national_number_without_a_default_region_is_refused_naming_the_setting(make_guards: MakeGuards) -> None:
    text = refusal(make_guards, "(415) 555-2671")
    assert "no country code" in text
    assert "KUPE_DEFAULT_REGION" in text


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("+1 555 123 4567", "not a valid phone number for US"),
        ("+919876543210123", "not a valid phone number for IN"),
        ("+91 98765 43210 98765 43210", "too long"),
        ("+91 98765", "not a valid phone number"),
        ("call my mother", "not a phone number"),
        ("", "empty"),
        ("+999 1234 5678", "country code does not exist"),
    ],
)
def test_an_invalid_number_is_refused_saying_why(make_guards: MakeGuards, raw: str, why: str) -> None:
    text = refusal(make_guards, raw)
    assert text.startswith("Refused to call")
    assert why in text


@pytest.mark.parametrize(("raw", "region"), [("112", "IN"), ("911", "US"), ("100", "IN"), ("999", "GB"), ("110", "DE")])
def test_an_emergency_number_is_refused_as_one(make_guards: MakeGuards, raw: str, region: str) -> None:
    assert "emergency number" in refusal(make_guards, raw, default_region=region)


@pytest.mark.parametrize("raw", ["112", "911", "12345", "54321"])
def test_a_short_code_without_a_region_is_refused_as_not_a_full_number(make_guards: MakeGuards, raw: str) -> None:
    text = refusal(make_guards, raw)
    assert "short code" in text
    assert "international form" in text


def test_a_short_code_in_a_known_region_is_refused_as_a_short_code(make_guards: MakeGuards) -> None:
    assert "short code" in refusal(make_guards, "12345", default_region="IN")


@pytest.mark.parametrize(
    ("region", "kind", "words"),
    [
        ("GB", PNT.PREMIUM_RATE, "premium-rate"),
        ("US", PNT.PREMIUM_RATE, "premium-rate"),
        ("IN", PNT.PREMIUM_RATE, "premium-rate"),
        ("FR", PNT.SHARED_COST, "shared-cost"),
        ("DE", PNT.SHARED_COST, "shared-cost"),
        ("IN", PNT.UAN, "universal access"),
        ("DE", PNT.VOICEMAIL, "voicemail"),
    ],
)
def test_costly_and_service_numbers_are_refused_naming_their_kind(
    make_guards: MakeGuards, region: str, kind: int, words: str
) -> None:
    example = phonenumbers.example_number_for_type(region, kind)
    assert example is not None
    raw = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    assert phonenumbers.number_type(example) == kind
    assert words in refusal(make_guards, raw)


def test_a_toll_free_number_may_be_called(make_guards: MakeGuards) -> None:
    assert make_guards().destination("+1 800 555 1234").kind == "toll-free"


def test_a_number_with_an_extension_is_refused(make_guards: MakeGuards) -> None:
    assert "extension" in refusal(make_guards, "+1 415 555 2671 ext. 12")


def test_a_blocked_prefix_refuses_every_number_under_it(make_guards: MakeGuards) -> None:
    text = refusal(make_guards, "+91 98765 43210", blocked_destinations=("+9198",))
    assert "+9198" in text
    assert "KUPE_BLOCKED_DESTINATIONS" in text
    assert make_guards(blocked_destinations=("+9198",)).destination("+919123456789").e164 == "+919123456789"


def test_a_blocked_exact_number_is_refused(make_guards: MakeGuards) -> None:
    assert "KUPE_BLOCKED_DESTINATIONS" in refusal(make_guards, "+14155552671", blocked_destinations=("+14155552671",))


def test_an_allow_list_is_exhaustive(make_guards: MakeGuards) -> None:
    guards = make_guards(allowed_destinations=("+91", "+14155552671"))
    assert guards.destination("+919876543210").allow_listed
    assert guards.destination("+1 415 555 2671").allow_listed
    text = refusal(make_guards, "+14155552672", allowed_destinations=("+91", "+14155552671"))
    assert "not on KUPE_ALLOWED_DESTINATIONS" in text


def test_blocked_wins_over_allowed(make_guards: MakeGuards) -> None:
    text = refusal(make_guards, "+919876543210", allowed_destinations=("+91",), blocked_destinations=("+919876",))
    assert "KUPE_BLOCKED_DESTINATIONS" in text


def test_without_an_allow_list_nothing_is_allow_listed(make_guards: MakeGuards) -> None:
    assert not make_guards().destination("+919876543210").allow_listed


def test_a_long_input_is_quoted_short_in_the_refusal(make_guards: MakeGuards) -> None:
    text = refusal(make_guards, "x" * 500)
    assert "x" * 41 not in text
