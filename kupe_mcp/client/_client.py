"""KupeClient: one async method per Kupe REST operation (see ``_catalogue.ENDPOINTS``).

Methods are thin: they name the route, shape the query and body exactly as Kupe
expects, and validate the answer into a model where the spec defines one. Everything
about auth, retries and errors lives in ``KupeHTTP.request``.

Conventions: path ids come first and positionally, everything else is keyword-only;
query values of ``None`` are left out (``KupeHTTP`` drops them), and boolean switches
such as ``force_update`` are sent only when true.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any, TypeVar, cast

from pydantic import TypeAdapter, ValidationError

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
from kupe_mcp.errors import (
    CallInitiationFailed,
    CallOutcomeUnknown,
    KupeAPIError,
    KupeConnectionError,
    KupeTimeout,
    UnexpectedResponse,
)

__all__ = ["KupeClient"]

JSON = Any
_T = TypeVar("_T")
_ADAPTERS: dict[object, TypeAdapter[Any]] = {}

_CALL_PATH = "/api/call/create_call"


def _validated(shape: type[_T], body: JSON, method: str, path: str) -> _T:
    """``body`` as ``shape``, or UnexpectedResponse naming the first field that does not fit."""
    adapter = _ADAPTERS.get(shape)
    if adapter is None:
        adapter = _ADAPTERS[shape] = TypeAdapter(shape)
    try:
        return cast(_T, adapter.validate_python(body))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise UnexpectedResponse(
            f"Kupe answered {method} {path} with a body that does not match what the API documents "
            f"({where}: {first['msg']}): the API may have changed; report this to the kupe-app-mcp maintainers.",
            method=method,
            path=path,
            status=200,
        ) from None


@contextmanager
def _outcome_unknown_if_lost(method: str, path: str, maybe: str, check: str) -> Iterator[None]:
    """Turn "Kupe's answer was lost" into CallOutcomeUnknown for a request that rings people.

    Lost means the request may have been acted on: a read timeout or dropped connection
    after sending, any 5xx (a gateway's 502/504 page or Kupe's own 500), or a 2xx whose body
    is empty or not what the API documents. A 4xx, a redirect, a connection never opened
    and ``200 {"status": "failed"}`` are known outcomes and pass through unchanged.
    """
    try:
        yield
        return
    except KupeConnectionError as exc:
        if not exc.may_have_reached:
            raise
        why = "timed out" if isinstance(exc, KupeTimeout) else "the connection dropped"
    except UnexpectedResponse as exc:
        if 300 <= exc.status < 400:
            raise
        why = f"HTTP {exc.status} with a body that is not Kupe's answer"
    except KupeAPIError as exc:
        if exc.status < 500:
            raise
        why = f"HTTP {exc.status}"
    raise CallOutcomeUnknown(
        f"Kupe's answer to {method} {path} was lost ({why}), so {maybe}: the outcome is unknown: "
        f"check {check} before calling again (a redial needs a fresh confirmation that names this attempt).",
        method=method,
        path=path,
    ) from None


def _unwrap_list(body: JSON, keys: tuple[str, ...]) -> JSON:
    """A bare list, or the list an envelope object holds under one of ``keys`` (also inside ``data``)."""
    if not isinstance(body, dict):
        return body
    for container in (body, body.get("data")):
        if isinstance(container, list):
            return container
        if isinstance(container, dict):
            for key in keys:
                if isinstance(container.get(key), list):
                    return container[key]
    return body


def _only_if(flag: bool) -> bool | None:
    """Send a boolean switch only when it is on (``None`` is dropped from the query)."""
    return True if flag else None


def _compact(**fields: Any) -> dict[str, Any]:
    """A JSON body without the fields left at ``None``."""
    return {key: value for key, value in fields.items() if value is not None}


def _day(value: str | date | None) -> str | None:
    return value.isoformat() if isinstance(value, date) else value


def _json_or_bytes(raw: bytes) -> bytes | dict[str, Any]:
    """Exports answer a file (ZIP/CSV) or a JSON acknowledgement (e.g. "emailed"): return whichever it is."""
    try:
        parsed = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return raw
    return parsed if isinstance(parsed, dict) else raw


class KupeClient(KupeHTTP):
    """The Kupe App REST API (``https://api.kupe.in``), typed."""

    async def _as(self, shape: type[_T], method: str, path: str, **kwargs: Any) -> _T:
        """Send one request and validate the answer as ``shape``."""
        return _validated(shape, await self.request(method, path, **kwargs), method, path)

    # -- Service and current user -------------------------------------------------

    async def health(self) -> dict[str, Any]:
        """``GET /health``: public readiness probe; needs no credentials."""
        return await self._as(dict[str, Any], "GET", "/health", auth=False)

    async def me(self) -> Me:
        """``GET /api/v1/me``: the user the credentials belong to."""
        return await self._as(Me, "GET", "/api/v1/me")

    async def me_users(self) -> JSON:
        """``GET /api/v1/me/users``: users the caller may act for (enterprise access; empty otherwise)."""
        return await self.request("GET", "/api/v1/me/users")

    # -- Agents -----------------------------------------------------------------------

    async def list_agents(
        self, page: int | None = None, page_size: int | None = None, scope: str | None = None, q: str | None = None
    ) -> JSON:
        """``GET /api/v1/agents``: the caller's agents (an array; super-admins may page, scope and search)."""
        params = {"page": page, "page_size": page_size, "scope": scope, "q": q}
        return await self.request("GET", "/api/v1/agents", params=params)

    async def list_agents_summary(
        self, *, page: int = 1, page_size: int = 20, name_search: str | None = None
    ) -> dict[str, Any]:
        """``GET /api/v1/agents/summary``: one page of agent summaries, optionally filtered by name."""
        params = {"page": page, "page_size": page_size, "name_search": name_search}
        return await self._as(dict[str, Any], "GET", "/api/v1/agents/summary", params=params)

    async def agent_stats(self) -> JSON:
        """``GET /api/v1/agents/stats``: counts and usage metrics over the caller's agents."""
        return await self.request("GET", "/api/v1/agents/stats")

    async def get_agent(self, agent_id: str) -> CompleteAgent:
        """``GET /api/v1/agents/{agent_id}``: the agent with every configuration section."""
        return await self._as(CompleteAgent, "GET", "/api/v1/agents/{agent_id}", path_params={"agent_id": agent_id})

    async def create_agent(self, body: dict[str, Any]) -> CompleteAgent:
        """``POST /api/v1/agents``: full create (``CreateAgentRequest``: agent, configs, agent_specific_config)."""
        return await self._as(CompleteAgent, "POST", "/api/v1/agents", json_body=body)

    async def create_agent_simple(self, name: str, description: str | None = None) -> CompleteAgent:
        """``POST /api/v1/agents/simple``: an agent on platform defaults; configure it with update_agent."""
        body = _compact(name=name, description=description)
        return await self._as(CompleteAgent, "POST", "/api/v1/agents/simple", json_body=body)

    async def update_agent(self, agent_id: str, body: dict[str, Any], *, force_update: bool = False) -> CompleteAgent:
        """``PUT /api/v1/agents/{agent_id}``: partial update; active agents need ``force_update``."""
        return await self._as(
            CompleteAgent,
            "PUT",
            "/api/v1/agents/{agent_id}",
            path_params={"agent_id": agent_id},
            params={"force_update": _only_if(force_update)},
            json_body=body,
        )

    async def delete_agent(self, agent_id: str, *, force_delete: bool = False) -> JSON:
        """``DELETE /api/v1/agents/{agent_id}``: only inactive agents unless ``force_delete``."""
        return await self.request(
            "DELETE",
            "/api/v1/agents/{agent_id}",
            path_params={"agent_id": agent_id},
            params={"force_delete": _only_if(force_delete)},
        )

    async def _patch_config(
        self, agent_id: str, section: str, body: dict[str, Any], force_update: bool
    ) -> CompleteAgent:
        """``PATCH /api/v1/agents/{agent_id}/{section}``: replace one configuration section."""
        return await self._as(
            CompleteAgent,
            "PATCH",
            f"/api/v1/agents/{{agent_id}}/{section}",
            path_params={"agent_id": agent_id},
            params={"force_update": _only_if(force_update)},
            json_body=body,
        )

    async def patch_agent_model_config(
        self, agent_id: str, body: dict[str, Any], *, force_update: bool = False
    ) -> CompleteAgent:
        """``PATCH /api/v1/agents/{agent_id}/model-config``: LLM (``ModelConfig``: model_name, system_prompt, …)."""
        return await self._patch_config(agent_id, "model-config", body, force_update)

    async def patch_agent_tts_config(
        self, agent_id: str, body: dict[str, Any], *, force_update: bool = False
    ) -> CompleteAgent:
        """``PATCH /api/v1/agents/{agent_id}/tts-config``: voice (``TtsConfig``: tts_model_name, voice_name, …)."""
        return await self._patch_config(agent_id, "tts-config", body, force_update)

    async def patch_agent_transcriber_config(
        self, agent_id: str, body: dict[str, Any], *, force_update: bool = False
    ) -> CompleteAgent:
        """``PATCH /api/v1/agents/{agent_id}/transcriber-config``: STT (transcriber_model_name, language)."""
        return await self._patch_config(agent_id, "transcriber-config", body, force_update)

    async def patch_agent_vad_config(
        self, agent_id: str, body: dict[str, Any], *, force_update: bool = False
    ) -> CompleteAgent:
        """``PATCH /api/v1/agents/{agent_id}/vad-config``: voice-activity detection (``VadConfig``)."""
        return await self._patch_config(agent_id, "vad-config", body, force_update)

    # -- Providers and catalog ----------------------------------------------------------

    async def list_model_providers(self) -> JSON:
        """``GET /api/v1/providers/model``: LLM catalog rows (``model_name`` codes for agent configs)."""
        return await self.request("GET", "/api/v1/providers/model")

    async def list_stt_providers(self) -> JSON:
        """``GET /api/v1/providers/stt``: speech-to-text catalog rows."""
        return await self.request("GET", "/api/v1/providers/stt")

    async def list_tts_providers(self) -> JSON:
        """``GET /api/v1/providers/tts``: text-to-speech catalog rows."""
        return await self.request("GET", "/api/v1/providers/tts")

    async def list_vad_providers(self) -> JSON:
        """``GET /api/v1/providers/vad``: voice-activity-detection providers."""
        return await self.request("GET", "/api/v1/providers/vad")

    async def list_all_providers(self) -> JSON:
        """``GET /api/v1/providers/all``: every provider table in one object."""
        return await self.request("GET", "/api/v1/providers/all")

    async def list_tts_voices(self) -> JSON:
        """``GET /api/v1/tts-voices``: voice rows usable as ``tts_config.voice_name``."""
        return await self.request("GET", "/api/v1/tts-voices")

    async def create_tts_voice(self, body: dict[str, Any]) -> JSON:
        """``POST /api/v1/tts-voices``: add a voice row to the catalog."""
        return await self.request("POST", "/api/v1/tts-voices", json_body=body)

    async def get_tts_voice(self, voice_id: str) -> JSON:
        """``GET /api/v1/tts-voices/{voice_id}``: one voice row."""
        return await self.request("GET", "/api/v1/tts-voices/{voice_id}", path_params={"voice_id": voice_id})

    async def list_tts_voices_by_provider(self, provider_id: str) -> JSON:
        """``GET /api/v1/tts-voices/provider/{provider_id}``: the voices of one TTS provider."""
        return await self.request(
            "GET", "/api/v1/tts-voices/provider/{provider_id}", path_params={"provider_id": provider_id}
        )

    async def list_noise_assets(self) -> JSON:
        """``GET /api/v1/noise-assets``: background-noise tracks (``id`` → ``background_noise_id``)."""
        return await self.request("GET", "/api/v1/noise-assets")

    # -- Phone lines ----------------------------------------------------------------------

    async def list_phone_numbers(self) -> list[PhoneNumber]:
        """``GET /api/v1/phone``: provisioned lines; each ``id`` is a ``phone_number_id``."""
        body = await self.request("GET", "/api/v1/phone")
        return _validated(list[PhoneNumber], _unwrap_list(body, ("phone_numbers", "data")), "GET", "/api/v1/phone")

    async def create_phone_mapping(
        self, phone_number_id: str, *, agent_id: str | None = None, workflow_id: str | None = None
    ) -> JSON:
        """``POST /api/v1/phone/mapping``: route inbound calls on a line to exactly one agent or workflow."""
        if (agent_id is None) == (workflow_id is None):
            raise ValueError("create_phone_mapping needs exactly one of agent_id or workflow_id.")
        body = _compact(phone_number_id=phone_number_id, agent_id=agent_id, workflow_id=workflow_id)
        return await self.request("POST", "/api/v1/phone/mapping", json_body=body)

    async def get_phone_mapping_for_agent(self, agent_id: str) -> JSON:
        """``GET /api/v1/phone/mapping/agent/{agent_id}``: which line(s) route to this agent."""
        return await self.request("GET", "/api/v1/phone/mapping/agent/{agent_id}", path_params={"agent_id": agent_id})

    async def get_phone_mapping(self, phone_number_id: str) -> JSON:
        """``GET /api/v1/phone/mapping/{phone_number_id}``: what a line routes to."""
        return await self.request(
            "GET", "/api/v1/phone/mapping/{phone_number_id}", path_params={"phone_number_id": phone_number_id}
        )

    # -- Outbound calls ---------------------------------------------------------------------

    async def create_call(
        self,
        phone_number: str,
        *,
        agent_id: str | None = None,
        workflow_id: str | None = None,
        phone_number_id: str | None = None,
        variable_values: dict[str, Any] | None = None,
    ) -> CallStarted:
        """``POST /api/call/create_call``: ring ``phone_number`` (E.164) now; never retried once sent.

        Raises CallInitiationFailed when Kupe answers 200 ``"status": "failed"``, and a
        KupeConnectionError with ``may_have_reached`` when the call may have been placed.
        """
        params = {
            "phoneNumber": phone_number,
            "agent_id": agent_id,
            "workflow_id": workflow_id,
            "phone_number_id": phone_number_id,
        }
        body = {"variable_values": variable_values} if variable_values is not None else None
        with _outcome_unknown_if_lost("POST", _CALL_PATH, "the call may have been placed", "get_call_analytics"):
            answer = await self.request("POST", _CALL_PATH, params=params, json_body=body)
            if isinstance(answer, dict) and str(answer.get("status", "")).lower() == "failed":
                reason = answer.get("detail") or answer.get("message") or answer.get("error") or ""
                raise CallInitiationFailed(
                    reason if isinstance(reason, str) else json.dumps(reason),
                    request_id=answer.get("request_id"),
                    call_session_id=answer.get("call_session_id"),
                )
            return _validated(CallStarted, answer, "POST", _CALL_PATH)

    # -- Batch campaigns ------------------------------------------------------------------------

    async def create_batch(self, body: dict[str, Any]) -> JSON:
        """``POST /api/v1/batch-call/create``: a campaign (agent or workflow, caller_phone_id, batch_name, …)."""
        return await self.request("POST", "/api/v1/batch-call/create", json_body=body)

    async def upload_batch_csv(self, batch_id: str, *, filename: str, content: bytes) -> JSON:
        """``POST /api/v1/batch-call/upload/{batch_id}``: add targets from a CSV (``to_phonenumber`` + variables)."""
        return await self.request(
            "POST",
            "/api/v1/batch-call/upload/{batch_id}",
            path_params={"batch_id": batch_id},
            files={"file": (filename, content, "text/csv")},
        )

    async def upload_batch_json(self, batch_id: str, records: list[dict[str, Any]]) -> JSON:
        """``POST /api/v1/batch-call/upload-json/{batch_id}``: add targets as flat JSON rows."""
        return await self.request(
            "POST",
            "/api/v1/batch-call/upload-json/{batch_id}",
            path_params={"batch_id": batch_id},
            json_body={"records": records},
        )

    async def upsert_batch_data(self, batch_id: str, items: list[dict[str, Any]]) -> JSON:
        """``POST /api/v1/batch-call/{batch_id}/data/upsert``: insert targets, or update not-started ones by ``id``."""
        return await self.request(
            "POST",
            "/api/v1/batch-call/{batch_id}/data/upsert",
            path_params={"batch_id": batch_id},
            json_body={"items": items},
        )

    async def list_batch_data(self, batch_id: str, *, status: str | None = None) -> list[BatchRecipient]:
        """``GET /api/v1/batch-call/{batch_id}/data``: the campaign's numbers and their call status."""
        path = "/api/v1/batch-call/{batch_id}/data"
        body = await self.request("GET", path, path_params={"batch_id": batch_id}, params={"status": status})
        return _validated(list[BatchRecipient], _unwrap_list(body, ("data", "items", "batch_data")), "GET", path)

    async def get_batch_status(self, batch_id: str) -> BatchStatus:
        """``GET /api/v1/batch-call/{batch_id}/status``: batch state plus per-status counts (poll after start)."""
        return await self._as(
            BatchStatus, "GET", "/api/v1/batch-call/{batch_id}/status", path_params={"batch_id": batch_id}
        )

    async def start_batch(self, batch_id: str) -> JSON:
        """``POST /api/v1/batch-call/start/{batch_id}``: start dialing the campaign (never retried).

        Raises CallOutcomeUnknown when the request was sent and Kupe's answer was lost.
        """
        path = "/api/v1/batch-call/start/{batch_id}"
        shown = f"/api/v1/batch-call/start/{batch_id}"
        with _outcome_unknown_if_lost("POST", shown, "the batch may have started", "get_batch"):
            return await self.request("POST", path, path_params={"batch_id": batch_id})

    async def list_my_batches(self) -> JSON:
        """``GET /api/v1/batch-call/me``: the caller's campaigns."""
        return await self.request("GET", "/api/v1/batch-call/me")

    async def browse_batches(self, **filters: str | int | None) -> JSON:
        """``GET /api/v1/batch-call/browse``: search campaigns; filters (status, search, page…) go as query."""
        return await self.request("GET", "/api/v1/batch-call/browse", params=filters)

    async def list_user_batches(self, user_id: str) -> JSON:
        """``GET /api/v1/batch-call/user/{user_id}``: one user's campaigns."""
        return await self.request("GET", "/api/v1/batch-call/user/{user_id}", path_params={"user_id": user_id})

    async def get_batch(self, batch_id: str) -> JSON:
        """``GET /api/v1/batch-call/{batch_id}``: campaign metadata."""
        return await self.request("GET", "/api/v1/batch-call/{batch_id}", path_params={"batch_id": batch_id})

    # -- Knowledge files and search ------------------------------------------------------------

    async def upload_file(
        self, *, filename: str, content: bytes, content_type: str | None = None, agent_id: str | None = None
    ) -> dict[str, Any]:
        """``POST /api/v1/files/upload``: add a knowledge document (tagged for ``agent_id`` when given)."""
        ctype = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        return await self._as(
            dict[str, Any],
            "POST",
            "/api/v1/files/upload",
            files={"file": (filename, content, ctype)},
            data={"agent_id": agent_id} if agent_id is not None else None,
        )

    async def supported_file_formats(self) -> JSON:
        """``GET /api/v1/files/supported-formats``: MIME types and extensions upload_file accepts."""
        return await self.request("GET", "/api/v1/files/supported-formats")

    async def list_my_files(self) -> JSON:
        """``GET /api/v1/files/user/me``: the caller's uploaded files (``data.files``)."""
        return await self.request("GET", "/api/v1/files/user/me")

    async def get_file(self, file_id: str) -> JSON:
        """``GET /api/v1/files/{file_id}``: file metadata with signed view/download URLs."""
        return await self.request("GET", "/api/v1/files/{file_id}", path_params={"file_id": file_id})

    async def update_file(self, file_id: str, body: dict[str, Any]) -> JSON:
        """``PUT /api/v1/files/{file_id}``: change file metadata."""
        return await self.request("PUT", "/api/v1/files/{file_id}", path_params={"file_id": file_id}, json_body=body)

    async def delete_file(self, file_id: str) -> JSON:
        """``DELETE /api/v1/files/{file_id}``: delete from storage, vector DB and every agent mapping."""
        return await self.request("DELETE", "/api/v1/files/{file_id}", path_params={"file_id": file_id})

    async def attach_file(self, agent_id: str, upload_file_id: str) -> JSON:
        """``POST /api/v1/agent-files-mappings/create``: let an agent retrieve from an uploaded file."""
        body = {"agent_id": agent_id, "upload_file_id": upload_file_id}
        return await self.request("POST", "/api/v1/agent-files-mappings/create", json_body=body)

    async def list_agent_files(self, agent_id: str) -> JSON:
        """``GET /api/v1/agent-files-mappings/agent/{agent_id}``: files attached to an agent."""
        return await self.request(
            "GET", "/api/v1/agent-files-mappings/agent/{agent_id}", path_params={"agent_id": agent_id}
        )

    async def detach_file(self, agent_id: str, upload_file_id: str) -> JSON:
        """``DELETE /api/v1/agent-files-mappings/agent/{agent_id}/file/{upload_file_id}``: detach (file kept)."""
        return await self.request(
            "DELETE",
            "/api/v1/agent-files-mappings/agent/{agent_id}/file/{upload_file_id}",
            path_params={"agent_id": agent_id, "upload_file_id": upload_file_id},
        )

    async def search_semantic(
        self, agent_id: str, query: str, *, limit: int | None = None, similarity_threshold: float | None = None
    ) -> SearchResult:
        """``POST /api/v1/search/semantic?agent_id=``: vector search over an agent's documents."""
        body = _compact(query=query, limit=limit, similarity_threshold=similarity_threshold)
        return await self._as(
            SearchResult, "POST", "/api/v1/search/semantic", params={"agent_id": agent_id}, json_body=body
        )

    async def search_hybrid(
        self,
        agent_id: str,
        query: str,
        *,
        limit: int | None = None,
        keyword_weight: float | None = None,
        semantic_weight: float | None = None,
        similarity_threshold: float | None = None,
    ) -> SearchResult:
        """``POST /api/v1/search/hybrid?agent_id=``: keyword + vector search (scores are objects)."""
        body = _compact(
            query=query,
            limit=limit,
            keyword_weight=keyword_weight,
            semantic_weight=semantic_weight,
            similarity_threshold=similarity_threshold,
        )
        return await self._as(
            SearchResult, "POST", "/api/v1/search/hybrid", params={"agent_id": agent_id}, json_body=body
        )

    # -- Call analytics ---------------------------------------------------------------------------

    async def call_analytics(
        self,
        *,
        request_id: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
        filter: str | None = None,
        scope: str | None = None,
        organization_ids: str | list[str] | None = None,
        owner_user_ids: str | list[str] | None = None,
    ) -> JSON:
        """``GET /api/v1/call-analytics``: one session (``request_id``), a page, or the full call log."""
        params = {
            "request_id": request_id,
            "page": page,
            "page_size": page_size,
            "filter": filter,
            "scope": scope,
            "organization_ids": organization_ids,
            "owner_user_ids": owner_user_ids,
        }
        return await self.request("GET", "/api/v1/call-analytics", params=params)

    async def _export(self, path: str, params: dict[str, Any]) -> bytes | dict[str, Any]:
        raw: bytes = await self.request("GET", path, params=params, expect="bytes")
        return _json_or_bytes(raw)

    async def export_call_analytics(
        self,
        *,
        request_id: str | None = None,
        start_date: str | date | None = None,
        end_date: str | date | None = None,
        include_recordings: bool | None = None,
    ) -> bytes | dict[str, Any]:
        """``GET /api/v1/call-analytics/export``: a ZIP of one call or a date range, or JSON when it is emailed."""
        params = {
            "request_id": request_id,
            "start_date": _day(start_date),
            "end_date": _day(end_date),
            "include_recordings": include_recordings,
        }
        return await self._export("/api/v1/call-analytics/export", params)

    # -- Billing (read-only for API keys) ---------------------------------------------------------

    async def billing_usage_records(self) -> JSON:
        """``GET /api/v1/billing/usage-records``: usage and credits organised by call session."""
        return await self.request("GET", "/api/v1/billing/usage-records")

    async def billing_usage_records_filtered(
        self,
        *,
        time_filter: str | None = None,
        usage_type: str | None = None,
        search: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        page: int | None = None,
        page_size: int | None = None,
    ) -> JSON:
        """``GET /api/v1/billing/usage/records``: usage rows grouped by session, filtered and paged."""
        params = {
            "time_filter": time_filter,
            "usage_type": usage_type,
            "search": search,
            "limit": limit,
            "offset": offset,
            "page": page,
            "page_size": page_size,
        }
        return await self.request("GET", "/api/v1/billing/usage/records", params=params)

    async def billing_usage_summary(self, *, time_period: str | None = None, scope: str | None = None) -> JSON:
        """``GET /api/v1/billing/usage/summary``: usage aggregated into chart buckets (USD)."""
        params = {"time_period": time_period, "scope": scope}
        return await self.request("GET", "/api/v1/billing/usage/summary", params=params)

    async def billing_usage_overview(self, *, user_id: str | None = None) -> JSON:
        """``GET /api/v1/billing/usage/overview``: total and this-month usage (duration, cost)."""
        return await self.request("GET", "/api/v1/billing/usage/overview", params={"user_id": user_id})

    async def billing_session_usage(self, session_id: str) -> JSON:
        """``GET /api/v1/billing/usage/sessions/{session_id}``: usage and cost of one call session."""
        return await self.request(
            "GET", "/api/v1/billing/usage/sessions/{session_id}", path_params={"session_id": session_id}
        )

    async def export_billing_usage(
        self,
        *,
        time_filter: str | None = None,
        usage_type: str | None = None,
        session_types: str | list[str] | None = None,
        agent_ids: str | list[str] | None = None,
        from_date: str | date | None = None,
        to_date: str | date | None = None,
    ) -> bytes | dict[str, Any]:
        """``GET /api/v1/billing/usage/export``: usage CSV (often emailed; then the JSON acknowledgement)."""
        params = {
            "time_filter": time_filter,
            "usage_type": usage_type,
            "session_types": session_types,
            "agent_ids": agent_ids,
            "from_date": _day(from_date),
            "to_date": _day(to_date),
        }
        return await self._export("/api/v1/billing/usage/export", params)

    async def credit_balance(self) -> JSON:
        """``GET /api/v1/billing/credit-balance``: the wallet-backed balance summary."""
        return await self.request("GET", "/api/v1/billing/credit-balance")

    # -- Wallets, orgs, earnings (admin; writes need a Bearer session) -----------------------------

    async def my_wallet(self) -> JSON:
        """``GET /api/v1/wallets/me``: the caller's wallet (balance, cap usage, ``wallet_id``)."""
        return await self.request("GET", "/api/v1/wallets/me")

    async def list_user_wallets(self) -> JSON:
        """``GET /api/v1/wallets/users``: every user wallet (super_admin)."""
        return await self.request("GET", "/api/v1/wallets/users")

    async def list_org_wallets(self) -> JSON:
        """``GET /api/v1/wallets/orgs``: every organisation wallet (super_admin)."""
        return await self.request("GET", "/api/v1/wallets/orgs")

    async def list_org_member_wallets(self, org_id: str) -> JSON:
        """``GET /api/v1/wallets/orgs/{org_id}/members``: wallets of an organisation's members."""
        return await self.request("GET", "/api/v1/wallets/orgs/{org_id}/members", path_params={"org_id": org_id})

    async def get_wallet(self, wallet_id: str) -> JSON:
        """``GET /api/v1/wallets/{wallet_id}``: grants, ledger and upcoming expiry of one wallet."""
        return await self.request("GET", "/api/v1/wallets/{wallet_id}", path_params={"wallet_id": wallet_id})

    async def grant_wallet_credits(self, wallet_id: str, body: dict[str, Any]) -> JSON:
        """``POST /api/v1/wallets/{wallet_id}/grants``: assign credits (Bearer, org or super admin)."""
        return await self.request(
            "POST", "/api/v1/wallets/{wallet_id}/grants", path_params={"wallet_id": wallet_id}, json_body=body
        )

    async def set_wallet_cap(self, wallet_id: str, body: dict[str, Any]) -> JSON:
        """``POST /api/v1/wallets/{wallet_id}/cap``: set or clear the monthly spend cap (USD)."""
        return await self.request(
            "POST", "/api/v1/wallets/{wallet_id}/cap", path_params={"wallet_id": wallet_id}, json_body=body
        )

    async def adjust_wallet(self, wallet_id: str, body: dict[str, Any]) -> JSON:
        """``POST /api/v1/wallets/{wallet_id}/adjust``: ledger adjustment without a grant (super_admin)."""
        return await self.request(
            "POST", "/api/v1/wallets/{wallet_id}/adjust", path_params={"wallet_id": wallet_id}, json_body=body
        )

    async def set_org_business_model(self, org_id: str, body: dict[str, Any]) -> JSON:
        """``POST /api/v1/orgs/{org_id}/business-model``: set ``org_type`` (super_admin)."""
        return await self.request(
            "POST", "/api/v1/orgs/{org_id}/business-model", path_params={"org_id": org_id}, json_body=body
        )

    async def set_org_commission(self, org_id: str, body: dict[str, Any]) -> JSON:
        """``POST /api/v1/orgs/{org_id}/commission``: set the org's commission percentage (super_admin)."""
        return await self.request(
            "POST", "/api/v1/orgs/{org_id}/commission", path_params={"org_id": org_id}, json_body=body
        )

    async def set_org_markup(self, org_id: str, body: dict[str, Any]) -> JSON:
        """``POST /api/v1/orgs/{org_id}/markup``: set reseller markup percentage and currency."""
        return await self.request(
            "POST", "/api/v1/orgs/{org_id}/markup", path_params={"org_id": org_id}, json_body=body
        )

    async def my_earnings(self, *, period: str | None = None) -> JSON:
        """``GET /api/v1/earnings/me``: the reseller org's earnings (period: day|week|month|year|all)."""
        return await self.request("GET", "/api/v1/earnings/me", params={"period": period})

    async def my_earnings_breakdown(self, *, period: str | None = None) -> JSON:
        """``GET /api/v1/earnings/me/breakdown``: the same earnings in time buckets."""
        return await self.request("GET", "/api/v1/earnings/me/breakdown", params={"period": period})

    async def org_earnings(self, org_id: str, *, period: str | None = None) -> JSON:
        """``GET /api/v1/earnings/orgs/{org_id}``: any org's earnings (super_admin)."""
        return await self.request(
            "GET", "/api/v1/earnings/orgs/{org_id}", path_params={"org_id": org_id}, params={"period": period}
        )

    # -- Feature flags ----------------------------------------------------------------------------

    async def my_feature_flags(self) -> JSON:
        """``GET /api/v1/feature-flags/me``: the caller's boolean feature flags."""
        return await self.request("GET", "/api/v1/feature-flags/me")

    async def get_feature_flags(self, user_id: str) -> JSON:
        """``GET /api/v1/feature-flags/{user_id}``: another user's flags (when RBAC allows)."""
        return await self.request("GET", "/api/v1/feature-flags/{user_id}", path_params={"user_id": user_id})

    async def update_feature_flags(self, user_id: str, body: dict[str, Any]) -> JSON:
        """``PUT /api/v1/feature-flags/{user_id}``: set boolean flags only."""
        return await self.request(
            "PUT", "/api/v1/feature-flags/{user_id}", path_params={"user_id": user_id}, json_body=body
        )

    # -- API keys ----------------------------------------------------------------------------------

    async def create_api_key(
        self,
        *,
        name: str | None = None,
        user_id: str | None = None,
        provider_name: str | None = None,
        api_key: str | None = None,
    ) -> JSON:
        """``POST /api/v1/api-keys``: create a key (server-generated unless ``api_key`` is given, as the docs allow)."""
        body = _compact(name=name, user_id=user_id, provider_name=provider_name, api_key=api_key)
        return await self.request("POST", "/api/v1/api-keys", json_body=body)

    async def list_api_keys(self, *, user_id: str | None = None) -> JSON:
        """``GET /api/v1/api-keys/fetch``: active keys of the caller (or of ``user_id`` for org admins)."""
        return await self.request("GET", "/api/v1/api-keys/fetch", params={"user_id": user_id})

    async def list_user_api_keys(self, user_id: str) -> JSON:
        """``GET /api/v1/api-keys/fetch/{user_id}``: active keys of one user (the docs' form)."""
        return await self.request("GET", "/api/v1/api-keys/fetch/{user_id}", path_params={"user_id": user_id})

    async def api_key_exists(self, user_id: str, provider_name: str) -> JSON:
        """``POST /api/v1/api-keys/exists``: whether the user has an active key for a provider."""
        body = {"user_id": user_id, "provider_name": provider_name}
        return await self.request("POST", "/api/v1/api-keys/exists", json_body=body)

    async def rename_api_key(self, key_id: str, name: str, *, user_id: str | None = None) -> JSON:
        """``PATCH /api/v1/api-keys/{key_id}``: change a key's label (an empty name clears it)."""
        return await self.request(
            "PATCH",
            "/api/v1/api-keys/{key_id}",
            path_params={"key_id": key_id},
            params={"user_id": user_id},
            json_body={"name": name},
        )

    async def revoke_api_key(self, key_id: str, *, user_id: str | None = None) -> JSON:
        """``DELETE /api/v1/api-keys/{key_id}``: revoke a key; it stops working immediately."""
        return await self.request(
            "DELETE", "/api/v1/api-keys/{key_id}", path_params={"key_id": key_id}, params={"user_id": user_id}
        )

    # -- Post-call analysis --------------------------------------------------------------------------

    async def list_analysis_rules(self) -> JSON:
        """``GET /api/v1/post-analysis/rules``: the caller's post-call analysis rules."""
        return await self.request("GET", "/api/v1/post-analysis/rules")

    async def create_analysis_rule(self, body: dict[str, Any]) -> JSON:
        """``POST /api/v1/post-analysis/rules``: create a rule."""
        return await self.request("POST", "/api/v1/post-analysis/rules", json_body=body)

    async def get_analysis_rule(self, rule_id: str) -> JSON:
        """``GET /api/v1/post-analysis/rules/{rule_id}``: one rule."""
        return await self.request("GET", "/api/v1/post-analysis/rules/{rule_id}", path_params={"rule_id": rule_id})

    async def update_analysis_rule(self, rule_id: str, body: dict[str, Any]) -> JSON:
        """``PUT /api/v1/post-analysis/rules/{rule_id}``: replace a rule."""
        return await self.request(
            "PUT", "/api/v1/post-analysis/rules/{rule_id}", path_params={"rule_id": rule_id}, json_body=body
        )

    async def delete_analysis_rule(self, rule_id: str) -> JSON:
        """``DELETE /api/v1/post-analysis/rules/{rule_id}``: delete a rule."""
        return await self.request("DELETE", "/api/v1/post-analysis/rules/{rule_id}", path_params={"rule_id": rule_id})

    async def duplicate_analysis_rule(self, rule_id: str) -> JSON:
        """``POST /api/v1/post-analysis/rules/{rule_id}/duplicate``: copy a rule."""
        return await self.request(
            "POST", "/api/v1/post-analysis/rules/{rule_id}/duplicate", path_params={"rule_id": rule_id}
        )

    async def get_agent_post_analysis(self, agent_id: str) -> JSON:
        """``GET /api/v1/agents/{agent_id}/post-analysis``: the agent's post-call analysis rows."""
        return await self.request("GET", "/api/v1/agents/{agent_id}/post-analysis", path_params={"agent_id": agent_id})

    async def upsert_agent_post_analysis(self, agent_id: str, body: dict[str, Any]) -> JSON:
        """``POST /api/v1/agents/{agent_id}/post-analysis``: upsert the config (body ``agent_id`` set from the path)."""
        return await self.request(
            "POST",
            "/api/v1/agents/{agent_id}/post-analysis",
            path_params={"agent_id": agent_id},
            json_body={**body, "agent_id": agent_id},
        )

    async def list_agent_attached_rules(self, agent_id: str) -> JSON:
        """``GET /api/v1/agents/{agent_id}/post-analysis/attached-rules``: rules attached to the agent."""
        return await self.request(
            "GET", "/api/v1/agents/{agent_id}/post-analysis/attached-rules", path_params={"agent_id": agent_id}
        )

    async def set_agent_attached_rules(self, agent_id: str, rule_ids: list[str]) -> JSON:
        """``PUT /api/v1/agents/{agent_id}/post-analysis/attached-rules``: replace the attached rule ids."""
        return await self.request(
            "PUT",
            "/api/v1/agents/{agent_id}/post-analysis/attached-rules",
            path_params={"agent_id": agent_id},
            json_body={"rule_ids": list(rule_ids)},
        )

    async def list_agent_attached_rule_ids(self, agent_id: str) -> JSON:
        """``GET /api/v1/agents/{agent_id}/post-analysis/attached-rule-ids``: attached rule ids only."""
        return await self.request(
            "GET", "/api/v1/agents/{agent_id}/post-analysis/attached-rule-ids", path_params={"agent_id": agent_id}
        )

    # -- Tool definitions and agent tools ------------------------------------------------------------

    async def _tool_def(self, method: str, base: str, tool_id: str | None = None, body: JSON = None) -> JSON:
        """CRUD on a tool-definition collection (``base``) or one of its items (``base/{tool_id}``)."""
        if tool_id is None:
            return await self.request(method, base, json_body=body)
        return await self.request(method, base + "/{tool_id}", path_params={"tool_id": tool_id}, json_body=body)

    async def list_http_tools(self) -> JSON:
        """``GET /api/v1/tool-endpoint-defs``: the caller's custom HTTP tool definitions."""
        return await self._tool_def("GET", "/api/v1/tool-endpoint-defs")

    async def create_http_tool(self, body: dict[str, Any]) -> JSON:
        """``POST /api/v1/tool-endpoint-defs``: define an HTTP tool (name, url, tool_schema, …)."""
        return await self._tool_def("POST", "/api/v1/tool-endpoint-defs", body=body)

    async def get_http_tool(self, tool_id: str) -> JSON:
        """``GET /api/v1/tool-endpoint-defs/{tool_id}``: one HTTP tool definition."""
        return await self._tool_def("GET", "/api/v1/tool-endpoint-defs", tool_id)

    async def update_http_tool(self, tool_id: str, body: dict[str, Any]) -> JSON:
        """``PUT /api/v1/tool-endpoint-defs/{tool_id}``: replace an HTTP tool definition."""
        return await self._tool_def("PUT", "/api/v1/tool-endpoint-defs", tool_id, body)

    async def delete_http_tool(self, tool_id: str) -> JSON:
        """``DELETE /api/v1/tool-endpoint-defs/{tool_id}``: delete an HTTP tool definition."""
        return await self._tool_def("DELETE", "/api/v1/tool-endpoint-defs", tool_id)

    async def list_mcp_tools(self) -> JSON:
        """``GET /api/v1/tools-mcp-server-defs``: the caller's MCP server tool definitions."""
        return await self._tool_def("GET", "/api/v1/tools-mcp-server-defs")

    async def create_mcp_tool(self, body: dict[str, Any]) -> JSON:
        """``POST /api/v1/tools-mcp-server-defs``: define an MCP-server-backed tool."""
        return await self._tool_def("POST", "/api/v1/tools-mcp-server-defs", body=body)

    async def get_mcp_tool(self, tool_id: str) -> JSON:
        """``GET /api/v1/tools-mcp-server-defs/{tool_id}``: one MCP tool definition."""
        return await self._tool_def("GET", "/api/v1/tools-mcp-server-defs", tool_id)

    async def update_mcp_tool(self, tool_id: str, body: dict[str, Any]) -> JSON:
        """``PUT /api/v1/tools-mcp-server-defs/{tool_id}``: replace an MCP tool definition."""
        return await self._tool_def("PUT", "/api/v1/tools-mcp-server-defs", tool_id, body)

    async def delete_mcp_tool(self, tool_id: str) -> JSON:
        """``DELETE /api/v1/tools-mcp-server-defs/{tool_id}``: delete an MCP tool definition."""
        return await self._tool_def("DELETE", "/api/v1/tools-mcp-server-defs", tool_id)

    async def list_agent_tools(self, agent_id: str) -> JSON:
        """``GET /api/v1/agents/{agent_id}/tools``: tool mappings of an agent."""
        return await self.request("GET", "/api/v1/agents/{agent_id}/tools", path_params={"agent_id": agent_id})

    async def add_agent_tools(self, agent_id: str, tools: list[dict[str, Any]]) -> JSON:
        """``POST /api/v1/agents/{agent_id}/tools``: add tool mappings (a JSON array of tool configs)."""
        return await self.request(
            "POST", "/api/v1/agents/{agent_id}/tools", path_params={"agent_id": agent_id}, json_body=list(tools)
        )

    async def replace_agent_tools(
        self, agent_id: str, tools: list[dict[str, Any]], *, force_update: bool = False
    ) -> JSON:
        """``PATCH /api/v1/agents/{agent_id}/tools``: replace the agent's whole tool configuration."""
        return await self.request(
            "PATCH",
            "/api/v1/agents/{agent_id}/tools",
            path_params={"agent_id": agent_id},
            params={"force_update": _only_if(force_update)},
            json_body=list(tools),
        )

    async def remove_agent_tool(self, agent_id: str, tool_id: str) -> JSON:
        """``DELETE /api/v1/agents/{agent_id}/tools/{tool_id}``: remove one tool mapping."""
        return await self.request(
            "DELETE",
            "/api/v1/agents/{agent_id}/tools/{tool_id}",
            path_params={"agent_id": agent_id, "tool_id": tool_id},
        )

    # -- Agent webhooks -------------------------------------------------------------------------------

    async def list_my_webhooks(self) -> JSON:
        """``GET /api/v1/webhooks/me``: webhook URLs of the caller's agents."""
        return await self.request("GET", "/api/v1/webhooks/me")

    async def get_agent_webhooks(self, agent_id: str, *, reveal_secret: bool = False) -> JSON:
        """``GET /api/v1/webhooks/agents/{agent_id}``: incoming/outgoing webhook config (secret only on request)."""
        return await self.request(
            "GET",
            "/api/v1/webhooks/agents/{agent_id}",
            path_params={"agent_id": agent_id},
            params={"reveal_secret": _only_if(reveal_secret)},
        )

    async def put_agent_webhooks(self, agent_id: str, body: dict[str, Any]) -> JSON:
        """``PUT /api/v1/webhooks/agents/{agent_id}``: upsert the agent's webhook config."""
        return await self.request(
            "PUT", "/api/v1/webhooks/agents/{agent_id}", path_params={"agent_id": agent_id}, json_body=body
        )

    async def rotate_webhook_secret(self, agent_id: str) -> JSON:
        """``POST /api/v1/webhooks/agents/{agent_id}/rotate-secret``: new HMAC secret (returned once)."""
        return await self.request(
            "POST", "/api/v1/webhooks/agents/{agent_id}/rotate-secret", path_params={"agent_id": agent_id}
        )

    async def test_outgoing_webhook(self, agent_id: str) -> JSON:
        """``POST /api/v1/webhooks/agents/{agent_id}/test-outgoing``: send a sample payload to the call-ended URL."""
        return await self.request(
            "POST", "/api/v1/webhooks/agents/{agent_id}/test-outgoing", path_params={"agent_id": agent_id}
        )
