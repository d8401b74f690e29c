"""Response models for the Kupe routes whose spec answer is open (``ArbitraryJson``) or loosely typed.

Each model types the fields Kupe's docs describe (the platform REST guide, the spec's
examples and the call-completed payload) and keeps everything else (``extra="allow"``
from ``KupeModel``): a deployment that sends more loses nothing, one that sends less
still validates. Where the spec does type a field (``NoiseAssetResponse``: ``id`` and
``name`` required), the model is as strict as the spec.
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, Field, model_validator

from kupe_mcp.client._models import KupeModel

__all__ = [
    "Ack",
    "AgentPage",
    "AgentRow",
    "AgentStats",
    "AgentTool",
    "AgentWebhook",
    "AnalysisRule",
    "ApiKey",
    "Batch",
    "BatchWrite",
    "CallCompletedPayload",
    "CallLog",
    "CallSession",
    "CreditBalance",
    "Download",
    "Earnings",
    "ExportAck",
    "FeatureFlags",
    "FileFormats",
    "FileList",
    "FileMapping",
    "Health",
    "KeyExists",
    "KnowledgeFile",
    "NewApiKey",
    "NoiseAsset",
    "OrgMembers",
    "PhoneMapping",
    "PostAnalysis",
    "ProviderCatalog",
    "ProviderRow",
    "SessionUsage",
    "ToolDefinition",
    "UsageOverview",
    "UsageRecords",
    "UsageSession",
    "UsageSummary",
    "UserRow",
    "Voice",
    "Wallet",
    "WalletDetail",
    "WebhookRow",
    "WebhookSecret",
    "WebhookTest",
]


class Ack(KupeModel):
    """``KupeSuccessResponse`` and the other bare acknowledgements: ``message`` plus an optional payload."""

    success: bool | None = None
    message: str | None = None
    data: Any = None


class Health(KupeModel):
    """``GET /health``."""

    status: str | None = None
    service: str | None = None
    version: str | None = None
    database: str | None = None


class UserRow(KupeModel):
    """One user the caller may act for (``GET /api/v1/me/users``)."""

    user_id: str | None = Field(default=None, validation_alias=AliasChoices("user_id", "id"))
    email: str | None = None
    full_name: str | None = None
    role: str | None = None


class AgentRow(KupeModel):
    """One agent as the list routes show it (``GET /api/v1/agents``, ``/agents/summary``)."""

    id: str
    name: str | None = None
    description: str | None = None
    is_active: bool | None = None
    user_id: str | None = None
    created_at: str | None = None


def page_envelope(value: Any, keys: tuple[str, ...], *, single: bool = False) -> Any:
    """A list answer as ``{"items": [...], **the rest}``: a bare array, the list under one of ``keys`` at the
    top or inside ``data`` (the rest, such as ``total``, kept from that level), or with ``single`` a lone
    object (bare or in ``data``) as a one-item page."""
    if isinstance(value, list):
        return {"items": value}
    if not isinstance(value, dict):
        return value
    for level in (value, value.get("data")):
        if isinstance(level, list):
            rest = {k: v for k, v in value.items() if k not in ("data", "success", "message")}
            return {**rest, "items": level}
        if isinstance(level, dict):
            for key in keys:
                if isinstance(level.get(key), list):
                    return {**{k: v for k, v in level.items() if k != key}, "items": level[key]}
    if single:
        one = value.get("data") if isinstance(value.get("data"), dict) else value
        return {"items": [one]} if one else {"items": []}
    return value


class AgentPage(KupeModel):
    """``GET /api/v1/agents/summary``: a page of agents and the total (a bare array is read as the page)."""

    items: list[AgentRow] = Field(default_factory=list, validation_alias=AliasChoices("items", "agents", "data"))
    total: int | None = Field(default=None, validation_alias=AliasChoices("total", "total_count", "count"))
    page: int | None = None
    page_size: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_list(cls, value: Any) -> Any:
        if isinstance(value, list):
            return {"items": value}
        if isinstance(value, dict) and isinstance(value.get("data"), dict):
            return value["data"]
        return value


class AgentStats(KupeModel):
    """``GET /api/v1/agents/stats``: counts and usage over the caller's agents."""

    total_agents: int | None = None
    active_agents: int | None = None
    total_calls: int | None = None
    completed_calls: int | None = None
    failed_calls: int | None = None
    total_duration_seconds: float | None = None
    total_cost_usd: float | None = None


