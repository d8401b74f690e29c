"""Agent documents: defaults, partial updates with alias handling, catalog-code resolution, views.

Kept apart from the HTTP handlers because the seed builds the demo agent with the
very same code path the API uses.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ._http import fail, validate
from ._state import iso, new_id
from ._store import Doc, Store

DEFAULT_PROMPT = "You are a helpful, concise voice assistant. Answer in one or two short sentences."
DEFAULT_WELCOME = "Hello! How can I help you today?"
META_FIELDS = frozenset({"name", "description", "first_response_message", "is_active"})
CONFIG_SECTIONS = (
    "agent_model_config",
    "model_config",
    "tts_config",
    "transcriber_config",
    "vad_config",
    "inferencing_config",
    "agent_specific_config",
)
ACTIVE_DETAIL = "Agent is active; pass force_update=true to change its configuration"

_CATEGORY_LABEL = {"llm": "LLM model", "tts": "TTS model", "stt": "STT model", "vad": "VAD provider"}
_CATEGORY_ROUTE = {"llm": "model", "tts": "tts", "stt": "stt", "vad": "vad"}

DEFAULT_AGENT_SPECIFIC: Doc = {
    "session_timeout": 180,
    "end_of_speech_timeout": 1.5,
    "llm_conversation_stop_enabled": False,
    "auto_terminate_call": False,
    "caller_gender_detection_enabled": True,
    "max_output_tokens": 370,
    "timezone": "Asia/Kolkata",
    "inbound_transfer_routes": [],
    "end_call_message_mode": "fixed",
    "noise_cancellation_strength": 50,
    "background_noise_id": None,
    "background_noise_volume": 100,
}
DEFAULT_INFERENCING: Doc = {
    "interruptions_enabled": True,
    "backchanneling_enabled": False,
    "filler_words_enabled": False,
    "response_latency_mode": "balanced",
}
# Dashboard camelCase spellings the real API also accepts.
_CAMEL_ALIASES = {"autoTerminate": "auto_terminate_call", "sessionTimeout": "session_timeout"}


class _Section(BaseModel):
    """A body section: unknown keys kept (as Kupe keeps them); a declared field sent as ``null`` is refused, at any
    depth, since the spec marks none of these nullable."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            nulls = [k for k, v in data.items() if v is None and k in cls.model_fields]
            if nulls:
                raise ValueError(f"{', '.join(nulls)}: Input should not be null")
        return data


class AgentIn(_Section):
    name: str | None = None  # the spec sets no length limits
    description: str | None = None
    is_active: bool | None = None
    recording_enabled: bool | None = None
    first_response_message: str | None = None
    welcome_message: str | None = None
    apply_noise_reduction: bool | None = None


class ModelConfigIn(_Section):
    model_name: str | None = None
    model_provider_id: str | None = None
    temperature: float | None = None  # the spec sets no bounds; the tools set their own
    max_tokens: int | None = None
    system_prompt: str | None = None


class TtsConfigIn(_Section):
    tts_model_name: str | None = None
    tts_provider_id: str | None = None
    language: str | None = None
    voice_name: str | None = None
    voice_parameters: dict[str, Any] | None = None


class TranscriberConfigIn(_Section):
    """``TranscriberConfig``: the spec requires the model (or its legacy alias ``provider_id``) and the language."""

    transcriber_model_name: str | None = None
    provider_id: str | None = None
    language: str | list[str]

    @model_validator(mode="after")
    def _needs_a_model(self) -> TranscriberConfigIn:
        if self.transcriber_model_name is None and self.provider_id is None:
            raise ValueError("transcriber_model_name is required (with language)")
        return self


class VadConfigIn(_Section):
    """``VadConfig``: ``vad_provider_id`` is required; the spec sets no bounds on the numbers."""

    vad_provider_id: str
    threshold: float | None = None
    min_speech_duration_ms: float | None = None
    min_silence_duration_ms: float | None = None
    max_allowed_silence_duration: float | None = None
    sampling_rate: float | None = None


class TransferRouteIn(_Section):
    """``InboundTransferRouteItem``: one PSTN transfer target and when the model should use it."""

    route_id: str | None = Field(None, pattern=r"^\w*$")  # empty or omitted: generated
    display_name: str | None = None
    enabled: bool | None = None
    condition_when_to_transfer: str | None = None
    phone_number: str | None = None


