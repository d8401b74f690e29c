"""The evaluation's own arithmetic and request set (the model itself is exercised by ``make eval`` only)."""

from __future__ import annotations

import json

import pytest

from kupe_mcp.toolsets import TOOLSETS
from tests.eval.requests import REQUESTS
from tests.eval.scoring import model_facing_bytes, score

TOOLSET_OF = {"a": "one", "b": "one", "c": "two"}


def test_a_request_counts_at_top1_only_when_its_tool_ranks_first_and_at_top3_within_three() -> None:
    requests = [("first", ("a",)), ("second", ("c",)), ("fourth", ("b",))]
    tools = ["a", "b", "c", "d"]
    sims = [
        [0.9, 0.1, 0.2, 0.0],  # a first: top-1 hit
        [0.9, 0.8, 0.7, 0.0],  # c third: top-3 hit only
        [0.9, 0.1, 0.8, 0.7],  # b fourth: miss at both
    ]
    result = score(requests, tools, sims, {**TOOLSET_OF, "d": "two"})
    assert (result.overall.requests, result.overall.top1, result.overall.top3) == (3, 1, 2)
    assert result.by_toolset["one"].rates() == {"requests": 2, "top1": 0.5, "top3": 0.5}
    assert result.by_toolset["two"].rates() == {"requests": 1, "top1": 0.0, "top3": 1.0}
    assert [(m.request, m.expected, m.picked, m.rank) for m in result.misses] == [
        ("second", "c", "a", 3),
        ("fourth", "b", "a", 4),
    ]
    assert result.confusions() == [("c", "a", 1), ("b", "a", 1)]


def test_any_acceptable_tool_at_the_top_is_a_hit() -> None:
    result = score([("either", ("b", "a"))], ["a", "b", "c"], [[0.9, 0.5, 0.1]], TOOLSET_OF)
    assert result.overall.top1 == 1
    assert result.by_toolset == {"one": result.by_toolset["one"]}  # filed under the first acceptable tool


def test_a_request_for_a_tool_that_is_not_listed_is_refused_rather_than_counted_as_a_miss() -> None:
    with pytest.raises(ValueError, match="gone"):
        score([("lost", ("gone",))], ["a"], [[1.0]], TOOLSET_OF)


def test_model_facing_bytes_count_name_title_description_and_input_schema_but_not_output_schema() -> None:
    tool = {
        "name": "t",
        "title": "T",
        "description": "é",
        "inputSchema": {"type": "object"},
        "outputSchema": {"type": "object", "properties": {"x": {"type": "string"}}},
        "annotations": {"readOnlyHint": True},
    }
    expected = '{"name":"t","title":"T","description":"é","inputSchema":{"type":"object"}}'
    assert model_facing_bytes(tool) == len(expected.encode())
    assert json.loads(expected)["description"] == "é"  # UTF-8 bytes as sent, not \u escapes


def test_the_requests_cover_every_toolset_and_the_confusable_pairs_with_real_tool_names() -> None:
    toolset_of = {spec.name: ts.name for ts in TOOLSETS for spec in ts.tools}
    expected = [tools for _, tools in REQUESTS]
    assert len(REQUESTS) >= 80
    assert {name for tools in expected for name in tools} <= set(toolset_of)
    assert {toolset_of[tools[0]] for tools in expected} == {ts.name for ts in TOOLSETS}
    firsts = {tools[0] for tools in expected}
    for pair in (
        ("get_call_analytics", "get_call_transcript"),
        ("detach_knowledge_file", "delete_knowledge_file"),
        ("detach_tool_from_agent", "delete_http_tool"),
        ("list_agent_tools", "list_http_tools"),
        ("create_batch", "start_batch"),
    ):
        assert set(pair) <= firsts, pair
    assert len({text.lower() for text, _ in REQUESTS}) == len(REQUESTS)
