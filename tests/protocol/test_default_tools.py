"""The default toolsets end to end: a real MCP client, in both protocol modes, against the sandbox."""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client

from kupe_mcp.client import KupeClient
from kupe_mcp.config import Settings
from kupe_mcp.sandbox._seed import DEMO_USER_ID
from kupe_mcp.serve.server import selected_tools
from tests._mcp import call, fail
from tests.conftest import ServerFactory

pytestmark = pytest.mark.anyio


async def test_whoami_answers_with_the_sandbox_user(mcp: Client) -> None:
    me = await call(mcp, "whoami")
    assert (me["user_id"], me["email"], me["auth"]) == (DEMO_USER_ID, "demo@sandbox.kupe.local", "api_key")


async def test_every_listed_tool_has_a_description_annotations_and_a_compact_schema(mcp: Client) -> None:
    tools = (await mcp.list_tools()).tools
    app_only = [t.name for t in tools if (t.meta or {}).get("ui", {}).get("visibility") == ["app"]]
    # The approval card's tool is listed only to clients that negotiated MCP Apps (tests/protocol/test_approvals.py);
    # this client did not.
    assert app_only == []
    selected = selected_tools(Settings(toolsets=("all",)), api_key_auth=True)
    declared = {s.name: s for s in selected}
    assert {t.name for t in tools} == set(declared)
    for tool in tools:
        assert len(tool.description or "") > 30, tool.name
        assert tool.annotations == declared[tool.name].annotations, tool.name
        assert tool.meta == declared[tool.name].meta, tool.name
        assert '"title"' not in json.dumps(tool.input_schema), tool.name


async def test_create_agent_applies_settings_and_returns_the_complete_agent(mcp: Client) -> None:
    agent = await call(
        mcp,
        "create_agent",
        name="Billing helper",
        system_prompt="You help with bills.",
        welcome_message="Hi, this is Kupe billing.",
        model_name="gpt-4.1-mini",
        temperature=0.3,
    )
    agent_id = agent["agent"]["id"]
    again = await call(mcp, "get_agent", agent_id=agent_id)
    assert again["agent"]["first_response_message"] == "Hi, this is Kupe billing."
    config = again["configurations"]["model_config"]
    assert config["system_prompt"] == "You help with bills."
    assert config["temperature"] == 0.3


async def test_update_agent_sends_only_the_given_fields(mcp: Client) -> None:
    agent = await call(mcp, "create_agent", name="Partial", system_prompt="Keep me.")
    agent_id = agent["agent"]["id"]
    await call(mcp, "update_agent", agent_id=agent_id, welcome_message="New hello", force_update=True)
    again = await call(mcp, "get_agent", agent_id=agent_id)
    assert again["agent"]["first_response_message"] == "New hello"
    assert again["configurations"]["model_config"]["system_prompt"] == "Keep me."


async def test_update_agent_with_nothing_to_change_is_refused(mcp: Client) -> None:
    agent = await call(mcp, "create_agent", name="Nothing")
    assert "no field" in await fail(mcp, "update_agent", agent_id=agent["agent"]["id"])


async def test_list_agents_pages_with_a_next_page_hint(mcp: Client) -> None:
    for i in range(3):
        await call(mcp, "create_agent", name=f"Pager {i}")
    page = await call(mcp, "list_agents", page=1, page_size=2)
    assert len(page["items"]) == 2
    assert page["next_page"] == 2


async def test_get_agent_for_an_unknown_id_is_an_actionable_error(mcp: Client) -> None:
    text = await fail(mcp, "get_agent", agent_id="00000000-0000-4000-8000-000000000000")
    assert "404" in text
    assert "list" in text


async def test_invalid_arguments_are_refused_naming_the_field(mcp: Client) -> None:
    text = await fail(mcp, "get_agent", agent_id="not-a-uuid")
    assert "agent_id" in text


async def test_delete_agent_removes_it(mcp: Client) -> None:
    agent = await call(mcp, "create_agent", name="Doomed")
    await call(mcp, "delete_agent", agent_id=agent["agent"]["id"], force=True)
    assert "404" in await fail(mcp, "get_agent", agent_id=agent["agent"]["id"])


async def test_list_providers_returns_catalog_codes(mcp: Client) -> None:
    models = await call(mcp, "list_providers", kind="model")
    assert {row["model_name"] for row in models["items"]} == {
        "gpt-4.1-mini",
        "gpt-4o-mini",
        "gpt-4.1",
        "gemini-2.0-flash",
        "gemini-2.5-flash",
        "llama-3.3-70b-versatile",
    }
    assert {row["kind"] for row in models["items"]} == {"model"}
    everything = await call(mcp, "list_providers", kind="all", page_size=100)
    kinds = Counter(row["kind"] for row in everything["items"])
    assert kinds == {"model": 6, "stt": 4, "tts": 4, "vad": 1}


