"""The evaluation's own arithmetic and request set (the model itself is exercised by ``make eval`` only)."""

from __future__ import annotations

import json

import pytest

from kupe_mcp.toolsets import TOOLSETS
from tests.eval.requests import DOC_REQUESTS, NEGATIVES, REQUESTS
from tests.eval.scoring import bm25, first_picks, first_sentence, model_facing_bytes, score, search_then_rank, words

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


def test_the_docs_requests_and_the_negatives_name_real_tools_and_repeat_no_request() -> None:
    toolset_of = {spec.name: ts.name for ts in TOOLSETS for spec in ts.tools}
    every = [*REQUESTS, *DOC_REQUESTS, *NEGATIVES]
    assert {name for _, tools in every for name in tools} <= set(toolset_of)
    assert len({text.lower() for text, _ in every}) == len(every)


def test_words_split_snake_case_names_and_drop_punctuation() -> None:
    assert words("place_call: Ring +91 98765!") == ["place", "call", "ring", "91", "98765"]


def test_the_first_sentence_ends_at_a_full_stop_followed_by_a_space() -> None:
    assert first_sentence("Show calls (e.g. today's). Then more.") == "Show calls (e.g."
    assert first_sentence("Wait for it: v2.5 is fine") == "Wait for it: v2.5 is fine"


def test_bm25_ranks_the_doc_sharing_the_rarer_word_first_and_scores_no_shared_word_zero() -> None:
    docs = [["call", "list"], ["call", "transcript"], ["agent", "list"]]
    (row,) = bm25([["transcript", "call"]], docs)
    assert row[1] > row[0] > 0
    assert row[2] == 0.0


def test_tool_search_reorders_only_the_top_k_by_similarity_and_sinks_the_rest() -> None:
    search = [[3.0, 2.0, 1.0, 0.0]]
    sims = [[0.1, 0.2, 0.9, 0.8]]
    (ranked,) = search_then_rank(search, sims, k=2)
    order = sorted(range(4), key=lambda i: -ranked[i])
    assert order == [1, 0, 2, 3]  # c and d were not found: below a and b however similar


def test_first_picks_name_only_requests_whose_best_tool_is_forbidden() -> None:
    requests = [("show the call", ("get",)), ("list calls", ("get",))]
    sims = [[0.2, 0.9], [0.8, 0.1]]
    assert first_picks(requests, ["get", "place_call"], sims, {"place_call"}) == [("show the call", "place_call")]
