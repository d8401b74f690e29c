"""Prompt variables and the balance warning as pure rules (the tools using them: tests/protocol/test_call_safety.py)."""

from __future__ import annotations

import pytest

from kupe_mcp.errors import CallRefused
from kupe_mcp.safety.variables import (
    agent_placeholders,
    balance_warning,
    check_batch_rows,
    check_call_values,
    check_variable_names,
    placeholders,
)

AGENT = {
    "agent": {"id": "a1", "first_response_message": "Hi {{ name }}, this is Acme."},
    "configurations": {"model_config": {"system_prompt": "Confirm {{date}} at {{time}} with {{name}}."}},
}


def test_placeholders_are_found_once_each_in_order_with_or_without_inner_spaces() -> None:
    assert placeholders("Hi {{name}} {{ date }}", None, "{{name}} again, {{first.name}}; {not} {{1x}}") == (
        "name",
        "date",
        "first.name",
    )


def test_an_agents_placeholders_come_from_its_system_prompt_then_its_welcome_message() -> None:
    assert agent_placeholders(AGENT) == ("date", "time", "name")
    assert agent_placeholders({"agent": {"id": "a"}, "configurations": None}) == ()


def test_a_call_missing_a_value_is_refused_naming_what_is_missing_and_every_expected_name() -> None:
    with pytest.raises(CallRefused) as caught:
        check_call_values(("date", "time", "name"), {"name": "Ada", "date": "Monday"}, what="call +919876543210")
    assert str(caught.value) == (
        "Refused to call +919876543210: the agent's prompt uses {{time}} and variable_values gives no value for "
        "time; pass variable_values with every one of: date, time, name."
    )


def test_a_misspelt_value_name_is_refused_and_the_refusal_points_at_the_misspelling() -> None:
    with pytest.raises(CallRefused, match=r"did you mean 'nmae' for name\?"):
        check_call_values(("name",), {"nmae": "Ada"}, what="call x")


def test_an_empty_value_fills_nothing() -> None:
    with pytest.raises(CallRefused, match="no value for name"):
        check_call_values(("name",), {"name": "  "}, what="call x")


def test_complete_values_pass_and_values_the_prompt_does_not_use_are_only_noted() -> None:
    assert check_call_values(("name",), {"name": "Ada"}, what="call x") == []
    assert check_call_values((), None, what="call x") == []
    assert check_call_values(("name",), {"name": "Ada", "notes": "vip"}, what="call x") == [
        "variable_values also sets notes, which the agent's prompt does not use."
    ]


def test_a_batch_whose_variable_names_leave_a_placeholder_out_is_refused() -> None:
    with pytest.raises(CallRefused) as caught:
        check_variable_names(("name", "date"), ["name", "dat"], what="create batch 'Spring'")
    assert str(caught.value) == (
        "Refused to create batch 'Spring': the agent's prompt uses {{date}} but the batch's variable_names do not "
        "include it (did you mean 'dat' for date?); variable_names must list every one of: name, date."
    )
    assert check_variable_names(("name",), ["name", "extra"], what="x") == [
        "variable_names also lists extra, which the agent's prompt does not use."
    ]


def test_a_batch_with_rows_lacking_a_value_is_refused_naming_the_first_rows_and_the_count() -> None:
    rows = [
        ("+911", {"name": "Ada"}),
        ("+912", {}),
        ("+913", {"nmae": "Bo"}),
        ("+914", None),
        ("+915", {}),
        ("+916", None),
    ]
    with pytest.raises(CallRefused) as caught:
        check_batch_rows(("name",), rows, what="start batch b1")
    assert str(caught.value) == (
        "Refused to start batch b1: 5 of 6 recipients have no value for a placeholder the agent's prompt uses "
        "(+912 lacks name; +913 lacks name, has 'nmae' for name; +914 lacks name (and 2 more)); every row needs "
        "name: give those recipients the missing values, then try again."
    )


def test_a_batch_whose_rows_fill_every_placeholder_passes() -> None:
    assert check_batch_rows(("name",), [("+911", {"name": "Ada", "x": 1})], what="b") == [
        "recipients also carry x, which the agent's prompt does not use."
    ]
    assert check_batch_rows((), [("+911", None)], what="b") == []


def test_the_balance_warning_appears_only_when_the_estimate_exceeds_a_known_balance() -> None:
    assert balance_warning(1.0, 2.5) == (
        "The credit balance ($1.00) does not cover the estimated cost ($2.50): calls may be cut off or refused by "
        "Kupe once it runs out; top up the wallet in the Kupe dashboard first."
    )
    assert balance_warning(5.0, 2.5) is None
    assert balance_warning(None, 2.5) is None
    assert balance_warning(1.0, None) is None
    assert balance_warning(0.0, None) == (
        "The credit balance is $0.00: Kupe refuses calls without credit; top up the wallet in the Kupe dashboard first."
    )


def test_a_recipient_row_missing_a_value_gets_a_reason_and_a_complete_one_none() -> None:
    from kupe_mcp.safety.variables import missing_values

    assert missing_values(("name", "date"), {"name": "Ada", "dat": "Fri"}) == (
        "It has no value for date (did you mean 'dat' for date?), which the agent's prompt uses; "
        "every row needs name, date."
    )
    assert missing_values(("name",), {"name": "Ada"}) is None
    assert missing_values((), None) is None
