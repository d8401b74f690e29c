"""The answer generator itself (tests/fuzz/_answers.py): each kind changes answers, and only as the spec allows."""

from __future__ import annotations

from typing import Any

from tests.fuzz._answers import EXTRA, KINDS, operation, spec_valid, vary

AGENT = {"agent": {"id": "3f1e2d4c-5b6a-4978-8e9f-0a1b2c3d4e5f", "name": "Asha", "is_active": False}}
ME = {"user_id": "3f1e2d4c-5b6a-4978-8e9f-0a1b2c3d4e5f", "auth": "api_key", "email": None}


def test_a_request_is_matched_to_its_spec_operation_a_literal_segment_first() -> None:
    assert operation("GET", "/api/v1/batch-call/me").template == "/api/v1/batch-call/me"
    assert operation("GET", "/api/v1/batch-call/b-1").template == "/api/v1/batch-call/{batch_id}"
    summary = operation("GET", "/api/v1/agents/summary")  # a docs-only route: open JSON
    assert (summary.template, summary.schema) == ("/api/v1/agents/summary", None)


def test_unknown_fields_reach_every_object_and_stay_spec_valid() -> None:
    varied, changed = vary("unknown-fields", "GET", "/api/v1/agents/a-1", AGENT)
    assert changed
    assert varied[EXTRA] == varied["agent"][EXTRA] == "kept"
    assert spec_valid(operation("GET", "/api/v1/agents/a-1"), varied)


def test_whole_floats_turn_every_whole_number_into_a_float_but_leave_booleans() -> None:
    body = {"success": True, "data": {"total": 3, "items": [{"duration": 42, "ok": True}]}}
    varied, changed = vary("whole-floats", "GET", "/api/v1/call-analytics", body)
    assert changed
    assert varied == {"success": True, "data": {"total": 3.0, "items": [{"duration": 42.0, "ok": True}]}}
    assert isinstance(varied["data"]["total"], float)


def test_a_list_envelope_is_not_sent_where_the_spec_says_a_bare_array() -> None:
    rows: list[Any] = [{"id": "p-1", "model_name": "gpt-4.1-mini"}]
    for kind in ("envelope-extras", "data-envelope"):
        assert vary(kind, "GET", "/api/v1/providers/model", rows) == (rows, False)
    enveloped, changed = vary("envelope-extras", "GET", "/api/v1/me/users", rows)
    assert changed
    assert enveloped == {"items": rows, "total": 1, "page": 1, "page_size": 1}


def test_the_data_envelope_gets_keys_beside_data() -> None:
    body = {"success": True, "data": {"id": "b-1"}}
    varied, changed = vary("envelope-extras", "GET", "/api/v1/batch-call/b-1", body)
    assert changed
    assert (varied["data"], varied["count"]) == ({"id": "b-1"}, 1)


def test_declared_fields_fill_what_the_schema_names_and_the_answer_lacks() -> None:
    varied, changed = vary("declared-fields", "GET", "/api/v1/me", {"user_id": ME["user_id"], "auth": "api_key"})
    assert changed
    assert (varied["phone"], varied["full_name"], varied["profile_image_url"]) == (
        "sample",
        "sample",
        "https://example.com/x",
    )
    assert spec_valid(operation("GET", "/api/v1/me"), varied)


def test_the_spec_example_replaces_the_answer_where_the_spec_gives_one() -> None:
    example, changed = vary("docs-example", "GET", "/api/v1/noise-assets", [])
    assert changed
    assert example == operation("GET", "/api/v1/noise-assets").example


def test_every_kind_is_a_pure_function_of_the_answer() -> None:
    for kind in KINDS:
        assert vary(kind, "GET", "/api/v1/me", ME) == vary(kind, "GET", "/api/v1/me", ME)