async def test_list_voices_lists_tts_voices(mcp: Client) -> None:
    voices = await call(mcp, "list_voices")
    assert len(voices["items"]) == 12
    assert {"Anushka", "Rachel", "Katie"} <= {v["voice_name"] for v in voices["items"]}
    tts = await call(mcp, "list_providers", kind="tts")
    sonic = next(row["id"] for row in tts["items"] if row["model_name"] == "sonic-2")
    one = await call(mcp, "list_voices", provider_id=sonic)
    assert [v["voice_name"] for v in one["items"]] == ["Katie"]


async def test_map_phone_needs_exactly_one_target_and_asks_kupe_nothing_otherwise(
    make_server: ServerFactory, sandbox_app: Any, client_mode: str
) -> None:
    async with Client(make_server(), mode=client_mode) as mcp:
        lines = await call(mcp, "list_phone_numbers")
        line_id = lines["items"][0]["id"]
        before = len(sandbox_app.state.sandbox.request_log)
        text = await fail(mcp, "map_phone", phone_number_id=line_id)
        assert "exactly one" in text
        assert len(sandbox_app.state.sandbox.request_log) == before


async def test_map_phone_then_get_phone_mapping_both_ways(mcp: Client) -> None:
    agent = await call(mcp, "create_agent", name="Inbound")
    agent_id = agent["agent"]["id"]
    line_id = (await call(mcp, "list_phone_numbers"))["items"][0]["id"]
    await call(mcp, "map_phone", phone_number_id=line_id, agent_id=agent_id)
    by_line = await call(mcp, "get_phone_mapping", phone_number_id=line_id)
    assert agent_id in json.dumps(by_line)
    by_agent = await call(mcp, "get_phone_mapping", agent_id=agent_id)
    assert line_id in json.dumps(by_agent)


async def test_place_call_then_follow_it_to_its_transcript(mcp: Client) -> None:
    agent = await call(mcp, "create_agent", name="Caller", welcome_message="Hello from the sandbox.")
    started = await call(mcp, "place_call", phone_number="+91 98765 43210", agent_id=agent["agent"]["id"])
    assert started["status"] == "success"
    rid = started["request_id"]
    one = await call(mcp, "get_call_analytics", request_id=rid)
    assert one["items"][0]["request_id"] == rid
    assert "transcript" not in one["items"][0]
    transcript = await call(mcp, "get_call_transcript", request_id=rid)
    assert "Agent: Hello from the sandbox." in transcript["lines"]
    assert (transcript["page"], transcript["pages"]) == (1, 1)
    assert "next_page" not in transcript
    assert transcript["transcript_resource"] == f"kupe://calls/{rid}/transcript"


async def test_place_call_refuses_a_number_that_cannot_be_dialled(
    make_server: ServerFactory, sandbox_app: Any, client_mode: str
) -> None:
    async with Client(make_server(), mode=client_mode) as mcp:
        agent = await call(mcp, "create_agent", name="Careful")
        before = len(sandbox_app.state.sandbox.request_log)
        text = await fail(mcp, "place_call", phone_number="12345", agent_id=agent["agent"]["id"])
        assert "not" in text
        assert "phone number" in text
        assert len(sandbox_app.state.sandbox.request_log) == before


async def test_place_call_to_an_unreachable_number_is_an_error_with_kupes_detail_and_the_ids(mcp: Client) -> None:
    agent = await call(mcp, "create_agent", name="Unlucky")
    text = await fail(mcp, "place_call", phone_number="+919876500000", agent_id=agent["agent"]["id"])
    assert "could not start the call" in text
    assert "request_id" in text


async def test_get_call_analytics_lists_calls_a_page_at_a_time(mcp: Client) -> None:
    page = await call(mcp, "get_call_analytics", page=1, page_size=5)
    assert "items" in page
    assert all("transcript" not in item for item in page["items"])


async def test_get_call_analytics_reports_the_logs_total_not_the_page_length(mcp: Client) -> None:
    from kupe_mcp.sandbox._seed import HISTORY_CALLS

    first = await call(mcp, "get_call_analytics", page=1, page_size=20)
    assert (len(first["items"]), first["total"], first["next_page"]) == (20, HISTORY_CALLS + 1, 2)
    last = await call(mcp, "get_call_analytics", page=2, page_size=20)
    assert (len(last["items"]), last["total"]) == (HISTORY_CALLS + 1 - 20, HISTORY_CALLS + 1)
    assert "next_page" not in last


