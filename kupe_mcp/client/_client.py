"""KupeClient: one method per Kupe REST operation, each declared once with ``@endpoint``.

A method names its route, response model and envelope rule in the decorator and only
shapes the request in its body (path ids, query, JSON or multipart body). The
decorator sends it through ``KupeHTTP.request`` (auth, retries, errors) and validates
the answer. ``_catalogue.ENDPOINTS`` is read from these declarations.

Conventions: path ids come first and positionally, everything else is keyword-only;
query values of ``None`` are left out (``KupeHTTP`` drops them), and boolean switches
such as ``force_update`` are sent only when true.
"""

from __future__ import annotations

import json
import mimetypes
from datetime import date
from typing import Any
from uuid import UUID

from kupe_mcp.client._endpoint import DATA, Request, endpoint, list_in, object_in
from kupe_mcp.client._http import KupeHTTP
from kupe_mcp.client._models import (
    BatchRecipient,
    BatchStatus,
    CallStarted,
    CompleteAgent,
    Me,
    PhoneNumber,
    SearchResult,
)
from kupe_mcp.client._probe import BackendCheck
from kupe_mcp.client._responses import (
    Ack,
    AgentPage,
    AgentRow,
    AgentStats,
    AgentTool,
    AgentWebhook,
    AnalysisRule,
    ApiKey,
    Batch,
    BatchWrite,
    CallLog,
    CallSession,
    CreditBalance,
    Download,
    Earnings,
    FeatureFlags,
    FileFormats,
    FileList,
    FileMapping,
    Health,
    KeyExists,
    KnowledgeFile,
    NewApiKey,
    NoiseAsset,
    OrgMembers,
    PhoneMapping,
    PostAnalysis,
    ProviderCatalog,
    ProviderRow,
    SessionUsage,
    ToolDefinition,
    UsageOverview,
    UsageRecords,
    UsageSummary,
    UserRow,
    Voice,
    Wallet,
    WalletDetail,
    WebhookRow,
    WebhookSecret,
    WebhookTest,
)
from kupe_mcp.errors import CallInitiationFailed

__all__ = ["KupeClient"]

# Exports answer a file; without this Accept a strict server could refuse them (406) for the JSON default.
_EXPORT_ACCEPT = {"Accept": "application/zip, text/csv, application/octet-stream, application/json"}
# What may have happened when the answer to a request that rings people was lost, and what to check first.
_CALL_RINGS = ("the call may have been placed", "get_call_analytics")
_BATCH_RINGS = ("the batch may have started", "get_batch")
_WRITE_LOST = "so it may have taken effect: check before repeating it."

# The list envelopes Kupe uses, route by route (a bare array is always accepted too).
_ROWS = list_in("items", "data", "results")
_AGENTS = list_in("agents", "items", "data")


def same_id(ours: str, theirs: str) -> bool:
    """Whether two request ids name the same call, as Kupe compares them.

    The spec types ``request_id`` as a plain string; Kupe issues UUIDs and stores them as such, so two
    spellings of one UUID (case, braces, hyphens) are one id, and anything else must match exactly.
    """
    if ours == theirs:
        return True
    try:
        return UUID(ours.strip()) == UUID(theirs.strip())
    except ValueError:
        return False


def _only_if(flag: bool) -> bool | None:
    """Send a boolean switch only when it is on (``None`` is dropped from the query)."""
    return True if flag else None


def _compact(**fields: Any) -> dict[str, Any]:
    """A JSON body without the fields left at ``None``."""
    return {key: value for key, value in fields.items() if value is not None}


def _day(value: str | date | None) -> str | None:
    return value.isoformat() if isinstance(value, date) else value


def _call_failed(answer: Any) -> None:
    """Kupe answers a refused dial with 200 ``"status": "failed"``: raise CallInitiationFailed for it."""
    if isinstance(answer, dict) and str(answer.get("status", "")).lower() == "failed":
        reason = answer.get("detail") or answer.get("message") or answer.get("error") or ""
        raise CallInitiationFailed(
            reason if isinstance(reason, str) else json.dumps(reason),
            request_id=answer.get("request_id"),
            call_session_id=answer.get("call_session_id"),
        )


def _agent(agent_id: str, **rest: Any) -> Request:
    return Request(path_params={"agent_id": agent_id}, **rest)