class AgentSpecificIn(_Section):
    """``AgentSpecificConfigInput``, typed as the spec types it (unknown keys are kept, as Kupe keeps them)."""

    session_timeout: int | None = Field(None, ge=1, le=86400)
    end_of_speech_timeout: float | None = Field(None, ge=0)
    conversation_stop_words: list[str] | None = None
    llm_conversation_stop_enabled: bool | None = None
    auto_terminate_call: bool | None = None
    caller_gender_detection_enabled: bool | None = None
    max_output_tokens: int | None = Field(None, ge=1)
    timezone: str | None = None
    inbound_transfer_call_number: str | None = None
    inbound_transfer_trigger_condition: str | None = None
    inbound_transfer_routes: list[TransferRouteIn] | None = None
    time_to_cut: int | None = Field(None, ge=1, le=86400)
    message_of_cut: str | None = None
    end_call_message_mode: Literal["fixed", "context_aware"] | None = None
    noise_cancellation_strength: int | None = Field(None, ge=0, le=100)
    background_noise_id: str | None = None
    background_noise_volume: int | None = Field(None, ge=0, le=100)


def reject_null_sections(body: Doc) -> None:
    """A section sent as ``null`` is a 422: the spec types each one as an object, none nullable."""
    nulls = [key for key in ("agent", *CONFIG_SECTIONS) if key in body and body[key] is None]
    if nulls:
        fail(422, [{"type": "dict_type", "loc": ["body", k], "msg": "Input should be a valid object"} for k in nulls])


def resolve_provider(store: Store, category: str, code: str, field: str) -> Doc:
    """Catalog code (``model_name``, ``provider:model_name``, ``provider_name``) or row UUID -> catalog row."""
    wanted = code.strip().casefold()
    rows = store.list("provider", category=category)
    for row in rows:
        names = {row["id"], row["model_name"], f"{row['provider_name']}:{row['model_name']}"}
        if wanted in {n.casefold() for n in names}:
            return row
    by_provider = [r for r in rows if r["provider_name"].casefold() == wanted]
    if by_provider:
        return next((r for r in by_provider if r["is_default"]), by_provider[0])
    fail(
        400,
        f"Unknown {_CATEGORY_LABEL[category]} '{code}' in {field}; "
        f"see GET /api/v1/providers/{_CATEGORY_ROUTE[category]} for valid codes",
    )


def _default_row(store: Store, category: str) -> Doc:
    rows = store.list("provider", category=category)
    return next(r for r in rows if r["is_default"])


def _deep_merge(base: Doc, patch: Doc) -> Doc:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def default_configurations(store: Store, agent_id: str) -> Doc:
    llm, tts, stt, vad = (_default_row(store, c) for c in ("llm", "tts", "stt", "vad"))
    return {
        "model_config": {
            "id": new_id(),
            "agent_id": agent_id,
            "model_provider_id": llm["id"],
            "model_name": llm["model_name"],
            "provider_name": llm["provider_name"],
            "temperature": 0.7,
            "max_tokens": 256,
            "system_prompt": DEFAULT_PROMPT,
        },
        "tts_config": {
            "id": new_id(),
            "agent_id": agent_id,
            "tts_provider_id": tts["id"],
            "tts_model_name": tts["model_name"],
            "provider_name": tts["provider_name"],
            "voice_name": "Anushka",
            "voice_id": "anushka",
            "voice_parameters": {"language": "en-IN", "speed": 1.0},
        },
        "transcriber_config": {
            "id": new_id(),
            "agent_id": agent_id,
            "provider_id": stt["id"],
            "transcriber_model_name": stt["model_name"],
            "provider_name": stt["provider_name"],
            "model_id": stt["model_name"],
            "language": "en-IN",
        },
        "vad_config": {
            "id": new_id(),
            "agent_id": agent_id,
            "vad_provider_id": vad["id"],
            "provider_name": vad["provider_name"],
            "threshold": 0.5,
            "min_speech_duration_ms": 250,
            "min_silence_duration_ms": 500,
            "max_allowed_silence_duration": 0,
            "sampling_rate": 16000,
        },
        "inferencing_config": {"id": new_id(), "agent_id": agent_id, **DEFAULT_INFERENCING},
        "tools": [],
        "agent_specific_config": copy.deepcopy(DEFAULT_AGENT_SPECIFIC),
    }


