"""Arbitrary text never crashes the destination rules, and nothing invalid is ever accepted."""

from __future__ import annotations

import phonenumbers
from hypothesis import given, settings
from hypothesis import strategies as st

from kupe_mcp.config import Settings
from kupe_mcp.errors import CallRefused
from kupe_mcp.safety.rules import CallGuards

GUARDS = {
    region: CallGuards.from_settings(Settings(calling_hours="off", default_region=region))
    for region in (None, "IN", "US", "GB")
}

digitish = st.text(alphabet="+0123456789 ()-.#*xext", max_size=30)
prefixed = st.builds(
    lambda cc, rest: f"+{cc}{rest}",
    st.sampled_from(["1", "7", "44", "49", "61", "86", "91", "92", "234", "880", "999", "0"]),
    st.text(alphabet="0123456789 ", max_size=16),
)


def accepted_or_refused(guards: CallGuards, raw: str) -> None:
    refusal: CallRefused | None = None
    try:
        dest = guards.destination(raw)
    except CallRefused as exc:
        refusal = exc
    if refusal is not None:
        assert str(refusal).startswith("Refused to call")
        return
    number = phonenumbers.parse(dest.e164)
    assert phonenumbers.is_valid_number(number)
    assert dest.e164 == phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    assert phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.PREMIUM_RATE,
        phonenumbers.PhoneNumberType.SHARED_COST,
    )


@settings(max_examples=400, deadline=None)
@given(raw=st.one_of(st.text(max_size=40), digitish, prefixed), region=st.sampled_from(list(GUARDS)))
def test_any_text_is_either_refused_with_a_sentence_or_accepted_as_a_valid_number(raw: str, region: str | None) -> None:
    accepted_or_refused(GUARDS[region], raw)


@settings(max_examples=200, deadline=None)
@given(raw=st.text(max_size=40), region=st.sampled_from(list(GUARDS)))
def test_the_whole_rule_set_never_crashes_on_any_text(raw: str, region: str | None) -> None:
    guards = GUARDS[region]
    try:
        plan = guards.plan([raw], what="call")
    except CallRefused:
        return
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(d.e164)) for d in plan.destinations)