class ProviderRow(KupeModel):
    """A catalog row (``ModelProviderRowExample``): ``model_name`` is the code agent configs take."""

    id: str | None = None
    provider_name: str | None = None
    model_name: str | None = None
    is_default: bool | None = None
    supported_languages: list[str] | None = None


class ProviderCatalog(KupeModel):
    """``GET /api/v1/providers/all``: every provider table in one object."""

    model_providers: list[ProviderRow] | None = Field(
        default=None, validation_alias=AliasChoices("model_providers", "llm_providers", "model")
    )
    tts_providers: list[ProviderRow] | None = Field(default=None, validation_alias=AliasChoices("tts_providers", "tts"))
    stt_providers: list[ProviderRow] | None = Field(default=None, validation_alias=AliasChoices("stt_providers", "stt"))
    vad_providers: list[ProviderRow] | None = Field(default=None, validation_alias=AliasChoices("vad_providers", "vad"))


class Voice(KupeModel):
    """A TTS voice row; ``voice_name`` (or ``name``) is what ``tts_config.voice_name`` takes."""

    id: str | None = None
    name: str | None = None
    voice_name: str | None = None
    provider_id: str | None = None
    provider_name: str | None = None
    tts_model_name: str | None = None
    gender: str | None = None
    language: str | None = None


class NoiseAsset(KupeModel):
    """``NoiseAssetResponse``: ``id`` is the ``background_noise_id``."""

    id: str
    name: str


class PhoneMapping(KupeModel):
    """What a phone line routes to (agent or workflow)."""

    phone_number_id: str | None = None
    phone_number: str | None = None
    agent_id: str | None = None
    workflow_id: str | None = None
    updated_at: str | None = None


class Batch(KupeModel):
    """A batch campaign's metadata."""

    id: str | None = Field(default=None, validation_alias=AliasChoices("id", "batch_id"))
    batch_name: str | None = None
    status: str | None = None
    agent_id: str | None = None
    workflow_id: str | None = None
    caller_phone_id: str | None = None
    batch_size: int | None = None
    variable_names: list[str] | None = None
    total_recipients: int | None = None
    created_at: str | None = None


class BatchWrite(KupeModel):
    """What adding recipients did (upsert / upload): counts, and per-row errors when Kupe gives them."""

    inserted: int | None = None
    updated: int | None = None
    failed: int | None = None
    errors: list[Any] | None = None


class KnowledgeFile(KupeModel):
    """A knowledge file's metadata (upload answer, ``GET /api/v1/files/{file_id}``, list rows)."""

    id: str | None = Field(default=None, validation_alias=AliasChoices("id", "file_id", "upload_file_id"))
    original_filename: str | None = Field(
        default=None, validation_alias=AliasChoices("original_filename", "file_name", "filename", "name")
    )
    file_type: str | None = None
    file_size: int | None = Field(default=None, validation_alias=AliasChoices("file_size", "size", "size_bytes"))
    chunk_count: int | None = None
    status: str | None = None
    created_at: str | None = None


class FileList(KupeModel):
    """``GET /api/v1/files/user/me`` (``data``): the files and their total."""

    files: list[KnowledgeFile] = Field(default_factory=list, validation_alias=AliasChoices("files", "items", "data"))
    total: int | None = Field(default=None, validation_alias=AliasChoices("total", "total_count", "count"))

    @model_validator(mode="before")
    @classmethod
    def _bare_list(cls, value: Any) -> Any:
        return {"files": value} if isinstance(value, list) else value


class FileFormats(KupeModel):
    """``GET /api/v1/files/supported-formats`` (``data``)."""

    extensions: list[str] = Field(default_factory=list)
    mime_types: list[str] = Field(default_factory=list)
    max_file_size_bytes: int | None = None


class FileMapping(KupeModel):
    """An agent-file attachment."""

    id: str | None = None
    agent_id: str | None = None
    upload_file_id: str | None = None
    file_name: str | None = None