def _take_provider(store: Store, cfg: Doc, data: Doc, category: str, name_key: str, id_key: str, loc: str) -> None:
    """Resolve the provider ``data`` names by model name or row id (either key; the name wins) into ``cfg``."""
    code = data.pop(name_key, None) or data.pop(id_key, None)
    data.pop(id_key, None)
    if code:
        row = resolve_provider(store, category, code, f"{loc}.{name_key}")
        cfg.update({id_key: row["id"], name_key: row["model_name"], "provider_name": row["provider_name"]})


def _apply_model(store: Store, cfg: Doc, data: Doc, loc: str) -> None:
    _take_provider(store, cfg, data, "llm", "model_name", "model_provider_id", loc)
    cfg.update(data)


def _apply_tts(store: Store, cfg: Doc, data: Doc, loc: str) -> None:
    _take_provider(store, cfg, data, "tts", "tts_model_name", "tts_provider_id", loc)
    params = cfg.setdefault("voice_parameters", {})
    if isinstance(data.get("voice_parameters"), dict):
        params.update(data.pop("voice_parameters"))
    if data.get("language") is not None:
        params["language"] = data.pop("language")
    data.pop("language", None)
    if data.get("voice_name"):
        voice = next(
            (
                v
                for v in store.list("tts_voice", provider_id=cfg["tts_provider_id"])
                if v["name"].casefold() == data["voice_name"].casefold()
            ),
            None,
        )
        data["voice_name"] = voice["name"] if voice else data["voice_name"]
        data["voice_id"] = voice["voice_id"] if voice else None
    cfg.update(data)


def _apply_transcriber(store: Store, cfg: Doc, data: Doc, loc: str) -> None:
    code, alias = data.pop("transcriber_model_name", None), data.pop("provider_id", None)
    code = code if code is not None else alias
    if code is not None:  # an empty code is an unknown one (400), not "no change"
        row = resolve_provider(store, "stt", code, f"{loc}.transcriber_model_name")
        cfg.update(
            provider_id=row["id"],
            transcriber_model_name=row["model_name"],
            provider_name=row["provider_name"],
            model_id=row["model_name"],
        )
    language = data.get("language")
    if isinstance(language, list):
        if len(language) != 1:
            fail(400, f"{loc}.language must be a single locale string (or a one-element array), got {language!r}")
        data["language"] = language[0]
    cfg.update(data)


def _apply_vad(store: Store, cfg: Doc, data: Doc, loc: str) -> None:
    code = data.pop("vad_provider_id", None)
    if code:
        row = resolve_provider(store, "vad", code, f"{loc}.vad_provider_id")
        cfg.update(vad_provider_id=row["id"], provider_name=row["provider_name"])
    cfg.update(data)


def _digits(number: str) -> str:
    return "".join(ch for ch in number if ch.isdigit())


def _apply_specific(store: Store, cfg: Doc, data: Doc, loc: str) -> None:
    for camel, snake in _CAMEL_ALIASES.items():
        if camel in data:
            data.setdefault(snake, data.pop(camel))
    for index, route in enumerate(data.get("inbound_transfer_routes") or []):
        route["route_id"] = route.get("route_id") or f"route_{index + 1}"
        if route.get("phone_number"):
            route["phone_number"] = "".join(ch for ch in route["phone_number"] if ch.isdigit())  # "digits only"
    if data.get("inbound_transfer_call_number"):
        data["inbound_transfer_call_number"] = "".join(
            ch for ch in data["inbound_transfer_call_number"] if ch.isdigit()
        )
    if "background_noise_id" in data:
        noise = data["background_noise_id"]
        if noise:
            asset_id = noise if noise.endswith(".wav") else f"{noise}.wav"
            if store.get("noise_asset", asset_id) is None:
                fail(400, f"Unknown background_noise_id '{noise}'; see GET /api/v1/noise-assets")
            data["background_noise_id"] = asset_id
        else:
            data["background_noise_id"] = None  # "" clears the selection (noise-assets prose)
    _deep_merge(cfg, data)