class KupeClient(KupeHTTP):
    """The Kupe App REST API (``https://api.kupe.in``), typed."""

    def check_backend(self, *, recheck_s: float = 30.0) -> BackendCheck:
        """Hold every request behind the start-up check (``/health``, then ``/api/v1/me``); returns the check.

        Served with fixed credentials only: kupe-app-mcp then says at once, in the log and in the first
        tool result, when KUPE_BASE_URL is not Kupe or the key is refused (instead of "404: check the id").
        """
        check = BackendCheck(self, recheck_s=recheck_s)
        self._gate = check.problem
        return check

    # -- Service and current user -------------------------------------------------

    @endpoint("GET", "/health", Health, auth=False)
    def health(self) -> Request:
        """Public readiness probe; needs no credentials."""
        return Request()

    @endpoint("GET", "/api/v1/me", Me)
    def me(self) -> Request:
        """The user the credentials belong to."""
        return Request()

    @endpoint("GET", "/api/v1/me/users", list[UserRow], envelope=list_in("users", "items", "data"), source="spec")
    def me_users(self) -> Request:
        """Users the caller may act for (enterprise access; only themselves otherwise)."""
        return Request()

    # -- Agents -----------------------------------------------------------------------

    @endpoint("GET", "/api/v1/agents", list[AgentRow], envelope=_AGENTS, source="spec")
    def list_agents(
        self, page: int | None = None, page_size: int | None = None, scope: str | None = None, q: str | None = None
    ) -> Request:
        """The caller's agents: an array, as the summary route documents (super-admins may page, scope, search)."""
        return Request(params={"page": page, "page_size": page_size, "scope": scope, "q": q})

    @endpoint("GET", "/api/v1/agents/summary", AgentPage, source="docs")
    def list_agents_summary(self, *, page: int = 1, page_size: int = 20, name_search: str | None = None) -> Request:
        """One page of agent summaries, optionally filtered by name."""
        return Request(params={"page": page, "page_size": page_size, "name_search": name_search})

    @endpoint("GET", "/api/v1/agents/stats", AgentStats, source="spec")
    def agent_stats(self) -> Request:
        """Counts and usage metrics over the caller's agents."""
        return Request()

    @endpoint("GET", "/api/v1/agents/{agent_id}", CompleteAgent)
    def get_agent(self, agent_id: str) -> Request:
        """The agent with every configuration section."""
        return _agent(agent_id)

    @endpoint("POST", "/api/v1/agents", CompleteAgent, source="spec")
    def create_agent(self, body: dict[str, Any]) -> Request:
        """Full create (``CreateAgentRequest``: agent, configs, agent_specific_config)."""
        return Request(json_body=body)

    @endpoint("POST", "/api/v1/agents/simple", CompleteAgent)
    def create_agent_simple(self, name: str, description: str | None = None) -> Request:
        """An agent on platform defaults; configure it with update_agent."""
        return Request(json_body=_compact(name=name, description=description))

    @endpoint("PUT", "/api/v1/agents/{agent_id}", CompleteAgent)
    def update_agent(self, agent_id: str, body: dict[str, Any], *, force_update: bool = False) -> Request:
        """Partial update; active agents need ``force_update``."""
        return _agent(agent_id, params={"force_update": _only_if(force_update)}, json_body=body)

    @endpoint("DELETE", "/api/v1/agents/{agent_id}", Ack)
    def delete_agent(self, agent_id: str, *, force_delete: bool = False) -> Request:
        """Only inactive agents unless ``force_delete``."""
        return _agent(agent_id, params={"force_delete": _only_if(force_delete)})

    @endpoint("PATCH", "/api/v1/agents/{agent_id}/model-config", CompleteAgent, source="spec")
    def patch_agent_model_config(self, agent_id: str, body: dict[str, Any], *, force_update: bool = False) -> Request:
        """Replace the LLM section (``ModelConfig``: model_name, system_prompt, …)."""
        return _agent(agent_id, params={"force_update": _only_if(force_update)}, json_body=body)

    @endpoint("PATCH", "/api/v1/agents/{agent_id}/tts-config", CompleteAgent, source="spec")
    def patch_agent_tts_config(self, agent_id: str, body: dict[str, Any], *, force_update: bool = False) -> Request:
        """Replace the voice section (``TtsConfig``: tts_model_name, voice_name, …)."""
        return _agent(agent_id, params={"force_update": _only_if(force_update)}, json_body=body)

    @endpoint("PATCH", "/api/v1/agents/{agent_id}/transcriber-config", CompleteAgent, source="spec")
    def patch_agent_transcriber_config(
        self, agent_id: str, body: dict[str, Any], *, force_update: bool = False
    ) -> Request:
        """Replace the STT section (transcriber_model_name, language)."""
        return _agent(agent_id, params={"force_update": _only_if(force_update)}, json_body=body)

    @endpoint("PATCH", "/api/v1/agents/{agent_id}/vad-config", CompleteAgent, source="spec")
    def patch_agent_vad_config(self, agent_id: str, body: dict[str, Any], *, force_update: bool = False) -> Request:
        """Replace voice-activity detection (``VadConfig``)."""
        return _agent(agent_id, params={"force_update": _only_if(force_update)}, json_body=body)

    # -- Providers and catalog ----------------------------------------------------------

    @endpoint("GET", "/api/v1/providers/model", list[ProviderRow], envelope=_ROWS)
    def list_model_providers(self) -> Request:
        """LLM catalog rows (``model_name`` codes for agent configs)."""
        return Request()

    @endpoint("GET", "/api/v1/providers/stt", list[ProviderRow], envelope=_ROWS)
    def list_stt_providers(self) -> Request:
        """Speech-to-text catalog rows."""
        return Request()

    @endpoint("GET", "/api/v1/providers/tts", list[ProviderRow], envelope=_ROWS)
    def list_tts_providers(self) -> Request:
        """Text-to-speech catalog rows."""
        return Request()

    @endpoint("GET", "/api/v1/providers/vad", list[ProviderRow], envelope=_ROWS, source="docs")
    def list_vad_providers(self) -> Request:
        """Voice-activity-detection providers."""
        return Request()

    @endpoint("GET", "/api/v1/providers/all", ProviderCatalog, envelope=DATA)
    def list_all_providers(self) -> Request:
        """Every provider table in one object."""
        return Request()

    @endpoint("GET", "/api/v1/tts-voices", list[Voice], envelope=list_in("voices", "items", "data"))
    def list_tts_voices(self) -> Request:
        """Voice rows usable as ``tts_config.voice_name``."""
        return Request()

    @endpoint("POST", "/api/v1/tts-voices", Voice, envelope=DATA, source="docs")
    def create_tts_voice(self, body: dict[str, Any]) -> Request:
        """Add a voice row to the catalog."""
        return Request(json_body=body)

    @endpoint("GET", "/api/v1/tts-voices/{voice_id}", Voice, envelope=DATA, source="docs")
    def get_tts_voice(self, voice_id: str) -> Request:
        """One voice row."""
        return Request(path_params={"voice_id": voice_id})

    @endpoint(
        "GET",
        "/api/v1/tts-voices/provider/{provider_id}",
        list[Voice],
        envelope=list_in("voices", "items", "data"),
        source="docs",
    )
    def list_tts_voices_by_provider(self, provider_id: str) -> Request:
        """The voices of one TTS provider."""
        return Request(path_params={"provider_id": provider_id})

    @endpoint("GET", "/api/v1/noise-assets", list[NoiseAsset], envelope=_ROWS, source="spec")
    def list_noise_assets(self) -> Request:
        """Background-noise tracks (``id`` → ``background_noise_id``)."""
        return Request()

    # -- Phone lines ----------------------------------------------------------------------

    @endpoint("GET", "/api/v1/phone", list[PhoneNumber], envelope=list_in("phone_numbers", "data"))
    def list_phone_numbers(self) -> Request:
        """Provisioned lines; each ``id`` is a ``phone_number_id``."""
        return Request()

    @endpoint("POST", "/api/v1/phone/mapping", PhoneMapping, envelope=DATA)
    def create_phone_mapping(
        self, phone_number_id: str, *, agent_id: str | None = None, workflow_id: str | None = None
    ) -> Request:
        """Route inbound calls on a line to exactly one agent or workflow."""
        if (agent_id is None) == (workflow_id is None):
            raise ValueError("create_phone_mapping needs exactly one of agent_id or workflow_id.")
        return Request(json_body=_compact(phone_number_id=phone_number_id, agent_id=agent_id, workflow_id=workflow_id))

    @endpoint(
        "GET", "/api/v1/phone/mapping/agent/{agent_id}", list[PhoneMapping], envelope=list_in("data", single=True),
        source="docs",
    )  # fmt: skip
    def get_phone_mapping_for_agent(self, agent_id: str) -> Request:
        """Which line(s) route to this agent."""
        return _agent(agent_id)

    @endpoint("GET", "/api/v1/phone/mapping/{phone_number_id}", PhoneMapping, envelope=DATA, source="docs")
    def get_phone_mapping(self, phone_number_id: str) -> Request:
        """What a line routes to."""
        return Request(path_params={"phone_number_id": phone_number_id})

    # -- Outbound calls ---------------------------------------------------------------------

    @endpoint("POST", "/api/call/create_call", CallStarted, check=_call_failed, rings=_CALL_RINGS)
    def create_call(
        self,
        phone_number: str,
        *,
        agent_id: str | None = None,
        workflow_id: str | None = None,
        phone_number_id: str | None = None,
        variable_values: dict[str, Any] | None = None,
    ) -> Request:
        """Ring ``phone_number`` (E.164) now; never retried once sent.

        Raises CallInitiationFailed when Kupe answers 200 ``"status": "failed"``, and
        CallOutcomeUnknown when the request was sent and Kupe's answer was lost.
        """
        params = {
            "phoneNumber": phone_number,
            "agent_id": agent_id,
            "workflow_id": workflow_id,
            "phone_number_id": phone_number_id,
        }
        body = {"variable_values": variable_values} if variable_values is not None else None
        return Request(params=params, json_body=body)

    # -- Batch campaigns ------------------------------------------------------------------------

    @endpoint("POST", "/api/v1/batch-call/create", Batch, envelope=DATA, lost=_WRITE_LOST)
    def create_batch(self, body: dict[str, Any]) -> Request:
        """A campaign (agent or workflow, caller_phone_id, batch_name, …)."""
        return Request(json_body=body)

    @endpoint("POST", "/api/v1/batch-call/upload/{batch_id}", BatchWrite, envelope=DATA, source="docs")
    def upload_batch_csv(self, batch_id: str, *, filename: str, content: bytes) -> Request:
        """Add targets from a CSV (``to_phonenumber`` + variables)."""
        return Request(path_params={"batch_id": batch_id}, files={"file": (filename, content, "text/csv")})

    @endpoint("POST", "/api/v1/batch-call/upload-json/{batch_id}", BatchWrite, envelope=DATA, source="spec")
    def upload_batch_json(self, batch_id: str, records: list[dict[str, Any]]) -> Request:
        """Add targets as flat JSON rows."""
        return Request(path_params={"batch_id": batch_id}, json_body={"records": records})

    @endpoint("POST", "/api/v1/batch-call/{batch_id}/data/upsert", BatchWrite, envelope=DATA)
    def upsert_batch_data(self, batch_id: str, items: list[dict[str, Any]]) -> Request:
        """Insert targets, or update not-started ones by ``id``."""
        return Request(path_params={"batch_id": batch_id}, json_body={"items": items})

    @endpoint(
        "GET", "/api/v1/batch-call/{batch_id}/data", list[BatchRecipient],
        envelope=list_in("data", "items", "batch_data"),
    )  # fmt: skip
    def list_batch_data(self, batch_id: str, *, status: str | None = None) -> Request:
        """The campaign's numbers and their call status."""
        return Request(path_params={"batch_id": batch_id}, params={"status": status})

    @endpoint("GET", "/api/v1/batch-call/{batch_id}/status", BatchStatus, source="spec")
    def get_batch_status(self, batch_id: str) -> Request:
        """Batch state plus per-status counts (poll after start)."""
        return Request(path_params={"batch_id": batch_id})

    @endpoint("POST", "/api/v1/batch-call/start/{batch_id}", Ack, rings=_BATCH_RINGS)
    def start_batch(self, batch_id: str) -> Request:
        """Start dialing the campaign (never retried)."""
        return Request(path_params={"batch_id": batch_id})

    @endpoint("GET", "/api/v1/batch-call/me", list[Batch], envelope=list_in("data", "batches", "items"), source="spec")
    def list_my_batches(self) -> Request:
        """The caller's campaigns."""
        return Request()

    @endpoint(
        "GET", "/api/v1/batch-call/browse", list[Batch], envelope=list_in("data", "batches", "items"), source="docs"
    )
    def browse_batches(self, /, **filters: str | int | None) -> Request:
        """Search campaigns; filters (status, search, page…) go as query."""
        return Request(params=filters)

    @endpoint(
        "GET", "/api/v1/batch-call/user/{user_id}", list[Batch], envelope=list_in("data", "batches", "items"),
        source="docs",
    )  # fmt: skip
    def list_user_batches(self, user_id: str) -> Request:
        """One user's campaigns."""
        return Request(path_params={"user_id": user_id})

    @endpoint("GET", "/api/v1/batch-call/{batch_id}", Batch, envelope=DATA)
    def get_batch(self, batch_id: str) -> Request:
        """Campaign metadata."""
        return Request(path_params={"batch_id": batch_id})

    # -- Knowledge files and search ------------------------------------------------------------

    @endpoint("POST", "/api/v1/files/upload", KnowledgeFile, envelope=DATA)
    def upload_file(
        self, *, filename: str, content: bytes, content_type: str | None = None, agent_id: str | None = None
    ) -> Request:
        """Add a knowledge document (tagged for ``agent_id`` when given)."""
        ctype = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        return Request(
            files={"file": (filename, content, ctype)},
            data={"agent_id": agent_id} if agent_id is not None else None,
        )

    @endpoint("GET", "/api/v1/files/supported-formats", FileFormats, envelope=DATA)
    def supported_file_formats(self) -> Request:
        """MIME types and extensions upload_file accepts."""
        return Request()

    @endpoint("GET", "/api/v1/files/user/me", FileList, envelope=DATA)
    def list_my_files(self) -> Request:
        """The caller's uploaded files."""
        return Request()

    @endpoint("GET", "/api/v1/files/{file_id}", KnowledgeFile, envelope=DATA)
    def get_file(self, file_id: str) -> Request:
        """File metadata with signed view/download URLs."""
        return Request(path_params={"file_id": file_id})

    @endpoint("PUT", "/api/v1/files/{file_id}", KnowledgeFile, envelope=DATA, source="docs")
    def update_file(self, file_id: str, body: dict[str, Any]) -> Request:
        """Change file metadata."""
        return Request(path_params={"file_id": file_id}, json_body=body)

    @endpoint("DELETE", "/api/v1/files/{file_id}", Ack)
    def delete_file(self, file_id: str) -> Request:
        """Delete from storage, vector DB and every agent mapping."""
        return Request(path_params={"file_id": file_id})

    @endpoint("POST", "/api/v1/agent-files-mappings/create", FileMapping, envelope=DATA)
    def attach_file(self, agent_id: str, upload_file_id: str) -> Request:
        """Let an agent retrieve from an uploaded file."""
        return Request(json_body={"agent_id": agent_id, "upload_file_id": upload_file_id})

    @endpoint("GET", "/api/v1/agent-files-mappings/agent/{agent_id}", list[FileMapping], envelope=_ROWS)
    def list_agent_files(self, agent_id: str) -> Request:
        """Files attached to an agent."""
        return _agent(agent_id)

    @endpoint("DELETE", "/api/v1/agent-files-mappings/agent/{agent_id}/file/{upload_file_id}", Ack)
    def detach_file(self, agent_id: str, upload_file_id: str) -> Request:
        """Detach a file from an agent (the file is kept)."""
        return Request(path_params={"agent_id": agent_id, "upload_file_id": upload_file_id})

    @endpoint("POST", "/api/v1/search/semantic", SearchResult)
    def search_semantic(
        self, agent_id: str, query: str, *, limit: int | None = None, similarity_threshold: float | None = None
    ) -> Request:
        """Vector search over an agent's documents."""
        body = _compact(query=query, limit=limit, similarity_threshold=similarity_threshold)
        return Request(params={"agent_id": agent_id}, json_body=body)

    @endpoint("POST", "/api/v1/search/hybrid", SearchResult, source="spec")
    def search_hybrid(
        self,
        agent_id: str,
        query: str,
        *,
        limit: int | None = None,
        keyword_weight: float | None = None,
        semantic_weight: float | None = None,
        similarity_threshold: float | None = None,
    ) -> Request:
        """Keyword + vector search (scores are objects)."""
        body = _compact(
            query=query,
            limit=limit,
            keyword_weight=keyword_weight,
            semantic_weight=semantic_weight,
            similarity_threshold=similarity_threshold,
        )
        return Request(params={"agent_id": agent_id}, json_body=body)

    # -- Call analytics ---------------------------------------------------------------------------

    @endpoint("GET", "/api/v1/call-analytics", CallLog)
    def call_analytics(
        self,
        *,
        request_id: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
        filter: str | None = None,
        scope: str | None = None,
        organization_ids: str | list[str] | None = None,
        owner_user_ids: str | list[str] | None = None,
    ) -> Request:
        """Call sessions with Kupe's total: one (``request_id``; bare, in ``data`` or a one-item list), a page, or
        the full log."""
        params = {
            "request_id": request_id,
            "page": page,
            "page_size": page_size,
            "filter": filter,
            "scope": scope,
            "organization_ids": organization_ids,
            "owner_user_ids": owner_user_ids,
        }
        return Request(params=params)

    async def call_session(self, request_id: str) -> CallSession | None:
        """The session of ``request_id`` in whatever envelope Kupe used, None when Kupe has none.

        A row naming another request_id is never taken for it; a lone row that names none but
        carries a status is (Kupe answered the one session without echoing its id).
        """
        sessions = (await self.call_analytics(request_id=request_id)).items
        match = [s for s in sessions if s.request_id is not None and same_id(s.request_id, request_id)]
        if match:
            return match[0]
        unnamed = [s for s in sessions if s.request_id is None and s.status is not None]
        return unnamed[0] if len(sessions) == 1 and unnamed else None

    @endpoint("GET", "/api/v1/call-analytics/export", Download, expect="bytes")
    def export_call_analytics(
        self,
        *,
        request_id: str | None = None,
        start_date: str | date | None = None,
        end_date: str | date | None = None,
        include_recordings: bool | None = None,
    ) -> Request:
        """A ZIP of one call or a date range, or JSON when it is emailed."""
        params = {
            "request_id": request_id,
            "start_date": _day(start_date),
            "end_date": _day(end_date),
            "include_recordings": include_recordings,
        }
        return Request(params=params, headers=_EXPORT_ACCEPT)

    # -- Billing (read-only for API keys) ---------------------------------------------------------

    @endpoint("GET", "/api/v1/billing/usage-records", UsageRecords, envelope=DATA)
    def billing_usage_records(self) -> Request:
        """Usage and credits organised by call session."""
        return Request()

    @endpoint("GET", "/api/v1/billing/usage/records", UsageRecords, envelope=DATA)
    def billing_usage_records_filtered(
        self,
        *,
        time_filter: str | None = None,
        usage_type: str | None = None,
        search: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        page: int | None = None,
        page_size: int | None = None,
    ) -> Request:
        """Usage rows grouped by session, filtered and paged."""
        params = {
            "time_filter": time_filter,
            "usage_type": usage_type,
            "search": search,
            "limit": limit,
            "offset": offset,
            "page": page,
            "page_size": page_size,
        }
        return Request(params=params)

    @endpoint("GET", "/api/v1/billing/usage/summary", UsageSummary, envelope=DATA)
    def billing_usage_summary(self, *, time_period: str | None = None, scope: str | None = None) -> Request:
        """Usage aggregated into chart buckets (USD)."""
        return Request(params={"time_period": time_period, "scope": scope})

    @endpoint("GET", "/api/v1/billing/usage/overview", UsageOverview, envelope=DATA)
    def billing_usage_overview(self, *, user_id: str | None = None) -> Request:
        """Total and this-month usage (duration, cost)."""
        return Request(params={"user_id": user_id})

    @endpoint("GET", "/api/v1/billing/usage/sessions/{session_id}", SessionUsage, envelope=DATA)
    def billing_session_usage(self, session_id: str) -> Request:
        """Usage and cost of one call session."""
        return Request(path_params={"session_id": session_id})

    @endpoint("GET", "/api/v1/billing/usage/export", Download, expect="bytes")
    def export_billing_usage(
        self,
        *,
        time_filter: str | None = None,
        usage_type: str | None = None,
        session_types: str | list[str] | None = None,
        agent_ids: str | list[str] | None = None,
        from_date: str | date | None = None,
        to_date: str | date | None = None,
    ) -> Request:
        """Usage CSV (often emailed; then the JSON acknowledgement)."""
        params = {
            "time_filter": time_filter,
            "usage_type": usage_type,
            "session_types": session_types,
            "agent_ids": agent_ids,
            "from_date": _day(from_date),
            "to_date": _day(to_date),
        }
        return Request(params=params, headers=_EXPORT_ACCEPT)

    @endpoint("GET", "/api/v1/billing/credit-balance", CreditBalance, envelope=DATA)
    def credit_balance(self) -> Request:
        """The wallet-backed balance summary."""
        return Request()

    # -- Wallets, orgs, earnings (admin; writes need a Bearer session) -----------------------------

    @endpoint("GET", "/api/v1/wallets/me", Wallet, envelope=DATA)
    def my_wallet(self) -> Request:
        """The caller's wallet (balance, cap usage, ``wallet_id``)."""
        return Request()

    @endpoint("GET", "/api/v1/wallets/users", list[Wallet], envelope=list_in("wallets", "items", "data"), source="docs")
    def list_user_wallets(self) -> Request:
        """Every user wallet (super_admin)."""
        return Request()

    @endpoint("GET", "/api/v1/wallets/orgs", list[Wallet], envelope=list_in("wallets", "items", "data"), source="docs")
    def list_org_wallets(self) -> Request:
        """Every organisation wallet (super_admin)."""
        return Request()

    @endpoint("GET", "/api/v1/wallets/orgs/{org_id}/members", OrgMembers, envelope=DATA, source="docs")
    def list_org_member_wallets(self, org_id: str) -> Request:
        """Wallets of an organisation's members."""
        return Request(path_params={"org_id": org_id})

    @endpoint("GET", "/api/v1/wallets/{wallet_id}", WalletDetail, envelope=DATA)
    def get_wallet(self, wallet_id: str) -> Request:
        """Grants, ledger and upcoming expiry of one wallet."""
        return Request(path_params={"wallet_id": wallet_id})

    @endpoint("POST", "/api/v1/wallets/{wallet_id}/grants", Ack, source="docs", lost=_WRITE_LOST)
    def grant_wallet_credits(self, wallet_id: str, body: dict[str, Any]) -> Request:
        """Assign credits (Bearer, org or super admin)."""
        return Request(path_params={"wallet_id": wallet_id}, json_body=body)

    @endpoint("POST", "/api/v1/wallets/{wallet_id}/cap", Ack, source="docs")
    def set_wallet_cap(self, wallet_id: str, body: dict[str, Any]) -> Request:
        """Set or clear the monthly spend cap (USD)."""
        return Request(path_params={"wallet_id": wallet_id}, json_body=body)

    @endpoint("POST", "/api/v1/wallets/{wallet_id}/adjust", Ack, source="docs", lost=_WRITE_LOST)
    def adjust_wallet(self, wallet_id: str, body: dict[str, Any]) -> Request:
        """Ledger adjustment without a grant (super_admin)."""
        return Request(path_params={"wallet_id": wallet_id}, json_body=body)

    @endpoint("POST", "/api/v1/orgs/{org_id}/business-model", Ack, source="docs")
    def set_org_business_model(self, org_id: str, body: dict[str, Any]) -> Request:
        """Set ``org_type`` (super_admin)."""
        return Request(path_params={"org_id": org_id}, json_body=body)

    @endpoint("POST", "/api/v1/orgs/{org_id}/commission", Ack, source="docs")
    def set_org_commission(self, org_id: str, body: dict[str, Any]) -> Request:
        """Set the org's commission percentage (super_admin)."""
        return Request(path_params={"org_id": org_id}, json_body=body)

    @endpoint("POST", "/api/v1/orgs/{org_id}/markup", Ack, source="docs")
    def set_org_markup(self, org_id: str, body: dict[str, Any]) -> Request:
        """Set reseller markup percentage and currency."""
        return Request(path_params={"org_id": org_id}, json_body=body)

    @endpoint("GET", "/api/v1/earnings/me", Earnings, envelope=DATA)
    def my_earnings(self, *, period: str | None = None) -> Request:
        """The reseller org's earnings (period: day|week|month|year|all)."""
        return Request(params={"period": period})

    @endpoint("GET", "/api/v1/earnings/me/breakdown", Earnings, envelope=DATA)
    def my_earnings_breakdown(self, *, period: str | None = None) -> Request:
        """The same earnings in time buckets."""
        return Request(params={"period": period})

    @endpoint("GET", "/api/v1/earnings/orgs/{org_id}", Earnings, envelope=DATA)
    def org_earnings(self, org_id: str, *, period: str | None = None) -> Request:
        """Any org's earnings (super_admin)."""
        return Request(path_params={"org_id": org_id}, params={"period": period})

    # -- Feature flags ----------------------------------------------------------------------------

    @endpoint("GET", "/api/v1/feature-flags/me", FeatureFlags, envelope=DATA, source="docs")
    def my_feature_flags(self) -> Request:
        """The caller's boolean feature flags."""
        return Request()

    @endpoint("GET", "/api/v1/feature-flags/{user_id}", FeatureFlags, envelope=DATA, source="docs")
    def get_feature_flags(self, user_id: str) -> Request:
        """Another user's flags (when RBAC allows)."""
        return Request(path_params={"user_id": user_id})

    @endpoint("PUT", "/api/v1/feature-flags/{user_id}", FeatureFlags, envelope=DATA, source="docs")
    def update_feature_flags(self, user_id: str, body: dict[str, Any]) -> Request:
        """Set boolean flags only."""
        return Request(path_params={"user_id": user_id}, json_body=body)

    # -- API keys ----------------------------------------------------------------------------------

    @endpoint("POST", "/api/v1/api-keys", NewApiKey, envelope=object_in("api_key", "data"), lost=_WRITE_LOST)
    def create_api_key(
        self,
        *,
        name: str | None = None,
        user_id: str | None = None,
        provider_name: str | None = None,
        api_key: str | None = None,
    ) -> Request:
        """Create a key (server-generated unless ``api_key`` is given, as the docs allow)."""
        return Request(json_body=_compact(name=name, user_id=user_id, provider_name=provider_name, api_key=api_key))

    @endpoint(
        "GET", "/api/v1/api-keys/fetch", list[ApiKey], envelope=list_in("keys", "api_keys", "data"), source="spec"
    )
    def list_api_keys(self, *, user_id: str | None = None) -> Request:
        """Active keys of the caller (or of ``user_id`` for org admins)."""
        return Request(params={"user_id": user_id})

    @endpoint(
        "GET", "/api/v1/api-keys/fetch/{user_id}", list[ApiKey], envelope=list_in("keys", "api_keys", "data"),
        source="docs",
    )  # fmt: skip
    def list_user_api_keys(self, user_id: str) -> Request:
        """Active keys of one user (the docs' form)."""
        return Request(path_params={"user_id": user_id})

    @endpoint("POST", "/api/v1/api-keys/exists", KeyExists, envelope=DATA, source="docs")
    def api_key_exists(self, user_id: str, provider_name: str) -> Request:
        """Whether the user has an active key for a provider (Kupe answers a bare boolean)."""
        return Request(json_body={"user_id": user_id, "provider_name": provider_name})

    @endpoint("PATCH", "/api/v1/api-keys/{key_id}", ApiKey, envelope=DATA)
    def rename_api_key(self, key_id: str, name: str, *, user_id: str | None = None) -> Request:
        """Change a key's label (an empty name clears it)."""
        return Request(path_params={"key_id": key_id}, params={"user_id": user_id}, json_body={"name": name})

    @endpoint("DELETE", "/api/v1/api-keys/{key_id}", Ack)
    def revoke_api_key(self, key_id: str, *, user_id: str | None = None) -> Request:
        """Revoke a key; it stops working immediately."""
        return Request(path_params={"key_id": key_id}, params={"user_id": user_id})

    # -- Post-call analysis --------------------------------------------------------------------------

    @endpoint("GET", "/api/v1/post-analysis/rules", list[AnalysisRule], envelope=list_in("rules", "items", "data"))
    def list_analysis_rules(self) -> Request:
        """The caller's post-call analysis rules."""
        return Request()

    @endpoint("POST", "/api/v1/post-analysis/rules", AnalysisRule, envelope=DATA)
    def create_analysis_rule(self, body: dict[str, Any]) -> Request:
        """Create a rule."""
        return Request(json_body=body)

    @endpoint("GET", "/api/v1/post-analysis/rules/{rule_id}", AnalysisRule, envelope=DATA)
    def get_analysis_rule(self, rule_id: str) -> Request:
        """One rule."""
        return Request(path_params={"rule_id": rule_id})

    @endpoint("PUT", "/api/v1/post-analysis/rules/{rule_id}", AnalysisRule, envelope=DATA)
    def update_analysis_rule(self, rule_id: str, body: dict[str, Any]) -> Request:
        """Replace a rule."""
        return Request(path_params={"rule_id": rule_id}, json_body=body)

    @endpoint("DELETE", "/api/v1/post-analysis/rules/{rule_id}", Ack)
    def delete_analysis_rule(self, rule_id: str) -> Request:
        """Delete a rule."""
        return Request(path_params={"rule_id": rule_id})

    @endpoint("POST", "/api/v1/post-analysis/rules/{rule_id}/duplicate", AnalysisRule, envelope=DATA)
    def duplicate_analysis_rule(self, rule_id: str) -> Request:
        """Copy a rule."""
        return Request(path_params={"rule_id": rule_id})

    @endpoint("GET", "/api/v1/agents/{agent_id}/post-analysis", list[PostAnalysis], envelope=_ROWS)
    def get_agent_post_analysis(self, agent_id: str) -> Request:
        """The agent's post-call analysis rows."""
        return _agent(agent_id)

    @endpoint("POST", "/api/v1/agents/{agent_id}/post-analysis", PostAnalysis, envelope=DATA)
    def upsert_agent_post_analysis(self, agent_id: str, body: dict[str, Any]) -> Request:
        """Upsert the config (body ``agent_id`` set from the path)."""
        return _agent(agent_id, json_body={**body, "agent_id": agent_id})

    @endpoint(
        "GET", "/api/v1/agents/{agent_id}/post-analysis/attached-rules", list[AnalysisRule],
        envelope=list_in("rules", "items", "data"),
    )  # fmt: skip
    def list_agent_attached_rules(self, agent_id: str) -> Request:
        """Rules attached to the agent."""
        return _agent(agent_id)

    @endpoint("PUT", "/api/v1/agents/{agent_id}/post-analysis/attached-rules", Ack)
    def set_agent_attached_rules(self, agent_id: str, rule_ids: list[str]) -> Request:
        """Replace the attached rule ids."""
        return _agent(agent_id, json_body={"rule_ids": list(rule_ids)})

    @endpoint(
        "GET", "/api/v1/agents/{agent_id}/post-analysis/attached-rule-ids", list[str],
        envelope=list_in("rule_ids", "data"),
    )  # fmt: skip
    def list_agent_attached_rule_ids(self, agent_id: str) -> Request:
        """Attached rule ids only."""
        return _agent(agent_id)

    # -- Tool definitions and agent tools ------------------------------------------------------------

    @endpoint("GET", "/api/v1/tool-endpoint-defs", list[ToolDefinition], envelope=list_in("tools", "items", "data"))
    def list_http_tools(self) -> Request:
        """The caller's custom HTTP tool definitions."""
        return Request()

    @endpoint("POST", "/api/v1/tool-endpoint-defs", ToolDefinition, envelope=DATA)
    def create_http_tool(self, body: dict[str, Any]) -> Request:
        """Define an HTTP tool (name, url, tool_schema, …)."""
        return Request(json_body=body)

    @endpoint("GET", "/api/v1/tool-endpoint-defs/{tool_id}", ToolDefinition, envelope=DATA)
    def get_http_tool(self, tool_id: str) -> Request:
        """One HTTP tool definition."""
        return Request(path_params={"tool_id": tool_id})

    @endpoint("PUT", "/api/v1/tool-endpoint-defs/{tool_id}", ToolDefinition, envelope=DATA)
    def update_http_tool(self, tool_id: str, body: dict[str, Any]) -> Request:
        """Replace an HTTP tool definition."""
        return Request(path_params={"tool_id": tool_id}, json_body=body)

    @endpoint("DELETE", "/api/v1/tool-endpoint-defs/{tool_id}", Ack)
    def delete_http_tool(self, tool_id: str) -> Request:
        """Delete an HTTP tool definition."""
        return Request(path_params={"tool_id": tool_id})

    @endpoint("GET", "/api/v1/tools-mcp-server-defs", list[ToolDefinition], envelope=list_in("tools", "items", "data"))
    def list_mcp_tools(self) -> Request:
        """The caller's MCP server tool definitions."""
        return Request()

    @endpoint("POST", "/api/v1/tools-mcp-server-defs", ToolDefinition, envelope=DATA)
    def create_mcp_tool(self, body: dict[str, Any]) -> Request:
        """Define an MCP-server-backed tool."""
        return Request(json_body=body)

    @endpoint("GET", "/api/v1/tools-mcp-server-defs/{tool_id}", ToolDefinition, envelope=DATA)
    def get_mcp_tool(self, tool_id: str) -> Request:
        """One MCP tool definition."""
        return Request(path_params={"tool_id": tool_id})

    @endpoint("PUT", "/api/v1/tools-mcp-server-defs/{tool_id}", ToolDefinition, envelope=DATA)
    def update_mcp_tool(self, tool_id: str, body: dict[str, Any]) -> Request:
        """Replace an MCP tool definition."""
        return Request(path_params={"tool_id": tool_id}, json_body=body)

    @endpoint("DELETE", "/api/v1/tools-mcp-server-defs/{tool_id}", Ack)
    def delete_mcp_tool(self, tool_id: str) -> Request:
        """Delete an MCP tool definition."""
        return Request(path_params={"tool_id": tool_id})

    @endpoint("GET", "/api/v1/agents/{agent_id}/tools", list[AgentTool], envelope=list_in("tools", "items", "data"))
    def list_agent_tools(self, agent_id: str) -> Request:
        """Tool mappings of an agent."""
        return _agent(agent_id)

    @endpoint("POST", "/api/v1/agents/{agent_id}/tools", Ack)
    def add_agent_tools(self, agent_id: str, tools: list[dict[str, Any]]) -> Request:
        """Add tool mappings (a JSON array of tool configs)."""
        return _agent(agent_id, json_body=list(tools))

    @endpoint("PATCH", "/api/v1/agents/{agent_id}/tools", Ack)
    def replace_agent_tools(self, agent_id: str, tools: list[dict[str, Any]], *, force_update: bool = False) -> Request:
        """Replace the agent's whole tool configuration."""
        return _agent(agent_id, params={"force_update": _only_if(force_update)}, json_body=list(tools))

    @endpoint("DELETE", "/api/v1/agents/{agent_id}/tools/{tool_id}", Ack)
    def remove_agent_tool(self, agent_id: str, tool_id: str) -> Request:
        """Remove one tool mapping."""
        return Request(path_params={"agent_id": agent_id, "tool_id": tool_id})

    # -- Agent webhooks -------------------------------------------------------------------------------

    @endpoint(
        "GET", "/api/v1/webhooks/me", list[WebhookRow], envelope=list_in("agents", "items", "data"), source="spec"
    )
    def list_my_webhooks(self) -> Request:
        """Webhook URLs of the caller's agents."""
        return Request()

    @endpoint("GET", "/api/v1/webhooks/agents/{agent_id}", AgentWebhook, envelope=DATA, source="spec")
    def get_agent_webhooks(self, agent_id: str, *, reveal_secret: bool = False) -> Request:
        """Incoming/outgoing webhook config (secret only on request)."""
        return _agent(agent_id, params={"reveal_secret": _only_if(reveal_secret)})

    @endpoint("PUT", "/api/v1/webhooks/agents/{agent_id}", AgentWebhook, envelope=DATA, source="spec")
    def put_agent_webhooks(self, agent_id: str, body: dict[str, Any]) -> Request:
        """Upsert the agent's webhook config."""
        return _agent(agent_id, json_body=body)

    @endpoint("POST", "/api/v1/webhooks/agents/{agent_id}/rotate-secret", WebhookSecret, envelope=DATA, source="spec")
    def rotate_webhook_secret(self, agent_id: str) -> Request:
        """New HMAC secret (returned once)."""
        return _agent(agent_id)

    @endpoint("POST", "/api/v1/webhooks/agents/{agent_id}/test-outgoing", WebhookTest, envelope=DATA, source="spec")
    def test_outgoing_webhook(self, agent_id: str) -> Request:
        """Send a sample payload to the call-ended URL."""
        return _agent(agent_id)