async def test_knowledge_upload_attach_and_search_find_the_text(mcp: Client) -> None:
    agent = await call(mcp, "create_agent", name="Librarian")
    agent_id = agent["agent"]["id"]
    uploaded = await call(
        mcp,
        "upload_knowledge_file",
        content="Refunds are processed within 7 business days of the request.",
        filename="refunds.txt",
    )
    file_id = uploaded.get("id") or uploaded.get("file_id") or uploaded["data"]["id"]
    await call(mcp, "attach_knowledge_file", agent_id=agent_id, file_id=file_id)
    attached = await call(mcp, "list_agent_knowledge_files", agent_id=agent_id)
    assert file_id in json.dumps(attached)
    for mode in ("semantic", "hybrid"):
        found = await call(mcp, "search_knowledge", agent_id=agent_id, query="refunds processed", mode=mode)
        assert found["count"] >= 1
        assert "7 business days" in found["hits"][0]["text"]
    await call(mcp, "detach_knowledge_file", agent_id=agent_id, file_id=file_id)
    await call(mcp, "delete_knowledge_file", file_id=file_id)
    assert "404" in await fail(mcp, "get_knowledge_file", file_id=file_id)


async def test_upload_from_a_path_outside_the_roots_is_refused(
    make_server: ServerFactory, client_mode: str, tmp_path: Path
) -> None:
    inside = tmp_path / "root"
    inside.mkdir()
    (inside / "ok.txt").write_text("fine")
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    (inside / "link.txt").symlink_to(outside)
    async with Client(make_server(upload_roots=(str(inside),)), mode=client_mode) as mcp:
        assert await call(mcp, "upload_knowledge_file", path=str(inside / "ok.txt"))
        for path in (str(outside), str(inside / ".." / "secret.txt"), str(inside / "link.txt")):
            assert "outside the folders" in await fail(mcp, "upload_knowledge_file", path=path)


async def test_an_unexpected_crash_is_logged_and_answered_with_a_correlation_id(
    mcp: Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom(self: KupeClient) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(KupeClient, "me", boom)
    with caplog.at_level(logging.ERROR, logger="kupe_mcp.tools"):
        text = await fail(mcp, "whoami")
    assert "internal error" in text
    assert "ref " in text
    ref = text.split("ref ")[1][:8]
    assert any(ref in r.getMessage() and r.exc_info for r in caplog.records)
    assert "kaboom" not in text


async def test_an_unknown_argument_is_refused_naming_the_valid_ones(mcp: Client) -> None:
    text = await fail(mcp, "get_agent", agent_id="00000000-0000-4000-8000-000000000000", agentid="x")
    assert "no argument agentid" in text
    assert "agent_id" in text


async def test_invalid_arguments_are_one_line_without_pydantic_links(mcp: Client) -> None:
    text = await fail(mcp, "list_agents", page=0, page_size=500)
    assert "\n" not in text
    assert "pydantic.dev" not in text
    assert "page" in text
    assert "page_size" in text


async def test_the_credit_balance_is_answered_with_the_default_toolsets(make_server: ServerFactory) -> None:
    async with Client(make_server(toolsets=Settings().toolsets)) as mcp:
        names = {t.name for t in (await mcp.list_tools()).tools}
        balance = await call(mcp, "get_credit_balance")
    assert "get_credit_balance" in names
    assert "get_wallet" not in names  # the rest of billing stays opt-in
    assert balance["available_balance_usd"] > 0


async def test_a_tool_of_a_toolset_that_is_not_enabled_names_the_toolset_and_how_to_enable_it(
    make_server: ServerFactory,
) -> None:
    async with Client(make_server(toolsets=("account", "calls"))) as mcp:
        text = await fail(mcp, "create_batch", name="x")
        unknown = await fail(mcp, "no_such_tool")
    assert text == (
        "create_batch is in the campaigns toolset, which this server does not enable: "
        "start it with --toolsets account,calls,campaigns (or KUPE_TOOLSETS=account,calls,campaigns)."
    )
    assert unknown.startswith("Unknown tool")


async def test_a_write_tool_on_a_read_only_server_and_an_excluded_tool_say_why_they_are_missing(
    make_server: ServerFactory,
) -> None:
    async with Client(make_server(read_only=True, exclude_tools=("list_voices",))) as mcp:
        write = await fail(mcp, "delete_agent", agent_id="00000000-0000-0000-0000-000000000000")
        excluded = await fail(mcp, "list_voices")
    assert "runs read-only" in write
    assert "KUPE_EXCLUDE_TOOLS" in excluded


async def test_an_admin_tool_with_an_api_key_says_it_needs_a_session(make_server: ServerFactory) -> None:
    async with Client(make_server()) as mcp:
        text = await fail(mcp, "list_users")
    assert "needs a Kupe session" in text
    assert "KUPE_BEARER_TOKEN" in text