def _apply_inferencing(store: Store, cfg: Doc, data: Doc, loc: str) -> None:
    _deep_merge(cfg, data)


# body key -> (configurations key, validation model, merge function)
_SECTIONS: dict[str, tuple[str, type[_Section], Any]] = {
    "agent_model_config": ("model_config", ModelConfigIn, _apply_model),
    "model_config": ("model_config", ModelConfigIn, _apply_model),
    "tts_config": ("tts_config", TtsConfigIn, _apply_tts),
    "transcriber_config": ("transcriber_config", TranscriberConfigIn, _apply_transcriber),
    "vad_config": ("vad_config", VadConfigIn, _apply_vad),
    "inferencing_config": ("inferencing_config", _Section, _apply_inferencing),
    "agent_specific_config": ("agent_specific_config", AgentSpecificIn, _apply_specific),
}


def apply_section(store: Store, doc: Doc, section: str, raw: Any, loc: tuple[str, ...] | None = None) -> None:
    """Validate one config section from a request body and merge it onto the stored agent."""
    target, model, merge = _SECTIONS[section]
    data = validate(model, raw, loc or ("body", section)).model_dump(exclude_unset=True)
    merge(store, doc["configurations"][target], data, section)


def apply_agent_fields(doc: Doc, raw: Any, now: float) -> None:
    data = validate(AgentIn, raw, ("body", "agent")).model_dump(exclude_unset=True)
    welcome = data.pop("welcome_message", None)
    if welcome is not None and "first_response_message" not in data:
        data["first_response_message"] = welcome
    data.pop("id", None)
    data.pop("user_id", None)
    doc["agent"].update(data)
    doc["agent"]["updated_at"] = iso(now)


def touches_config(body: Doc) -> bool:
    """Whether a PUT body changes anything beyond name/description/welcome line/is_active."""
    if any(body.get(section) is not None for section in CONFIG_SECTIONS):
        return True
    agent = body.get("agent") or {}
    return isinstance(agent, dict) and any(k not in META_FIELDS | {"welcome_message"} for k in agent)


def new_agent(
    store: Store, *, user_id: str, now: float, agent_in: Any, sections: Doc, agent_id: str | None = None
) -> Doc:
    agent_id = agent_id or new_id()
    doc: Doc = {
        "id": agent_id,
        "user_id": user_id,
        "agent": {
            "id": agent_id,
            "name": None,
            "description": "",
            "user_id": user_id,
            "is_active": True,
            "recording_enabled": True,
            "first_response_message": DEFAULT_WELCOME,
            "apply_noise_reduction": False,
            "created_at": iso(now),
            "updated_at": iso(now),
        },
        "configurations": default_configurations(store, agent_id),
        "rule_ids": [],
        "post_analysis": [],
    }
    apply_agent_fields(doc, agent_in, now)
    if doc["agent"]["name"] is None:
        fail(422, [{"type": "missing", "loc": ["body", "agent", "name"], "msg": "Field required", "input": agent_in}])
    for section in CONFIG_SECTIONS:
        if sections.get(section) is not None:
            apply_section(store, doc, section, sections[section])
    return doc


def view(doc: Doc) -> Doc:
    """``CompleteAgentResponse``: the agent row plus every configuration section."""
    return {"agent": doc["agent"], "configurations": doc["configurations"], "validation_status": "valid"}


def summary(doc: Doc) -> Doc:
    agent, cfg = doc["agent"], doc["configurations"]
    return {
        "id": agent["id"],
        "name": agent["name"],
        "description": agent["description"],
        "user_id": agent["user_id"],
        "is_active": agent["is_active"],
        "first_response_message": agent["first_response_message"],
        "model_name": cfg["model_config"]["model_name"],
        "tts_model_name": cfg["tts_config"]["tts_model_name"],
        "voice_name": cfg["tts_config"].get("voice_name"),
        "transcriber_model_name": cfg["transcriber_config"]["transcriber_model_name"],
        "created_at": agent["created_at"],
        "updated_at": agent["updated_at"],
    }
