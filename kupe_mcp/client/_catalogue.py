"""Every Kupe REST operation the client covers: (HTTP method, path template) -> client method.

This is the single list a test checks against ``KupeClient`` (each entry has a method)
and against the unit tests (each entry has a case). Sources: ``docs`` = Kupe's Markdown
docs, ``spec`` = the OpenAPI file, ``both``. Left out on purpose (telephony and browser
plumbing, not for an API client): ``/api/call/incoming_call``, the media-stream
WebSockets, ``/api/call/auth/token``, ``/api/v1/batch-call/status-callback`` and the
HMAC-signed ``/api/v1/webhooks/agents/{agent_id}/incoming``.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

__all__ = ["ENDPOINTS", "Endpoint"]

Source = Literal["docs", "spec", "both"]


class Endpoint(NamedTuple):
    method: str
    path: str
    client_method: str
    source: Source = "both"


ENDPOINTS: tuple[Endpoint, ...] = (
    # Service and current user
    Endpoint("GET", "/health", "health"),
    Endpoint("GET", "/api/v1/me", "me"),
    Endpoint("GET", "/api/v1/me/users", "me_users", "spec"),
    # Agents
    Endpoint("GET", "/api/v1/agents", "list_agents", "spec"),
    Endpoint("GET", "/api/v1/agents/summary", "list_agents_summary", "docs"),
    Endpoint("GET", "/api/v1/agents/stats", "agent_stats", "spec"),
    Endpoint("GET", "/api/v1/agents/{agent_id}", "get_agent"),
    Endpoint("POST", "/api/v1/agents", "create_agent", "spec"),
    Endpoint("POST", "/api/v1/agents/simple", "create_agent_simple"),
    Endpoint("PUT", "/api/v1/agents/{agent_id}", "update_agent"),
    Endpoint("DELETE", "/api/v1/agents/{agent_id}", "delete_agent"),
    Endpoint("PATCH", "/api/v1/agents/{agent_id}/model-config", "patch_agent_model_config", "spec"),
    Endpoint("PATCH", "/api/v1/agents/{agent_id}/tts-config", "patch_agent_tts_config", "spec"),
    Endpoint("PATCH", "/api/v1/agents/{agent_id}/transcriber-config", "patch_agent_transcriber_config", "spec"),
    Endpoint("PATCH", "/api/v1/agents/{agent_id}/vad-config", "patch_agent_vad_config", "spec"),
    # Providers and catalog
    Endpoint("GET", "/api/v1/providers/model", "list_model_providers"),
    Endpoint("GET", "/api/v1/providers/stt", "list_stt_providers"),
    Endpoint("GET", "/api/v1/providers/tts", "list_tts_providers"),
    Endpoint("GET", "/api/v1/providers/vad", "list_vad_providers", "docs"),
    Endpoint("GET", "/api/v1/providers/all", "list_all_providers"),
    Endpoint("GET", "/api/v1/tts-voices", "list_tts_voices"),
    Endpoint("POST", "/api/v1/tts-voices", "create_tts_voice", "docs"),
    Endpoint("GET", "/api/v1/tts-voices/{voice_id}", "get_tts_voice", "docs"),
    Endpoint("GET", "/api/v1/tts-voices/provider/{provider_id}", "list_tts_voices_by_provider", "docs"),
    Endpoint("GET", "/api/v1/noise-assets", "list_noise_assets", "spec"),
    # Phone lines
    Endpoint("GET", "/api/v1/phone", "list_phone_numbers"),
    Endpoint("POST", "/api/v1/phone/mapping", "create_phone_mapping"),
    Endpoint("GET", "/api/v1/phone/mapping/agent/{agent_id}", "get_phone_mapping_for_agent", "docs"),
    Endpoint("GET", "/api/v1/phone/mapping/{phone_number_id}", "get_phone_mapping", "docs"),
    # Outbound calls
    Endpoint("POST", "/api/call/create_call", "create_call"),
    # Batch campaigns
    Endpoint("POST", "/api/v1/batch-call/create", "create_batch"),
    Endpoint("POST", "/api/v1/batch-call/upload/{batch_id}", "upload_batch_csv", "docs"),
    Endpoint("POST", "/api/v1/batch-call/upload-json/{batch_id}", "upload_batch_json", "spec"),
    Endpoint("POST", "/api/v1/batch-call/{batch_id}/data/upsert", "upsert_batch_data"),
    Endpoint("GET", "/api/v1/batch-call/{batch_id}/data", "list_batch_data"),
    Endpoint("GET", "/api/v1/batch-call/{batch_id}/status", "get_batch_status", "spec"),
    Endpoint("POST", "/api/v1/batch-call/start/{batch_id}", "start_batch"),
    Endpoint("GET", "/api/v1/batch-call/me", "list_my_batches", "spec"),
    Endpoint("GET", "/api/v1/batch-call/browse", "browse_batches", "docs"),
    Endpoint("GET", "/api/v1/batch-call/user/{user_id}", "list_user_batches", "docs"),
    Endpoint("GET", "/api/v1/batch-call/{batch_id}", "get_batch"),
    # Knowledge files and search
    Endpoint("POST", "/api/v1/files/upload", "upload_file"),
    Endpoint("GET", "/api/v1/files/supported-formats", "supported_file_formats"),
    Endpoint("GET", "/api/v1/files/user/me", "list_my_files"),
    Endpoint("GET", "/api/v1/files/{file_id}", "get_file"),
    Endpoint("PUT", "/api/v1/files/{file_id}", "update_file", "docs"),
    Endpoint("DELETE", "/api/v1/files/{file_id}", "delete_file"),
    Endpoint("POST", "/api/v1/agent-files-mappings/create", "attach_file"),
    Endpoint("GET", "/api/v1/agent-files-mappings/agent/{agent_id}", "list_agent_files"),
    Endpoint("DELETE", "/api/v1/agent-files-mappings/agent/{agent_id}/file/{upload_file_id}", "detach_file"),
    Endpoint("POST", "/api/v1/search/semantic", "search_semantic"),
    Endpoint("POST", "/api/v1/search/hybrid", "search_hybrid", "spec"),
    # Call analytics
    Endpoint("GET", "/api/v1/call-analytics", "call_analytics"),
    Endpoint("GET", "/api/v1/call-analytics/export", "export_call_analytics"),
    # Billing (read-only for API keys)
    Endpoint("GET", "/api/v1/billing/usage-records", "billing_usage_records"),
    Endpoint("GET", "/api/v1/billing/usage/records", "billing_usage_records_filtered"),
    Endpoint("GET", "/api/v1/billing/usage/summary", "billing_usage_summary"),
    Endpoint("GET", "/api/v1/billing/usage/overview", "billing_usage_overview"),
    Endpoint("GET", "/api/v1/billing/usage/sessions/{session_id}", "billing_session_usage"),
    Endpoint("GET", "/api/v1/billing/usage/export", "export_billing_usage"),
    Endpoint("GET", "/api/v1/billing/credit-balance", "credit_balance"),
    # Wallets, orgs, earnings (admin; writes need a Bearer session)
    Endpoint("GET", "/api/v1/wallets/me", "my_wallet"),
    Endpoint("GET", "/api/v1/wallets/users", "list_user_wallets", "docs"),
    Endpoint("GET", "/api/v1/wallets/orgs", "list_org_wallets", "docs"),
    Endpoint("GET", "/api/v1/wallets/orgs/{org_id}/members", "list_org_member_wallets", "docs"),
    Endpoint("GET", "/api/v1/wallets/{wallet_id}", "get_wallet"),
    Endpoint("POST", "/api/v1/wallets/{wallet_id}/grants", "grant_wallet_credits", "docs"),
    Endpoint("POST", "/api/v1/wallets/{wallet_id}/cap", "set_wallet_cap", "docs"),
    Endpoint("POST", "/api/v1/wallets/{wallet_id}/adjust", "adjust_wallet", "docs"),
    Endpoint("POST", "/api/v1/orgs/{org_id}/business-model", "set_org_business_model", "docs"),
    Endpoint("POST", "/api/v1/orgs/{org_id}/commission", "set_org_commission", "docs"),
    Endpoint("POST", "/api/v1/orgs/{org_id}/markup", "set_org_markup", "docs"),
    Endpoint("GET", "/api/v1/earnings/me", "my_earnings"),
    Endpoint("GET", "/api/v1/earnings/me/breakdown", "my_earnings_breakdown"),
    Endpoint("GET", "/api/v1/earnings/orgs/{org_id}", "org_earnings"),
    # Feature flags
    Endpoint("GET", "/api/v1/feature-flags/me", "my_feature_flags", "docs"),
    Endpoint("GET", "/api/v1/feature-flags/{user_id}", "get_feature_flags", "docs"),
    Endpoint("PUT", "/api/v1/feature-flags/{user_id}", "update_feature_flags", "docs"),
    # API keys
    Endpoint("POST", "/api/v1/api-keys", "create_api_key"),
    Endpoint("GET", "/api/v1/api-keys/fetch", "list_api_keys", "spec"),
    Endpoint("GET", "/api/v1/api-keys/fetch/{user_id}", "list_user_api_keys", "docs"),
    Endpoint("POST", "/api/v1/api-keys/exists", "api_key_exists", "docs"),
    Endpoint("PATCH", "/api/v1/api-keys/{key_id}", "rename_api_key"),
    Endpoint("DELETE", "/api/v1/api-keys/{key_id}", "revoke_api_key"),
    # Post-call analysis
    Endpoint("GET", "/api/v1/post-analysis/rules", "list_analysis_rules"),
    Endpoint("POST", "/api/v1/post-analysis/rules", "create_analysis_rule"),
    Endpoint("GET", "/api/v1/post-analysis/rules/{rule_id}", "get_analysis_rule"),
    Endpoint("PUT", "/api/v1/post-analysis/rules/{rule_id}", "update_analysis_rule"),
    Endpoint("DELETE", "/api/v1/post-analysis/rules/{rule_id}", "delete_analysis_rule"),
    Endpoint("POST", "/api/v1/post-analysis/rules/{rule_id}/duplicate", "duplicate_analysis_rule"),
    Endpoint("GET", "/api/v1/agents/{agent_id}/post-analysis", "get_agent_post_analysis"),
    Endpoint("POST", "/api/v1/agents/{agent_id}/post-analysis", "upsert_agent_post_analysis"),
    Endpoint("GET", "/api/v1/agents/{agent_id}/post-analysis/attached-rules", "list_agent_attached_rules"),
    Endpoint("PUT", "/api/v1/agents/{agent_id}/post-analysis/attached-rules", "set_agent_attached_rules"),
    Endpoint("GET", "/api/v1/agents/{agent_id}/post-analysis/attached-rule-ids", "list_agent_attached_rule_ids"),
    # Tool definitions and agent tools
    Endpoint("GET", "/api/v1/tool-endpoint-defs", "list_http_tools"),
    Endpoint("POST", "/api/v1/tool-endpoint-defs", "create_http_tool"),
    Endpoint("GET", "/api/v1/tool-endpoint-defs/{tool_id}", "get_http_tool"),
    Endpoint("PUT", "/api/v1/tool-endpoint-defs/{tool_id}", "update_http_tool"),
    Endpoint("DELETE", "/api/v1/tool-endpoint-defs/{tool_id}", "delete_http_tool"),
    Endpoint("GET", "/api/v1/tools-mcp-server-defs", "list_mcp_tools"),
    Endpoint("POST", "/api/v1/tools-mcp-server-defs", "create_mcp_tool"),
    Endpoint("GET", "/api/v1/tools-mcp-server-defs/{tool_id}", "get_mcp_tool"),
    Endpoint("PUT", "/api/v1/tools-mcp-server-defs/{tool_id}", "update_mcp_tool"),
    Endpoint("DELETE", "/api/v1/tools-mcp-server-defs/{tool_id}", "delete_mcp_tool"),
    Endpoint("GET", "/api/v1/agents/{agent_id}/tools", "list_agent_tools"),
    Endpoint("POST", "/api/v1/agents/{agent_id}/tools", "add_agent_tools"),
    Endpoint("PATCH", "/api/v1/agents/{agent_id}/tools", "replace_agent_tools"),
    Endpoint("DELETE", "/api/v1/agents/{agent_id}/tools/{tool_id}", "remove_agent_tool"),
    # Agent webhooks
    Endpoint("GET", "/api/v1/webhooks/me", "list_my_webhooks", "spec"),
    Endpoint("GET", "/api/v1/webhooks/agents/{agent_id}", "get_agent_webhooks", "spec"),
    Endpoint("PUT", "/api/v1/webhooks/agents/{agent_id}", "put_agent_webhooks", "spec"),
    Endpoint("POST", "/api/v1/webhooks/agents/{agent_id}/rotate-secret", "rotate_webhook_secret", "spec"),
    Endpoint("POST", "/api/v1/webhooks/agents/{agent_id}/test-outgoing", "test_outgoing_webhook", "spec"),
)