class CallSession(KupeModel):
    """One call session from ``GET /api/v1/call-analytics``.

    Kupe's spec leaves it open; the fields are those its docs describe for the call log and
    the call-completed payload (``CallCompletedPayload``). ``transcript`` is a list of turns
    or plain text; ``post_call_analysis_results`` is whatever the agent's rules extracted.
    """

    request_id: str | None = None
    call_session_id: str | None = None
    agent_id: str | None = None
    agent_name: str | None = None
    # The call-completed payload names it call_status; a session may carry only that name.
    status: str | None = Field(default=None, validation_alias=AliasChoices("status", "call_status"))
    call_type: str | None = None
    target_number: str | None = None
    from_phone_number: str | None = None
    duration: float | None = Field(default=None, validation_alias=AliasChoices("duration", "call_duration"))
    cost_usd: float | None = None
    created_at: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    summary: str | None = None
    error_message: str | None = None
    recording_url: str | None = None
    transcript: Any = None
    post_call_analysis_results: Any = None


class CallLog(KupeModel):
    """``GET /api/v1/call-analytics``: sessions and, when Kupe sends it, the log's total.

    The spec leaves the answer open; the docs show a bare array, ``{items, total, page, page_size}``,
    ``{data: [...]}`` and, for one ``request_id``, the lone session (bare or in ``data``).
    """

    items: list[CallSession] = Field(default_factory=list)
    total: int | None = Field(default=None, validation_alias=AliasChoices("total", "total_count", "count"))
    page: int | None = None
    page_size: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _envelopes(cls, value: Any) -> Any:
        return page_envelope(value, ("items", "sessions", "calls", "data"), single=True)


class UsageSession(KupeModel):
    """Usage and cost of one call session (billing views)."""

    session_id: str | None = None
    request_id: str | None = None
    agent_id: str | None = None
    agent_name: str | None = None
    session_type: str | None = None
    to_number: str | None = None
    created_at: str | None = None
    duration_seconds: float | None = None
    total_cost_usd: float | None = None


class UsageRecords(KupeModel):
    """Usage grouped by session (``/billing/usage-records``, ``/billing/usage/records``)."""

    sessions: list[UsageSession] = Field(
        default_factory=list,
        validation_alias=AliasChoices("sessions", "grouped_sessions", "items", "records", "data"),
    )
    total: int | None = Field(default=None, validation_alias=AliasChoices("total", "total_count", "count"))

    @model_validator(mode="before")
    @classmethod
    def _bare_list(cls, value: Any) -> Any:
        return {"sessions": value} if isinstance(value, list) else value


class UsageSummary(KupeModel):
    """``GET /api/v1/billing/usage/summary``: chart buckets and per-service cost (USD)."""

    time_period: str | None = None
    granularity: str | None = None
    buckets: list[dict[str, Any]] | None = None
    by_service: dict[str, float | None] | None = None
    totals: dict[str, Any] | None = None
    currency: str | None = None


class UsageOverview(KupeModel):
    """``GET /api/v1/billing/usage/overview``: total and this-month usage."""

    user_id: str | None = None
    total: dict[str, Any] | None = None
    this_month: dict[str, Any] | None = None
    currency: str | None = None


class SessionUsage(KupeModel):
    """``GET /api/v1/billing/usage/sessions/{session_id}``: one session's cost by service."""

    session_id: str | None = None
    total_cost_usd: float | None = None
    duration_seconds: float | None = None
    currency: str | None = None


class ExportAck(KupeModel):
    """An export Kupe queued or emailed instead of answering with the file."""

    success: bool | None = None
    message: str | None = None
    export_id: str | None = None
    filters: dict[str, Any] | None = None


class Download(KupeModel):
    """An export answer: the file's bytes, or Kupe's acknowledgement that it was queued or emailed."""

    content: bytes | None = None
    ack: ExportAck | None = None


class Wallet(KupeModel):
    """A wallet summary (USD)."""

    wallet_id: str | None = Field(default=None, validation_alias=AliasChoices("wallet_id", "id"))
    owner_type: str | None = None
    user_id: str | None = None
    org_id: str | None = None
    balance_usd: float | None = None
    available_balance_usd: float | None = None
    currency: str | None = None
    monthly_cap_usd: float | None = None
    monthly_spend_usd: float | None = None
    monthly_cap_remaining_usd: float | None = None


class CreditBalance(Wallet):
    """``GET /api/v1/billing/credit-balance``: the wallet-backed balance."""

    credit_balance_usd: float | None = None


class WalletDetail(KupeModel):
    """``GET /api/v1/wallets/{wallet_id}``: the wallet with its grants and ledger."""

    wallet: Wallet | None = None
    grants: list[dict[str, Any]] | None = None
    ledger: list[dict[str, Any]] | None = None


