"""KupeClient against the sandbox over a real loopback socket: a tour of the API and every error mapping.

Every request here crosses TCP (uvicorn in a thread), so request encoding, multipart
uploads, query quoting and error bodies are exercised exactly as they would be against
api.kupe.in. Tests on the module-scoped server only touch objects they create
themselves (or read-only seed data), so they may share it.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import SecretStr

from kupe_mcp.config import Credentials
from kupe_mcp.errors import (
    AuthenticationFailed,
    CallInitiationFailed,
    Conflict,
    InsufficientCredits,
    InvalidRequest,
    NotFound,
    PermissionDenied,
)
from kupe_mcp.sandbox import (
    DEMO_BEARER_TOKEN,
    LIMITED_API_KEY,
    NO_CREDIT_API_KEY,
    SandboxServer,
)
from kupe_mcp.sandbox._seed import DEMO_AGENT_ID, DEMO_RULE_ID, DEMO_USER_ID, IN_PHONE_ID, US_PHONE_ID

from .conftest import make_client

pytestmark = pytest.mark.anyio

CALL_PATH = "/api/call/create_call"


def _attempts(server: SandboxServer, method: str, path: str) -> int:
    return server.sandbox.request_log.count((method, path))


def js(value: Any) -> Any:
    """A typed answer as the JSON it came from (unknown fields included)."""
    if isinstance(value, list):
        return [js(v) for v in value]
    return value.to_json() if hasattr(value, "to_json") else value


# -- 1. A tour through the real HTTP path -------------------------------------------------------


async def test_me_and_the_provider_catalogue_arrive_typed_over_a_socket(shared_server: SandboxServer) -> None:
    async with make_client(shared_server) as kupe:
        me = await kupe.me()
        providers = js(await kupe.list_all_providers())
    assert me.user_id == DEMO_USER_ID
    assert me.auth == "api_key"
    assert me.email == "demo@sandbox.kupe.local"
    assert set(providers) == {"model_providers", "tts_providers", "stt_providers", "vad_providers"}
    llms = {row["model_name"]: row for row in providers["model_providers"]}
    assert llms["gpt-4.1-mini"]["is_default"] is True
    assert ("GET", "/api/v1/providers/all") in shared_server.sandbox.request_log


async def test_a_nested_partial_update_with_the_welcome_message_alias_keeps_untouched_fields(
    shared_server: SandboxServer,
) -> None:
    async with make_client(shared_server) as kupe:
        created = await kupe.create_agent_simple("Loopback receptionist", description="integration test")
        assert created.to_json()["agent"]["is_active"] is False
        agent_id = created.agent_id
        before = await kupe.get_agent(agent_id)
        assert before.configurations is not None
        assert before.configurations.agent_specific_config is not None
        updated = await kupe.update_agent(
            agent_id,
            {
                "agent": {"welcome_message": "Hello {{name}}, this is Lina from Loopback Labs."},
                "agent_model_config": {"system_prompt": "You are Lina. Be brief."},
                "agent_specific_config": {"session_timeout": 300},
            },
        )
        fetched = await kupe.get_agent(agent_id)

    for agent in (updated, fetched):
        assert agent.to_json()["agent"]["first_response_message"] == "Hello {{name}}, this is Lina from Loopback Labs."
        assert agent.to_json()["agent"]["name"] == "Loopback receptionist"
    cfg = fetched.configurations
    assert cfg is not None
    assert cfg.llm_config is not None
    assert cfg.agent_specific_config is not None
    assert cfg.llm_config["system_prompt"] == "You are Lina. Be brief."
    assert cfg.llm_config["model_name"] == "gpt-4.1-mini"  # the rest of the section survives the partial update
    assert cfg.agent_specific_config["session_timeout"] == 300
    assert (
        cfg.agent_specific_config["end_of_speech_timeout"]
        == before.configurations.agent_specific_config["end_of_speech_timeout"]
    )


async def test_a_phone_line_mapped_to_an_agent_is_found_from_both_sides(shared_server: SandboxServer) -> None:
    async with make_client(shared_server) as kupe:
        agent_id = (await kupe.create_agent_simple("Loopback inbound")).agent_id
        lines = {line.country_code: line for line in await kupe.list_phone_numbers()}
        mapped = await kupe.create_phone_mapping(US_PHONE_ID, agent_id=agent_id)
        by_line = await kupe.get_phone_mapping(US_PHONE_ID)
        by_agent = await kupe.get_phone_mapping_for_agent(agent_id)
    assert lines["US"].id == US_PHONE_ID
    assert mapped.agent_id == agent_id
    assert by_line.agent_id == agent_id
    assert by_line.phone_number == lines["US"].phone_number
    assert [row.phone_number_id for row in by_agent] == [US_PHONE_ID]


async def test_a_placed_call_completes_with_a_transcript_in_call_analytics(shared_server: SandboxServer) -> None:
    async with make_client(shared_server) as kupe:
        agent_id = (await kupe.create_agent_simple("Loopback caller")).agent_id
        await kupe.update_agent(agent_id, {"agent": {"first_response_message": "Hi {{name}}, Lina here."}})
        started = await kupe.create_call("+14155551234", agent_id=agent_id, variable_values={"name": "Ravi"})
        assert started.status == "success"
        assert started.request_id
        assert started.call_session_id
        session = js(await kupe.call_session(started.request_id))
    assert session["id"] == started.call_session_id
    assert session["status"] == "completed"
    assert session["target_number"] == "+14155551234"
    assert session["agent_id"] == agent_id
    transcript = session["transcript"]
    assert len(transcript) >= 2
    assert transcript[0] == {
        "role": "assistant",
        "text": "Hi Ravi, Lina here.",
        "timestamp": transcript[0]["timestamp"],
    }
    assert any(turn["role"] == "user" and "Ravi" in turn["text"] for turn in transcript)
    assert session["call_duration"] > 0
    assert _attempts(shared_server, "POST", CALL_PATH) >= 1


async def test_an_uploaded_text_file_attached_to_an_agent_is_found_by_semantic_and_hybrid_search(
    shared_server: SandboxServer,
) -> None:
    document = (
        b"Loopback Labs refund policy: refunds for cancelled appointments are issued within seven working days.\n\n"
        b"Parking is available behind the clinic on weekdays."
    )
    async with make_client(shared_server) as kupe:
        agent_id = (await kupe.create_agent_simple("Loopback knowledge")).agent_id
        uploaded = js(await kupe.upload_file(filename="policies.txt", content=document))
        file_id = uploaded["id"]
        assert uploaded["mime_type"] == "text/plain"
        nothing = await kupe.search_semantic(agent_id, "refund cancelled appointments")
        await kupe.attach_file(agent_id, file_id)
        attached = js(await kupe.list_agent_files(agent_id))
        semantic = await kupe.search_semantic(agent_id, "refund cancelled appointments")
        hybrid = await kupe.search_hybrid(agent_id, "refund cancelled appointments", similarity_threshold=0.0)
    assert nothing.data == []  # not attached yet: the agent cannot see the file
    assert [row["upload_file_id"] for row in attached] == [file_id]
    assert semantic.data
    assert "seven working days" in semantic.data[0]
    assert all(isinstance(score, float) for score in semantic.scores)
    assert hybrid.data
    assert "seven working days" in hybrid.data[0]
    assert set(hybrid.scores[0]) >= {"combined_score", "distance", "sparse_score"}


async def test_a_batch_started_from_json_rows_reports_per_status_counts(shared_server: SandboxServer) -> None:
    async with make_client(shared_server) as kupe:
        agent_id = (await kupe.create_agent_simple("Loopback campaign")).agent_id
        created = await kupe.create_batch(
            {"agent_id": agent_id, "caller_phone_id": US_PHONE_ID, "batch_name": "Loopback wave", "batch_size": 10}
        )
        assert created.id is not None
        batch_id = created.id
        uploaded = await kupe.upload_batch_json(
            batch_id,
            [
                {"to_phonenumber": "+14155552001", "name": "Asha"},
                {"to_phonenumber": "+14155552002", "name": "Ben"},
                {"to_phonenumber": "+14155550000", "name": "Nobody"},  # unreachable: the call fails
                {"to_phonenumber": "12", "name": "Broken"},  # rejected at upload
            ],
        )
        started = js(await kupe.start_batch(batch_id))
        status = await kupe.get_batch_status(batch_id)
        rows = await kupe.list_batch_data(batch_id)
    assert uploaded.inserted == 3
    assert uploaded.failed == 1
    assert started["data"]["queued"] == 3
    assert status.data is not None
    assert status.data.status_counts is not None
    counts = status.data.status_counts
    assert (counts.total, counts.completed, counts.failed, counts.not_started) == (3, 2, 1, 0)
    assert status.data.batch is not None
    assert status.data.batch["status"] == "completed"
    assert {row.to_phonenumber: row.status for row in rows} == {
        "+14155552001": "completed",
        "+14155552002": "completed",
        "+14155550000": "failed",
    }


async def test_billing_reads_show_a_completed_call_debited_from_the_balance(shared_server: SandboxServer) -> None:
    async with make_client(shared_server) as kupe:
        before = js(await kupe.credit_balance())
        overview_before = js(await kupe.billing_usage_overview())
        summary_before = js(await kupe.billing_usage_summary(time_period="month"))
        started = await kupe.create_call("+14155553003", agent_id=DEMO_AGENT_ID, phone_number_id=IN_PHONE_ID)
        assert started.request_id is not None
        session = js(await kupe.call_session(started.request_id))
        assert started.call_session_id is not None
        usage = js(await kupe.billing_session_usage(started.call_session_id))
        after = js(await kupe.credit_balance())
        records = js(await kupe.billing_usage_records())
        overview = js(await kupe.billing_usage_overview())
        summary = js(await kupe.billing_usage_summary(time_period="month"))
        wallet = js(await kupe.my_wallet())
    cost = session["cost"]
    assert cost > 0
    assert usage["total_cost_usd"] == pytest.approx(cost)
    assert before["credit_balance_usd"] - after["credit_balance_usd"] == pytest.approx(cost, abs=1e-4)
    assert wallet["balance_usd"] == after["credit_balance_usd"]
    assert started.call_session_id in {row["session_id"] for row in records["sessions"]}
    # The overview and the month's summary each count the new call once, at its cost.
    for name, after_totals, before_totals in (
        ("overview", overview["total"], overview_before["total"]),
        ("summary", summary["totals"], summary_before["totals"]),
    ):
        assert after_totals["calls"] - before_totals["calls"] == 1, name
        assert after_totals["cost_usd"] - before_totals["cost_usd"] == pytest.approx(cost, abs=1e-4), name


async def test_a_post_analysis_rule_attached_to_an_agent_runs_on_its_calls(shared_server: SandboxServer) -> None:
    schema = {"type": "object", "properties": {"callback_requested": {"type": "boolean"}}}
    async with make_client(shared_server) as kupe:
        agent_id = (await kupe.create_agent_simple("Loopback analysed")).agent_id
        rule = js(
            await kupe.create_analysis_rule(
                {"name": "Callback check", "prompt": "Did the callee ask for a callback?", "output_schema": schema}
            )
        )
        attached = js(await kupe.set_agent_attached_rules(agent_id, [rule["id"], DEMO_RULE_ID]))
        ids = await kupe.list_agent_attached_rule_ids(agent_id)
        rules = js(await kupe.list_agent_attached_rules(agent_id))
        started = await kupe.create_call("+14155554004", agent_id=agent_id)
        assert started.request_id is not None
        session = js(await kupe.call_session(started.request_id))
    assert attached["rule_ids"] == [rule["id"], DEMO_RULE_ID]
    assert ids == [rule["id"], DEMO_RULE_ID]
    assert [r["name"] for r in rules] == ["Callback check", "Lead qualification"]
    results = {r["rule_id"]: r["structured_json"] for r in session["post_call_analysis_results"]}
    assert results[rule["id"]] == {"callback_requested": True}
    assert set(results[DEMO_RULE_ID]) >= {"lead_status", "call_summary"}


async def test_http_tool_definitions_go_through_create_read_update_and_delete(shared_server: SandboxServer) -> None:
    body: dict[str, Any] = {
        "name": "lookup_order",
        "url": "https://orders.example.com/lookup",
        "tool_schema": {"type": "object", "properties": {"order_id": {"type": "string"}}},
    }
    async with make_client(shared_server) as kupe:
        created = js(await kupe.create_http_tool(body))
        tool_id = created["id"]
        fetched = js(await kupe.get_http_tool(tool_id))
        updated = js(await kupe.update_http_tool(tool_id, {"timeout_s": 20, "method": "GET"}))
        listed = js(await kupe.list_http_tools())
        await kupe.delete_http_tool(tool_id)
        with pytest.raises(NotFound) as gone:
            await kupe.get_http_tool(tool_id)
        remaining = js(await kupe.list_http_tools())
    assert fetched == created
    assert (updated["name"], updated["timeout_s"], updated["method"]) == ("lookup_order", 20, "GET")
    assert tool_id in {tool["id"] for tool in listed}
    assert tool_id not in {tool["id"] for tool in remaining}
    assert gone.value.path == f"/api/v1/tool-endpoint-defs/{tool_id}"


async def test_agent_webhooks_are_read_updated_and_their_secret_rotated(shared_server: SandboxServer) -> None:
    async with make_client(shared_server) as kupe:
        agent_id = (await kupe.create_agent_simple("Loopback hooks")).agent_id
        initial = js(await kupe.get_agent_webhooks(agent_id))
        put = js(
            await kupe.put_agent_webhooks(
                agent_id, {"outgoing": {"enabled": True, "url": "https://hooks.example.com/call-ended"}}
            )
        )
        rotated = js(await kupe.rotate_webhook_secret(agent_id))
        masked = js(await kupe.get_agent_webhooks(agent_id))
        revealed = js(await kupe.get_agent_webhooks(agent_id, reveal_secret=True))
    assert initial["incoming"]["secret"].startswith("whsec_****")
    assert initial["incoming"]["url"] == f"{shared_server.base_url}/api/v1/webhooks/agents/{agent_id}/incoming"
    assert put["outgoing"] == {**put["outgoing"], "enabled": True, "url": "https://hooks.example.com/call-ended"}
    secret = rotated["secret"]
    assert secret.startswith("whsec_")
    assert "*" not in secret
    assert revealed["incoming"]["secret"] == secret
    assert masked["incoming"]["secret"] == f"whsec_****{secret[-4:]}"
    assert masked["outgoing"]["url"] == "https://hooks.example.com/call-ended"


# -- 2. Every error mapping from a real peer ------------------------------------------------------


async def test_a_wrong_api_key_is_authentication_failed_pointing_at_kupe_api_key(shared_server: SandboxServer) -> None:
    async with make_client(shared_server, api_key="kupe_sbx_not_a_real_key_123") as kupe:
        with pytest.raises(AuthenticationFailed) as caught:
            await kupe.me()
    assert str(caught.value) == (
        'Kupe rejected the credentials (401: "Invalid or revoked API key"): '
        "check KUPE_API_KEY (or KUPE_BEARER_TOKEN) and that the key has not been revoked."
    )
    assert caught.value.status == 401


async def test_a_scoped_key_outside_its_scope_is_permission_denied_naming_the_route(
    shared_server: SandboxServer,
) -> None:
    async with make_client(shared_server, api_key=LIMITED_API_KEY) as kupe:
        assert (await kupe.me()).user_id == DEMO_USER_ID  # inside its scopes it works
        assert DEMO_AGENT_ID in {agent.id for agent in await kupe.list_agents()}
        with pytest.raises(PermissionDenied) as caught:
            await kupe.list_model_providers()
    assert str(caught.value) == (
        "This API key lacks the scope for GET /api/v1/providers/model "
        '(403: "Forbidden: API Key does not have required scopes"): '
        "ask the key's owner to grant it, or use a key that has it."
    )


async def test_a_billing_write_with_an_api_key_is_permission_denied_asking_for_a_session(
    shared_server: SandboxServer,
) -> None:
    async with make_client(shared_server) as kupe:
        with pytest.raises(PermissionDenied) as caught:
            await kupe.request("POST", "/api/v1/billing/credit-balance", json_body={"amount_usd": 5})
    assert str(caught.value) == (
        'Kupe denied POST /api/v1/billing/credit-balance (403: "API keys may only read /api/v1/billing/** (GET); '
        'billing writes require a Bearer session"): '
        "this needs a role or a Bearer session the current credentials do not have."
    )


async def test_a_wallet_grant_is_denied_to_an_api_key_but_allowed_to_an_admin_session(
    shared_server: SandboxServer,
) -> None:
    async with make_client(shared_server) as kupe:
        wallet_id = str((await kupe.my_wallet()).wallet_id)
        with pytest.raises(PermissionDenied) as caught:
            await kupe.grant_wallet_credits(wallet_id, {"amount_usd": 5, "note": "loopback"})
        balance = (await kupe.my_wallet()).balance_usd
        assert balance is not None
    assert str(caught.value) == (
        f'Kupe denied POST /api/v1/wallets/{wallet_id}/grants (403: "Wallet and organization changes require '
        'a Bearer session with org_admin or super_admin role"): '
        "this needs a role or a Bearer session the current credentials do not have."
    )
    async with make_client(shared_server, api_key=None, bearer_token=DEMO_BEARER_TOKEN) as admin:
        granted = js(await admin.grant_wallet_credits(wallet_id, {"amount_usd": 5, "note": "loopback"}))
    assert granted["wallet"]["balance_usd"] == pytest.approx(balance + 5)


async def test_create_call_without_credit_is_insufficient_credits_pointing_at_the_balance(
    shared_server: SandboxServer,
) -> None:
    before = _attempts(shared_server, "POST", CALL_PATH)
    async with make_client(shared_server, api_key=NO_CREDIT_API_KEY) as kupe:
        with pytest.raises(InsufficientCredits) as caught:
            await kupe.create_call("+14155555005", workflow_id=str(uuid.uuid4()))
    assert str(caught.value) == (
        "Kupe refused POST /api/call/create_call because the account is out of credits "
        '(402: "Insufficient credits: wallet balance is 0.00 USD; add credits to place calls"): '
        "check the balance with get_credit_balance and top up the wallet in the Kupe dashboard."
    )
    assert _attempts(shared_server, "POST", CALL_PATH) == before + 1  # a 402 is final: never retried


async def test_an_unknown_agent_is_not_found_naming_the_route(shared_server: SandboxServer) -> None:
    missing = str(uuid.uuid4())
    async with make_client(shared_server) as kupe:
        with pytest.raises(NotFound) as caught:
            await kupe.get_agent(missing)
    assert str(caught.value) == (
        f'Kupe found nothing at GET /api/v1/agents/{missing} (404: "Agent {missing} not found"): '
        "check the id; list the objects first to get a valid one."
    )


async def test_changing_an_active_agent_conflicts_until_forced(shared_server: SandboxServer) -> None:
    async with make_client(shared_server) as kupe:
        agent_id = (await kupe.create_agent_simple("Loopback live agent")).agent_id
        activated = await kupe.update_agent(agent_id, {"agent": {"is_active": True}})  # metadata only: no conflict
        assert activated.to_json()["agent"]["is_active"] is True
        with pytest.raises(Conflict) as caught:
            await kupe.update_agent(agent_id, {"agent_model_config": {"temperature": 0.2}})
        unchanged = await kupe.get_agent(agent_id)
        forced = await kupe.update_agent(agent_id, {"agent_model_config": {"temperature": 0.2}}, force_update=True)
    assert str(caught.value) == (
        f"Kupe refused PUT /api/v1/agents/{agent_id} because the agent is active "
        '(400: "Agent is active; pass force_update=true to change its configuration"): '
        "pass force_update=true to change it anyway (live calls may pick up the change), or deactivate it first."
    )
    assert unchanged.configurations is not None
    assert unchanged.configurations.llm_config is not None
    assert unchanged.configurations.llm_config["temperature"] == 0.7
    assert forced.configurations is not None
    assert forced.configurations.llm_config is not None
    assert forced.configurations.llm_config["temperature"] == 0.2


async def test_a_phone_mapping_with_both_agent_and_workflow_fails_before_any_request(
    shared_server: SandboxServer,
) -> None:
    log = shared_server.sandbox.request_log
    async with make_client(shared_server) as kupe:
        before = list(log)
        with pytest.raises(ValueError, match="exactly one of agent_id or workflow_id"):
            await kupe.create_phone_mapping(IN_PHONE_ID, agent_id=DEMO_AGENT_ID, workflow_id=str(uuid.uuid4()))
        with pytest.raises(ValueError, match="exactly one of agent_id or workflow_id"):
            await kupe.create_phone_mapping(IN_PHONE_ID)
        assert log == before
        assert (await kupe.get_phone_mapping(IN_PHONE_ID)).agent_id == DEMO_AGENT_ID


async def test_an_unreachable_destination_is_call_initiation_failed_with_both_ids(
    shared_server: SandboxServer,
) -> None:
    async with make_client(shared_server) as kupe:
        with pytest.raises(CallInitiationFailed) as caught:
            await kupe.create_call("+14155550000", agent_id=DEMO_AGENT_ID)
        error = caught.value
        assert error.request_id
        assert error.call_session_id
        session = js(await kupe.call_session(error.request_id))
    assert str(error) == (
        f"Kupe could not start the call (request_id {error.request_id}, call_session_id {error.call_session_id}): "
        '"Destination unreachable: carrier rejected the number". Check the number and the caller line, then try again.'
    )
    assert session["id"] == error.call_session_id
    assert session["status"] == "failed"
    assert session["error_message"] == error.detail


async def test_body_validation_is_invalid_request_naming_the_field(shared_server: SandboxServer) -> None:
    async with make_client(shared_server) as kupe:
        with pytest.raises(InvalidRequest) as unprocessable:
            await kupe.create_agent({"agent": {"description": "no name"}})
        with pytest.raises(InvalidRequest) as bad:
            await kupe.update_agent(DEMO_AGENT_ID, {"agent_model_config": {"model_name": "gpt-99"}}, force_update=True)
    assert str(unprocessable.value) == (
        "Kupe rejected POST /api/v1/agents as invalid "
        '(422: "agent.name: Field required"): fix the named field and try again.'
    )
    assert str(bad.value) == (
        f"Kupe rejected PUT /api/v1/agents/{DEMO_AGENT_ID} as invalid (400: \"Unknown LLM model 'gpt-99' in "
        'agent_model_config.model_name; see GET /api/v1/providers/model for valid codes"): '
        "fix the named field and try again."
    )
    assert (unprocessable.value.status, bad.value.status) == (422, 400)


async def test_per_tenant_views_share_the_pool_but_authenticate_as_themselves(shared_server: SandboxServer) -> None:
    async with make_client(shared_server) as kupe:
        poor = kupe.with_credentials(Credentials(api_key=SecretStr(NO_CREDIT_API_KEY)))
        async with poor:  # closing a view must leave the shared pool open
            assert (await poor.me()).email == "nocredit@sandbox.kupe.local"
            with pytest.raises(InsufficientCredits):
                await poor.create_call("+14155555015", workflow_id=str(uuid.uuid4()))
        assert (await kupe.me()).user_id == DEMO_USER_ID
        started = await kupe.create_call("+14155555016", agent_id=DEMO_AGENT_ID)
    assert started.status == "success"
    assert "kupe_sbx_nocredit" not in repr(poor)


async def test_an_id_with_slashes_stays_inside_its_route_and_cannot_escape_a_key_scope(
    shared_server: SandboxServer,
) -> None:
    hostile = "../../billing/credit-balance"
    async with make_client(shared_server, api_key=LIMITED_API_KEY) as kupe:
        with pytest.raises(NotFound) as caught:
            await kupe.get_agent(hostile)
    assert caught.value.path == "/api/v1/agents/..%2F..%2Fbilling%2Fcredit-balance"
    assert str(caught.value) == (
        'Kupe found nothing at GET /api/v1/agents/..%2F..%2Fbilling%2Fcredit-balance (404: "Not Found"): '
        "check the id; list the objects first to get a valid one."
    )
    assert shared_server.sandbox.request_log[-1] == ("GET", "/api/v1/agents/../../billing/credit-balance")
