"""Every catalogued operation sends exactly the request Kupe documents.

ONE table: each case calls a client method and states the concrete path, the query
and the JSON (or multipart) body Kupe expects. The HTTP method and path template are
not repeated here: they come from the method's ``@endpoint`` declaration, and the test
checks the request against them. Every case runs with an API key and with a Bearer session.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx2
import pytest
from pydantic import TypeAdapter

from kupe_mcp import __version__
from kupe_mcp.client import BatchStatus, CallStarted, CompleteAgent, KupeClient, Me, SearchResult, endpoint_of
from kupe_mcp.client._endpoint import Endpoint

from ._support import (
    API_KEY,
    BEARER_TOKEN,
    CALL_OK,
    CREDENTIALS,
    FakeKupe,
    kupe_client,
    multipart_parts,
    query_of,
    raw_path,
)


class _NoBody:
    def __repr__(self) -> str:
        return "NO_BODY"


NO_BODY: Any = _NoBody()


@dataclass(frozen=True)
class Multipart:
    """The expected multipart upload: the ``file`` part plus plain form fields."""

    filename: str
    content: bytes
    content_type: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Op:
    id: str
    call: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    path: str
    query: dict[str, str] = field(default_factory=dict)
    body: Any = NO_BODY  # expected JSON, NO_BODY, or Multipart
    reply: Any = None  # JSON or bytes; None: an enveloped object, or a one-row list for list endpoints
    returns: Any = None  # the type of the result; None: the reply validated as the endpoint's response
    auth: bool = True

    @property
    def endpoint(self) -> Endpoint:
        return endpoint_of(getattr(KupeClient, self.call))

    @property
    def method(self) -> str:
        return self.endpoint.method

    @property
    def template(self) -> str:
        return self.endpoint.path


AGENT_REPLY = {
    "agent": {"id": "agent-1", "name": "Support", "first_response_message": "Hi!"},
    "configurations": {"model_config": {"model_name": "gpt-4.1-mini"}, "tools": []},
    "validation_status": "valid",
}
SEARCH_REPLY = {"success": True, "message": "ok", "data": ["Refunds take 5 days."], "scores": [0.12]}
PHONE_REPLY = {"success": True, "phone_numbers": [{"id": "phone-1", "phone_number": "+15550001111"}]}
BATCH_ROWS_REPLY = {"success": True, "data": [{"id": "row-1", "to_phonenumber": "15551234567", "status": "failed"}]}
BATCH_STATUS_REPLY = {
    "success": True,
    "data": {"batch": {"id": "batch-1", "status": "in_progress"}, "status_counts": {"completed": 3, "total": 5}},
}
AGENT_BODY = {"agent": {"name": "Support"}, "agent_model_config": {"model_name": "gpt-4.1-mini"}}
RULE = {"name": "Lead score", "prompt": "Score the lead 0-100."}
TOOL = {"name": "crm_lookup", "url": "https://crm.example/lookup", "method": "POST"}
ZIP_BYTES = b"PK\x03\x04\x14\x00fake-zip"
CSV = b"to_phonenumber,name\n+15551234567,Ada\n"
TRUE = "true"

CASES: tuple[Op, ...] = (
    # Service and current user
    Op("health", "health", (), {}, "/health", reply={"status": "healthy"}, auth=False),
    Op("me", "me", (), {}, "/api/v1/me", reply={"user_id": "user-1"}, returns=Me),
    Op("me_users", "me_users", (), {}, "/api/v1/me/users"),
    # Agents
    Op("list_agents", "list_agents", (), {}, "/api/v1/agents", reply=[{"id": "agent-1"}]),
    Op(
        "list_agents-paged-search",
        "list_agents",
        (),
        {"page": 2, "page_size": 50, "scope": "all", "q": "sup"},
        "/api/v1/agents",
        query={"page": "2", "page_size": "50", "scope": "all", "q": "sup"},
    ),
    Op(
        "list_agents_summary-defaults",
        "list_agents_summary",
        (),
        {},
        "/api/v1/agents/summary",
        query={"page": "1", "page_size": "20"},
    ),
    Op(
        "list_agents_summary-name_search",
        "list_agents_summary",
        (),
        {"page": 3, "page_size": 10, "name_search": "sales"},
        "/api/v1/agents/summary",
        query={"page": "3", "page_size": "10", "name_search": "sales"},
    ),
    Op("agent_stats", "agent_stats", (), {}, "/api/v1/agents/stats"),
    Op(
        "get_agent",
        "get_agent",
        ("agent-1",),
        {},
        "/api/v1/agents/agent-1",
        reply=AGENT_REPLY,
        returns=CompleteAgent,
    ),
    Op(
        "create_agent",
        "create_agent",
        (AGENT_BODY,),
        {},
        "/api/v1/agents",
        body=AGENT_BODY,
        reply=AGENT_REPLY,
        returns=CompleteAgent,
    ),
    Op(
        "create_agent_simple-name-only",
        "create_agent_simple",
        ("Quickstart",),
        {},
        "/api/v1/agents/simple",
        body={"name": "Quickstart"},
        reply=AGENT_REPLY,
        returns=CompleteAgent,
    ),
    Op(
        "create_agent_simple-with-description",
        "create_agent_simple",
        ("Quickstart", "Uses platform defaults"),
        {},
        "/api/v1/agents/simple",
        body={"name": "Quickstart", "description": "Uses platform defaults"},
        reply=AGENT_REPLY,
        returns=CompleteAgent,
    ),
    Op(
        "update_agent",
        "update_agent",
        ("agent-1", {"agent": {"welcome_message": "Hello!"}}),
        {},
        "/api/v1/agents/agent-1",
        body={"agent": {"welcome_message": "Hello!"}},
        reply=AGENT_REPLY,
        returns=CompleteAgent,
    ),
    Op(
        "update_agent-force",
        "update_agent",
        ("agent-1", {"agent": {"name": "Renamed"}}),
        {"force_update": True},
        "/api/v1/agents/agent-1",
        query={"force_update": TRUE},
        body={"agent": {"name": "Renamed"}},
        reply=AGENT_REPLY,
        returns=CompleteAgent,
    ),
    Op(
        "delete_agent",
        "delete_agent",
        ("agent-1",),
        {},
        "/api/v1/agents/agent-1",
    ),
    Op(
        "delete_agent-force",
        "delete_agent",
        ("agent-1",),
        {"force_delete": True},
        "/api/v1/agents/agent-1",
        query={"force_delete": TRUE},
    ),
    Op(
        "patch_agent_model_config",
        "patch_agent_model_config",
        ("agent-1", {"system_prompt": "Be brief."}),
        {},
        "/api/v1/agents/agent-1/model-config",
        body={"system_prompt": "Be brief."},
        reply=AGENT_REPLY,
        returns=CompleteAgent,
    ),
    Op(
        "patch_agent_tts_config-force",
        "patch_agent_tts_config",
        ("agent-1", {"tts_model_name": "bulbul:v2", "voice_name": "Anushka"}),
        {"force_update": True},
        "/api/v1/agents/agent-1/tts-config",
        query={"force_update": TRUE},
        body={"tts_model_name": "bulbul:v2", "voice_name": "Anushka"},
        reply=AGENT_REPLY,
        returns=CompleteAgent,
    ),
    Op(
        "patch_agent_transcriber_config",
        "patch_agent_transcriber_config",
        ("agent-1", {"transcriber_model_name": "saarika:2.5", "language": "hi-IN"}),
        {},
        "/api/v1/agents/agent-1/transcriber-config",
        body={"transcriber_model_name": "saarika:2.5", "language": "hi-IN"},
        reply=AGENT_REPLY,
        returns=CompleteAgent,
    ),
    Op(
        "patch_agent_vad_config",
        "patch_agent_vad_config",
        ("agent-1", {"vad_provider_id": "vad-1", "threshold": 0.5}),
        {},
        "/api/v1/agents/agent-1/vad-config",
        body={"vad_provider_id": "vad-1", "threshold": 0.5},
        reply=AGENT_REPLY,
        returns=CompleteAgent,
    ),
    # Providers and catalog
    Op(
        "list_model_providers",
        "list_model_providers",
        (),
        {},
        "/api/v1/providers/model",
    ),
    Op("list_stt_providers", "list_stt_providers", (), {}, "/api/v1/providers/stt"),
    Op("list_tts_providers", "list_tts_providers", (), {}, "/api/v1/providers/tts"),
    Op("list_vad_providers", "list_vad_providers", (), {}, "/api/v1/providers/vad"),
    Op("list_all_providers", "list_all_providers", (), {}, "/api/v1/providers/all"),
    Op("list_tts_voices", "list_tts_voices", (), {}, "/api/v1/tts-voices"),
    Op(
        "create_tts_voice",
        "create_tts_voice",
        ({"voice_name": "Anushka", "provider_id": "tts-1"},),
        {},
        "/api/v1/tts-voices",
        body={"voice_name": "Anushka", "provider_id": "tts-1"},
    ),
    Op(
        "get_tts_voice",
        "get_tts_voice",
        ("voice-1",),
        {},
        "/api/v1/tts-voices/voice-1",
    ),
    Op(
        "list_tts_voices_by_provider",
        "list_tts_voices_by_provider",
        ("tts-1",),
        {},
        "/api/v1/tts-voices/provider/tts-1",
    ),
    Op(
        "list_noise_assets",
        "list_noise_assets",
        (),
        {},
        "/api/v1/noise-assets",
        reply=[{"id": "rain.wav", "name": "rain"}],
    ),
    # Phone lines
    Op(
        "list_phone_numbers",
        "list_phone_numbers",
        (),
        {},
        "/api/v1/phone",
        reply=PHONE_REPLY,
        returns=list,
    ),
    Op(
        "create_phone_mapping-agent",
        "create_phone_mapping",
        ("phone-1",),
        {"agent_id": "agent-1"},
        "/api/v1/phone/mapping",
        body={"phone_number_id": "phone-1", "agent_id": "agent-1"},
    ),
    Op(
        "create_phone_mapping-workflow",
        "create_phone_mapping",
        ("phone-1",),
        {"workflow_id": "wf-1"},
        "/api/v1/phone/mapping",
        body={"phone_number_id": "phone-1", "workflow_id": "wf-1"},
    ),
    Op(
        "get_phone_mapping_for_agent",
        "get_phone_mapping_for_agent",
        ("agent-1",),
        {},
        "/api/v1/phone/mapping/agent/agent-1",
    ),
    Op(
        "get_phone_mapping",
        "get_phone_mapping",
        ("phone-1",),
        {},
        "/api/v1/phone/mapping/phone-1",
    ),
    # Outbound calls
    Op(
        "create_call-agent",
        "create_call",
        ("+15551234567",),
        {"agent_id": "agent-1"},
        "/api/call/create_call",
        query={"phoneNumber": "+15551234567", "agent_id": "agent-1"},
        reply=CALL_OK,
        returns=CallStarted,
    ),
    Op(
        "create_call-workflow-line-variables",
        "create_call",
        ("+919876543210",),
        {"workflow_id": "wf-1", "phone_number_id": "phone-1", "variable_values": {"name": "Alex", "balance": "$50"}},
        "/api/call/create_call",
        query={"phoneNumber": "+919876543210", "workflow_id": "wf-1", "phone_number_id": "phone-1"},
        body={"variable_values": {"name": "Alex", "balance": "$50"}},
        reply=CALL_OK,
        returns=CallStarted,
    ),
    # Batch campaigns
    Op(
        "create_batch",
        "create_batch",
        ({"agent_id": "agent-1", "caller_phone_id": "phone-1", "batch_name": "Nov", "batch_size": 5},),
        {},
        "/api/v1/batch-call/create",
        body={"agent_id": "agent-1", "caller_phone_id": "phone-1", "batch_name": "Nov", "batch_size": 5},
    ),
    Op(
        "upload_batch_csv",
        "upload_batch_csv",
        ("batch-1",),
        {"filename": "leads.csv", "content": CSV},
        "/api/v1/batch-call/upload/batch-1",
        body=Multipart("leads.csv", CSV, "text/csv"),
    ),
    Op(
        "upload_batch_json",
        "upload_batch_json",
        ("batch-1", [{"to_phonenumber": "+919876543210", "name": "Ada"}]),
        {},
        "/api/v1/batch-call/upload-json/batch-1",
        body={"records": [{"to_phonenumber": "+919876543210", "name": "Ada"}]},
    ),
    Op(
        "upsert_batch_data",
        "upsert_batch_data",
        ("batch-1", [{"id": "row-1", "to_phonenumber": "+15551234567", "variable_values": {"name": "Bo"}}]),
        {},
        "/api/v1/batch-call/batch-1/data/upsert",
        body={"items": [{"id": "row-1", "to_phonenumber": "+15551234567", "variable_values": {"name": "Bo"}}]},
    ),
    Op(
        "list_batch_data",
        "list_batch_data",
        ("batch-1",),
        {},
        "/api/v1/batch-call/batch-1/data",
        reply=BATCH_ROWS_REPLY,
        returns=list,
    ),
    Op(
        "list_batch_data-status",
        "list_batch_data",
        ("batch-1",),
        {"status": "failed"},
        "/api/v1/batch-call/batch-1/data",
        query={"status": "failed"},
        reply=BATCH_ROWS_REPLY,
        returns=list,
    ),
    Op(
        "get_batch_status",
        "get_batch_status",
        ("batch-1",),
        {},
        "/api/v1/batch-call/batch-1/status",
        reply=BATCH_STATUS_REPLY,
        returns=BatchStatus,
    ),
    Op(
        "start_batch",
        "start_batch",
        ("batch-1",),
        {},
        "/api/v1/batch-call/start/batch-1",
    ),
    Op("list_my_batches", "list_my_batches", (), {}, "/api/v1/batch-call/me"),
    Op(
        "browse_batches-filters",
        "browse_batches",
        (),
        {"status": "in_progress", "search": "nov", "page": 2, "page_size": 10},
        "/api/v1/batch-call/browse",
        query={"status": "in_progress", "search": "nov", "page": "2", "page_size": "10"},
    ),
    Op(
        "list_user_batches",
        "list_user_batches",
        ("user-1",),
        {},
        "/api/v1/batch-call/user/user-1",
    ),
    Op("get_batch", "get_batch", ("batch-1",), {}, "/api/v1/batch-call/batch-1"),
    # Knowledge files and search
    Op(
        "upload_file-guessed-type",
        "upload_file",
        (),
        {"filename": "faq.pdf", "content": b"%PDF-1.4 fake"},
        "/api/v1/files/upload",
        body=Multipart("faq.pdf", b"%PDF-1.4 fake", "application/pdf"),
    ),
    Op(
        "upload_file-agent-explicit-type",
        "upload_file",
        (),
        {"filename": "notes.md", "content": b"# Refunds", "content_type": "text/markdown", "agent_id": "agent-1"},
        "/api/v1/files/upload",
        body=Multipart("notes.md", b"# Refunds", "text/markdown", {"agent_id": "agent-1"}),
    ),
    Op(
        "upload_file-unknown-extension",
        "upload_file",
        (),
        {"filename": "blob.zzqx", "content": b"\x00\x01"},
        "/api/v1/files/upload",
        body=Multipart("blob.zzqx", b"\x00\x01", "application/octet-stream"),
    ),
    Op(
        "supported_file_formats",
        "supported_file_formats",
        (),
        {},
        "/api/v1/files/supported-formats",
    ),
    Op("list_my_files", "list_my_files", (), {}, "/api/v1/files/user/me"),
    Op("get_file", "get_file", ("file-1",), {}, "/api/v1/files/file-1"),
    Op(
        "update_file",
        "update_file",
        ("file-1", {"original_filename": "faq-v2.pdf"}),
        {},
        "/api/v1/files/file-1",
        body={"original_filename": "faq-v2.pdf"},
    ),
    Op("delete_file", "delete_file", ("file-1",), {}, "/api/v1/files/file-1"),
    Op(
        "attach_file",
        "attach_file",
        ("agent-1", "file-1"),
        {},
        "/api/v1/agent-files-mappings/create",
        body={"agent_id": "agent-1", "upload_file_id": "file-1"},
    ),
    Op(
        "list_agent_files",
        "list_agent_files",
        ("agent-1",),
        {},
        "/api/v1/agent-files-mappings/agent/agent-1",
    ),
    Op(
        "detach_file",
        "detach_file",
        ("agent-1", "file-1"),
        {},
        "/api/v1/agent-files-mappings/agent/agent-1/file/file-1",
    ),
    Op(
        "search_semantic-query-only",
        "search_semantic",
        ("agent-1", "refund policy"),
        {},
        "/api/v1/search/semantic",
        query={"agent_id": "agent-1"},
        body={"query": "refund policy"},
        reply=SEARCH_REPLY,
        returns=SearchResult,
    ),
    Op(
        "search_semantic-tuned",
        "search_semantic",
        ("agent-1", "refund policy"),
        {"limit": 8, "similarity_threshold": 0.55},
        "/api/v1/search/semantic",
        query={"agent_id": "agent-1"},
        body={"query": "refund policy", "limit": 8, "similarity_threshold": 0.55},
        reply=SEARCH_REPLY,
        returns=SearchResult,
    ),
    Op(
        "search_hybrid-tuned",
        "search_hybrid",
        ("agent-1", "cancellation fee"),
        {"limit": 10, "keyword_weight": 0.4, "semantic_weight": 0.6, "similarity_threshold": 0.85},
        "/api/v1/search/hybrid",
        query={"agent_id": "agent-1"},
        body={
            "query": "cancellation fee",
            "limit": 10,
            "keyword_weight": 0.4,
            "semantic_weight": 0.6,
            "similarity_threshold": 0.85,
        },
        reply={"success": True, "data": ["Fee is $5."], "scores": [{"combined_score": 0.9}]},
        returns=SearchResult,
    ),
    # Call analytics
    Op("call_analytics", "call_analytics", (), {}, "/api/v1/call-analytics"),
    Op(
        "call_analytics-one-session",
        "call_analytics",
        (),
        {"request_id": "req-1"},
        "/api/v1/call-analytics",
        query={"request_id": "req-1"},
    ),
    Op(
        "call_analytics-page-filters",
        "call_analytics",
        (),
        {
            "page": 1,
            "page_size": 25,
            "filter": "outbound",
            "scope": "org",
            "organization_ids": ["org-1", "org-2"],
            "owner_user_ids": "user-1",
        },
        "/api/v1/call-analytics",
        query={
            "page": "1",
            "page_size": "25",
            "filter": "outbound",
            "scope": "org",
            "organization_ids": "org-1,org-2",
            "owner_user_ids": "user-1",
        },
    ),
    Op(
        "export_call_analytics-one-call-zip",
        "export_call_analytics",
        (),
        {"request_id": "req-1"},
        "/api/v1/call-analytics/export",
        query={"request_id": "req-1"},
        reply=ZIP_BYTES,
    ),
    Op(
        "export_call_analytics-range-emailed",
        "export_call_analytics",
        (),
        {"start_date": date(2026, 4, 1), "end_date": "2026-04-30", "include_recordings": True},
        "/api/v1/call-analytics/export",
        query={"start_date": "2026-04-01", "end_date": "2026-04-30", "include_recordings": TRUE},
        reply={"message": "Export will be emailed"},
    ),
    # Billing
    Op(
        "billing_usage_records",
        "billing_usage_records",
        (),
        {},
        "/api/v1/billing/usage-records",
    ),
    Op(
        "billing_usage_records_filtered",
        "billing_usage_records_filtered",
        (),
        {
            "time_filter": "month",
            "usage_type": "calls",
            "search": "req",
            "limit": 50,
            "offset": 100,
            "page": 3,
            "page_size": 50,
        },
        "/api/v1/billing/usage/records",
        query={
            "time_filter": "month",
            "usage_type": "calls",
            "search": "req",
            "limit": "50",
            "offset": "100",
            "page": "3",
            "page_size": "50",
        },
    ),
    Op(
        "billing_usage_summary",
        "billing_usage_summary",
        (),
        {"time_period": "4months", "scope": "mine"},
        "/api/v1/billing/usage/summary",
        query={"time_period": "4months", "scope": "mine"},
    ),
    Op(
        "billing_usage_overview",
        "billing_usage_overview",
        (),
        {"user_id": "user-2"},
        "/api/v1/billing/usage/overview",
        query={"user_id": "user-2"},
    ),
    Op(
        "billing_session_usage",
        "billing_session_usage",
        ("sess-1",),
        {},
        "/api/v1/billing/usage/sessions/sess-1",
    ),
    Op(
        "export_billing_usage",
        "export_billing_usage",
        (),
        {
            "time_filter": "all",
            "usage_type": "calls",
            "session_types": "outbound",
            "agent_ids": ["agent-1", "agent-2"],
            "from_date": "2026-01-01",
            "to_date": date(2026, 3, 31),
        },
        "/api/v1/billing/usage/export",
        query={
            "time_filter": "all",
            "usage_type": "calls",
            "session_types": "outbound",
            "agent_ids": "agent-1,agent-2",
            "from_date": "2026-01-01",
            "to_date": "2026-03-31",
        },
        reply={"message": "CSV will be emailed"},
    ),
    Op(
        "credit_balance",
        "credit_balance",
        (),
        {},
        "/api/v1/billing/credit-balance",
    ),
    # Wallets, orgs, earnings
    Op("my_wallet", "my_wallet", (), {}, "/api/v1/wallets/me"),
    Op("list_user_wallets", "list_user_wallets", (), {}, "/api/v1/wallets/users"),
    Op("list_org_wallets", "list_org_wallets", (), {}, "/api/v1/wallets/orgs"),
    Op(
        "list_org_member_wallets",
        "list_org_member_wallets",
        ("org-1",),
        {},
        "/api/v1/wallets/orgs/org-1/members",
    ),
    Op("get_wallet", "get_wallet", ("wallet-1",), {}, "/api/v1/wallets/wallet-1"),
    Op(
        "grant_wallet_credits",
        "grant_wallet_credits",
        ("wallet-1", {"amount_usd": 50, "expires_at": "2026-12-31"}),
        {},
        "/api/v1/wallets/wallet-1/grants",
        body={"amount_usd": 50, "expires_at": "2026-12-31"},
    ),
    Op(
        "set_wallet_cap",
        "set_wallet_cap",
        ("wallet-1", {"monthly_cap_usd": 100}),
        {},
        "/api/v1/wallets/wallet-1/cap",
        body={"monthly_cap_usd": 100},
    ),
    Op(
        "adjust_wallet",
        "adjust_wallet",
        ("wallet-1", {"amount_usd": -5, "reason": "refund"}),
        {},
        "/api/v1/wallets/wallet-1/adjust",
        body={"amount_usd": -5, "reason": "refund"},
    ),
    Op(
        "set_org_business_model",
        "set_org_business_model",
        ("org-1", {"org_type": "distributor"}),
        {},
        "/api/v1/orgs/org-1/business-model",
        body={"org_type": "distributor"},
    ),
    Op(
        "set_org_commission",
        "set_org_commission",
        ("org-1", {"commission_percentage": 10}),
        {},
        "/api/v1/orgs/org-1/commission",
        body={"commission_percentage": 10},
    ),
    Op(
        "set_org_markup",
        "set_org_markup",
        ("org-1", {"markup_percentage": 20, "currency": "USD"}),
        {},
        "/api/v1/orgs/org-1/markup",
        body={"markup_percentage": 20, "currency": "USD"},
    ),
    Op("my_earnings", "my_earnings", (), {}, "/api/v1/earnings/me"),
    Op(
        "my_earnings-period",
        "my_earnings",
        (),
        {"period": "week"},
        "/api/v1/earnings/me",
        query={"period": "week"},
    ),
    Op(
        "my_earnings_breakdown",
        "my_earnings_breakdown",
        (),
        {"period": "year"},
        "/api/v1/earnings/me/breakdown",
        query={"period": "year"},
    ),
    Op(
        "org_earnings",
        "org_earnings",
        ("org-1",),
        {"period": "all"},
        "/api/v1/earnings/orgs/org-1",
        query={"period": "all"},
    ),
    # Feature flags
    Op(
        "my_feature_flags",
        "my_feature_flags",
        (),
        {},
        "/api/v1/feature-flags/me",
    ),
    Op(
        "get_feature_flags",
        "get_feature_flags",
        ("user-2",),
        {},
        "/api/v1/feature-flags/user-2",
    ),
    Op(
        "update_feature_flags",
        "update_feature_flags",
        ("user-2", {"outbound": True}),
        {},
        "/api/v1/feature-flags/user-2",
        body={"outbound": True},
    ),
    # API keys
    Op(
        "create_api_key-named",
        "create_api_key",
        (),
        {"name": "CI"},
        "/api/v1/api-keys",
        body={"name": "CI"},
    ),
    Op(
        "create_api_key-docs-form",
        "create_api_key",
        (),
        {"name": "CI", "user_id": "user-1", "provider_name": "milli_chat_ai", "api_key": "client-chosen"},
        "/api/v1/api-keys",
        body={"name": "CI", "user_id": "user-1", "provider_name": "milli_chat_ai", "api_key": "client-chosen"},
    ),
    Op("list_api_keys", "list_api_keys", (), {}, "/api/v1/api-keys/fetch", reply=[]),
    Op(
        "list_api_keys-for-user",
        "list_api_keys",
        (),
        {"user_id": "user-2"},
        "/api/v1/api-keys/fetch",
        query={"user_id": "user-2"},
        reply=[],
    ),
    Op(
        "list_user_api_keys",
        "list_user_api_keys",
        ("user-2",),
        {},
        "/api/v1/api-keys/fetch/user-2",
        reply=[],
    ),
    Op(
        "api_key_exists",
        "api_key_exists",
        ("user-1", "milli_chat_ai"),
        {},
        "/api/v1/api-keys/exists",
        body={"user_id": "user-1", "provider_name": "milli_chat_ai"},
        reply=True,
    ),
    Op(
        "rename_api_key",
        "rename_api_key",
        ("key-1", "Production"),
        {},
        "/api/v1/api-keys/key-1",
        body={"name": "Production"},
    ),
    Op(
        "rename_api_key-clear-label-for-user",
        "rename_api_key",
        ("key-1", ""),
        {"user_id": "user-2"},
        "/api/v1/api-keys/key-1",
        query={"user_id": "user-2"},
        body={"name": ""},
    ),
    Op(
        "revoke_api_key",
        "revoke_api_key",
        ("key-1",),
        {},
        "/api/v1/api-keys/key-1",
    ),
    Op(
        "revoke_api_key-for-user",
        "revoke_api_key",
        ("key-1",),
        {"user_id": "user-2"},
        "/api/v1/api-keys/key-1",
        query={"user_id": "user-2"},
    ),
    # Post-call analysis
    Op(
        "list_analysis_rules",
        "list_analysis_rules",
        (),
        {},
        "/api/v1/post-analysis/rules",
        reply=[RULE],
    ),
    Op(
        "create_analysis_rule",
        "create_analysis_rule",
        (RULE,),
        {},
        "/api/v1/post-analysis/rules",
        body=RULE,
    ),
    Op(
        "get_analysis_rule",
        "get_analysis_rule",
        ("rule-1",),
        {},
        "/api/v1/post-analysis/rules/rule-1",
    ),
    Op(
        "update_analysis_rule",
        "update_analysis_rule",
        ("rule-1", RULE),
        {},
        "/api/v1/post-analysis/rules/rule-1",
        body=RULE,
    ),
    Op(
        "delete_analysis_rule",
        "delete_analysis_rule",
        ("rule-1",),
        {},
        "/api/v1/post-analysis/rules/rule-1",
    ),
    Op(
        "duplicate_analysis_rule",
        "duplicate_analysis_rule",
        ("rule-1",),
        {},
        "/api/v1/post-analysis/rules/rule-1/duplicate",
    ),
    Op(
        "get_agent_post_analysis",
        "get_agent_post_analysis",
        ("agent-1",),
        {},
        "/api/v1/agents/agent-1/post-analysis",
        reply=[],
    ),
    Op(
        "upsert_agent_post_analysis-path-id-wins",
        "upsert_agent_post_analysis",
        ("agent-1", {"structured_output": {"lead_score": "number"}, "agent_id": "stale"}),
        {},
        "/api/v1/agents/agent-1/post-analysis",
        body={"structured_output": {"lead_score": "number"}, "agent_id": "agent-1"},
    ),
    Op(
        "list_agent_attached_rules",
        "list_agent_attached_rules",
        ("agent-1",),
        {},
        "/api/v1/agents/agent-1/post-analysis/attached-rules",
        reply=[RULE],
    ),
    Op(
        "set_agent_attached_rules",
        "set_agent_attached_rules",
        ("agent-1", ["rule-1", "rule-2"]),
        {},
        "/api/v1/agents/agent-1/post-analysis/attached-rules",
        body={"rule_ids": ["rule-1", "rule-2"]},
    ),
    Op(
        "list_agent_attached_rule_ids",
        "list_agent_attached_rule_ids",
        ("agent-1",),
        {},
        "/api/v1/agents/agent-1/post-analysis/attached-rule-ids",
        reply=["rule-1"],
    ),
    # Tool definitions
    Op(
        "list_http_tools",
        "list_http_tools",
        (),
        {},
        "/api/v1/tool-endpoint-defs",
    ),
    Op(
        "create_http_tool",
        "create_http_tool",
        (TOOL,),
        {},
        "/api/v1/tool-endpoint-defs",
        body=TOOL,
    ),
    Op(
        "get_http_tool",
        "get_http_tool",
        ("tool-1",),
        {},
        "/api/v1/tool-endpoint-defs/tool-1",
    ),
    Op(
        "update_http_tool",
        "update_http_tool",
        ("tool-1", TOOL),
        {},
        "/api/v1/tool-endpoint-defs/tool-1",
        body=TOOL,
    ),
    Op(
        "delete_http_tool",
        "delete_http_tool",
        ("tool-1",),
        {},
        "/api/v1/tool-endpoint-defs/tool-1",
    ),
    Op(
        "list_mcp_tools",
        "list_mcp_tools",
        (),
        {},
        "/api/v1/tools-mcp-server-defs",
    ),
    Op(
        "create_mcp_tool",
        "create_mcp_tool",
        ({"name": "docs", "server_url": "https://mcp.example/sse"},),
        {},
        "/api/v1/tools-mcp-server-defs",
        body={"name": "docs", "server_url": "https://mcp.example/sse"},
    ),
    Op(
        "get_mcp_tool",
        "get_mcp_tool",
        ("mcp-1",),
        {},
        "/api/v1/tools-mcp-server-defs/mcp-1",
    ),
    Op(
        "update_mcp_tool",
        "update_mcp_tool",
        ("mcp-1", {"name": "docs-v2"}),
        {},
        "/api/v1/tools-mcp-server-defs/mcp-1",
        body={"name": "docs-v2"},
    ),
    Op(
        "delete_mcp_tool",
        "delete_mcp_tool",
        ("mcp-1",),
        {},
        "/api/v1/tools-mcp-server-defs/mcp-1",
    ),
    # Agent tools
    Op(
        "list_agent_tools",
        "list_agent_tools",
        ("agent-1",),
        {},
        "/api/v1/agents/agent-1/tools",
        reply=[{"tool_id": "tool-1"}],
    ),
    Op(
        "add_agent_tools-array-body",
        "add_agent_tools",
        ("agent-1", [{"tool_id": "tool-1", "tool_type": "http"}]),
        {},
        "/api/v1/agents/agent-1/tools",
        body=[{"tool_id": "tool-1", "tool_type": "http"}],
    ),
    Op(
        "replace_agent_tools",
        "replace_agent_tools",
        ("agent-1", [{"tool_id": "tool-2"}]),
        {},
        "/api/v1/agents/agent-1/tools",
        body=[{"tool_id": "tool-2"}],
    ),
    Op(
        "replace_agent_tools-force-empty",
        "replace_agent_tools",
        ("agent-1", []),
        {"force_update": True},
        "/api/v1/agents/agent-1/tools",
        query={"force_update": TRUE},
        body=[],
    ),
    Op(
        "remove_agent_tool",
        "remove_agent_tool",
        ("agent-1", "tool-1"),
        {},
        "/api/v1/agents/agent-1/tools/tool-1",
    ),
    # Agent webhooks
    Op(
        "list_my_webhooks",
        "list_my_webhooks",
        (),
        {},
        "/api/v1/webhooks/me",
        reply={"agents": []},
    ),
    Op(
        "get_agent_webhooks",
        "get_agent_webhooks",
        ("agent-1",),
        {},
        "/api/v1/webhooks/agents/agent-1",
    ),
    Op(
        "get_agent_webhooks-reveal-secret",
        "get_agent_webhooks",
        ("agent-1",),
        {"reveal_secret": True},
        "/api/v1/webhooks/agents/agent-1",
        query={"reveal_secret": TRUE},
    ),
    Op(
        "put_agent_webhooks",
        "put_agent_webhooks",
        ("agent-1", {"outgoing": {"url": "https://crm.example/hook"}}),
        {},
        "/api/v1/webhooks/agents/agent-1",
        body={"outgoing": {"url": "https://crm.example/hook"}},
    ),
    Op(
        "rotate_webhook_secret",
        "rotate_webhook_secret",
        ("agent-1",),
        {},
        "/api/v1/webhooks/agents/agent-1/rotate-secret",
    ),
    Op(
        "test_outgoing_webhook",
        "test_outgoing_webhook",
        ("agent-1",),
        {},
        "/api/v1/webhooks/agents/agent-1/test-outgoing",
    ),
)


def _reply(op: Op) -> httpx2.Response:
    if op.reply is None:
        many = op.endpoint.envelope.many
        return httpx2.Response(200, json=[{"id": "x-1"}] if many else {"message": "ok", "data": {"id": "x-1"}})
    if isinstance(op.reply, bytes):
        return httpx2.Response(200, content=op.reply, headers={"content-type": "application/zip"})
    return httpx2.Response(200, json=op.reply)


def _assert_body(request: httpx2.Request, expected: Any) -> None:
    if expected is NO_BODY:
        assert request.content == b""
    elif isinstance(expected, Multipart):
        parts = multipart_parts(request)
        assert parts.pop("file") == (expected.filename, expected.content_type, expected.content)
        assert {name: content.decode() for name, (_, _, content) in parts.items()} == expected.fields
    else:
        assert request.headers["content-type"] == "application/json"
        assert json.loads(request.content) == expected


def _assert_auth(request: httpx2.Request, kind: str | None) -> None:
    if kind == "api_key":
        assert request.headers.get("x-api-key") == API_KEY
        assert "authorization" not in request.headers
    elif kind == "bearer":
        assert request.headers.get("authorization") == f"Bearer {BEARER_TOKEN}"
        assert "x-api-key" not in request.headers
    else:
        assert "x-api-key" not in request.headers
        assert "authorization" not in request.headers


def test_each_case_path_fills_its_template() -> None:
    for op in CASES:
        pattern = re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(op.template))
        assert re.fullmatch(pattern, op.path), f"{op.id}: {op.path} does not fill {op.template}"


def test_case_ids_are_unique() -> None:
    ids = [op.id for op in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.anyio
@pytest.mark.parametrize("auth_kind", ["api_key", "bearer"])
@pytest.mark.parametrize("op", CASES, ids=[op.id for op in CASES])
async def test_operation_sends_the_documented_request(op: Op, auth_kind: str) -> None:
    fake = FakeKupe(_reply(op))
    async with kupe_client(fake, credentials=CREDENTIALS[auth_kind]) as client:
        result = await getattr(client, op.call)(*op.args, **op.kwargs)

    [request] = fake.requests
    assert request.method == op.method
    assert raw_path(request) == op.path
    assert query_of(request) == op.query
    _assert_body(request, op.body)
    _assert_auth(request, auth_kind if op.auth else None)
    assert request.headers["user-agent"] == f"kupe-app-mcp/{__version__}"
    expected = op.returns or op.endpoint.response
    assert TypeAdapter(expected).validate_python(result, strict=False) == result


@pytest.mark.anyio
@pytest.mark.parametrize(
    "targets",
    [pytest.param({}, id="neither"), pytest.param({"agent_id": "agent-1", "workflow_id": "wf-1"}, id="both")],
)
async def test_phone_mapping_needs_exactly_one_target_before_any_request(targets: dict[str, str]) -> None:
    fake = FakeKupe()
    async with kupe_client(fake) as client:
        with pytest.raises(ValueError, match="exactly one of agent_id or workflow_id"):
            await client.create_phone_mapping("phone-1", **targets)
    assert fake.requests == []