class OrgMembers(KupeModel):
    """``GET /api/v1/wallets/orgs/{org_id}/members``."""

    org_id: str | None = None
    members: list[dict[str, Any]] = Field(default_factory=list)


class Earnings(KupeModel):
    """A reseller org's earnings (USD); ``buckets`` in the breakdown."""

    org_id: str | None = None
    org_name: str | None = None
    org_type: str | None = None
    period: str | None = None
    currency: str | None = None
    calls: int | None = None
    billed_usage_usd: float | None = None
    total_earnings_usd: float | None = None
    buckets: list[dict[str, Any]] | None = None


class FeatureFlags(KupeModel):
    """A user's boolean dashboard features."""

    user_id: str | None = None
    feature_flags: dict[str, bool | None] | None = None


class ApiKey(KupeModel):
    """An API key row (never its secret)."""

    id: str | None = None
    user_id: str | None = None
    name: str | None = None
    provider_name: str | None = None
    key_prefix: str | None = None
    is_active: bool | None = None
    created_at: str | None = None


class NewApiKey(ApiKey):
    """A created key: ``api_key`` is its secret, shown this once."""

    api_key: str | None = None


class KeyExists(KupeModel):
    """``POST /api/v1/api-keys/exists``."""

    exists: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_bool(cls, value: Any) -> Any:
        return {"exists": value} if isinstance(value, bool) else value


class AnalysisRule(KupeModel):
    """A post-call analysis rule: a prompt and the JSON Schema of what to extract."""

    id: str | None = None
    name: str | None = None
    description: str | None = None
    rule_type: str | None = None
    prompt: str | None = None
    output_schema: dict[str, Any] | None = None
    is_active: bool | None = None


class PostAnalysis(KupeModel):
    """An agent's post-call analysis configuration row."""

    id: str | None = None
    agent_id: str | None = None


class ToolDefinition(KupeModel):
    """A custom HTTP or MCP-server tool definition."""

    id: str | None = None
    name: str | None = None
    description: str | None = None
    url: str | None = None
    method: str | None = None


class AgentTool(KupeModel):
    """One tool mapping of an agent."""

    id: str | None = None
    tool_id: str | None = None
    tool_type: str | None = None
    name: str | None = None


class WebhookRow(KupeModel):
    """One agent's webhook URLs (``GET /api/v1/webhooks/me``)."""

    agent_id: str | None = None
    agent_name: str | None = None
    incoming_url: str | None = None
    incoming_enabled: bool | None = None
    outgoing_url: str | None = None
    outgoing_enabled: bool | None = None


class AgentWebhook(KupeModel):
    """An agent's webhook configuration: ``incoming`` (HMAC-signed) and ``outgoing`` (call-ended POST)."""

    agent_id: str | None = None
    incoming: dict[str, Any] | None = None
    outgoing: dict[str, Any] | None = None
    updated_at: str | None = None


class WebhookSecret(KupeModel):
    """A rotated incoming-webhook secret (returned once)."""

    agent_id: str | None = None
    secret: str | None = None


class CallCompletedPayload(KupeModel):
    """``CallCompletedPayload``: what Kupe POSTs to an agent's outgoing webhook when a call ends.

    Typed as the spec lists it; the enums (call_direction, lead_status, lead_temperature) stay
    strings so a value Kupe adds later does not make the whole answer unreadable.
    """

    call_id: str | None = None
    call_session_id: str | None = None
    agent_id: str | None = None
    customer_name: str | None = None
    mobile_number: str | None = None
    email: str | None = None
    company_name: str | None = None
    call_datetime: str | None = None
    call_duration: float | None = None
    call_direction: str | None = None
    call_status: str | None = None
    recording_url: str | None = None
    lead_status: str | None = None
    lead_temperature: str | None = None
    lead_score: float | None = None
    ai_summary: str | None = Field(default=None, validation_alias=AliasChoices("ai_summary", "call_summary"))
    next_action: str | None = None
    from_number: str | None = None
    to_number: str | None = None


class WebhookTest(KupeModel):
    """The outcome of a test delivery to the call-ended URL, with the sample payload sent."""

    delivered: bool | None = None
    simulated: bool | None = None
    status_code: int | None = None
    url: str | None = None
    error: str | None = None
    payload: CallCompletedPayload | None = None
