"""Toolset ``agents``: configure voice agents and read the model/voice catalog.

Tool arguments are flat (cheap in context, easy for a model); ``agent_body`` maps them
onto Kupe's nested partial-update body, sending only what was given.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from kupe_mcp.client import CompleteAgent, KupeClient
from kupe_mcp.errors import KupeError, UnexpectedResponse, brief
from kupe_mcp.safety.agent import forget_agent
from kupe_mcp.toolsets._catalog import CatalogCheck, check_catalog, transcriber_pair
from kupe_mcp.toolsets._context import kupe
from kupe_mcp.toolsets._registry import Toolset
from kupe_mcp.toolsets._shape import Page, View, Written, page_of
from kupe_mcp.toolsets._types import AgentId, PageSize
from kupe_mcp.toolsets._types import Page as PageNo

toolset = Toolset("agents", "Create, configure and delete voice agents; model and voice catalog.", default=True)

Name = Annotated[str, Field(min_length=1, max_length=200)]
Description = Annotated[str | None, Field(max_length=2000)]
SystemPrompt = Annotated[str | None, Field(description="{{var}} placeholders take call variables.")]
Welcome = Annotated[str | None, Field(description="First thing the agent says.")]
ModelName = Annotated[str | None, Field(description="LLM code, e.g. gpt-4.1-mini.")]
Temperature = Annotated[float | None, Field(ge=0, le=2)]
MaxTokens = Annotated[int | None, Field(ge=1, le=32_000)]
TtsModel = Annotated[str | None, Field(description="TTS code, e.g. bulbul:v2.")]
VoiceName = Annotated[str | None, Field(description="e.g. Anushka (list_voices).")]
TtsLanguage = Annotated[str | None, Field(description="e.g. hi-IN.")]
SttModel = Annotated[str | None, Field(description="STT code, e.g. saarika:2.5.")]
SttLanguage = Annotated[str | None, Field(description="e.g. hi-IN.")]


class AgentItem(View):
    id: str
    name: str | None = None
    is_active: bool | None = None


class ProviderItem(View):
    kind: str
    id: str | None = None
    name: str | None = None  # a noise asset's label (its id is the background_noise_id)
    model_name: str | None = None
    provider_name: str | None = None
    is_default: bool | None = None
    supported_languages: list[str] | None = None


class VoiceItem(View):
    voice_name: str | None = None
    name: str | None = None
    language: str | None = None
    gender: str | None = None
    tts_model_name: str | None = None
    provider_id: str | None = None


# Where each flat tool argument lives in Kupe's nested agent body.
_BODY_PATH: dict[str, tuple[str, str]] = {
    "name": ("agent", "name"),
    "description": ("agent", "description"),
    "welcome_message": ("agent", "first_response_message"),
    "system_prompt": ("agent_model_config", "system_prompt"),
    "model_name": ("agent_model_config", "model_name"),
    "temperature": ("agent_model_config", "temperature"),
    "max_tokens": ("agent_model_config", "max_tokens"),
    "tts_model_name": ("tts_config", "tts_model_name"),
    "voice_name": ("tts_config", "voice_name"),
    "tts_language": ("tts_config", "language"),
    "transcriber_model_name": ("transcriber_config", "transcriber_model_name"),
    "transcriber_language": ("transcriber_config", "language"),
}


def agent_body(arguments: dict[str, Any]) -> dict[str, Any]:
    """Kupe's nested partial body (PUT /api/v1/agents/{id}) holding only the settings that were given.

    ``arguments`` may hold anything (a tool's ``locals()``); only known settings that are not None are sent.
    """
    body: dict[str, Any] = {}
    for name, (section, key) in _BODY_PATH.items():
        if arguments.get(name) is not None:
            body.setdefault(section, {})[key] = arguments[name]
    return body


@toolset.tool(title="List agents", read_only=True)
async def list_agents(
    ctx: Context,
    name_search: Annotated[str | None, Field(max_length=200, description="Part of the agent name.")] = None,
    page: PageNo = 1,
    page_size: PageSize = 20,
) -> Page[AgentItem]:
    """Show all my voice agents (bots, assistants) or find one by name: id, name, status."""
    found = await kupe(ctx).list_agents_summary(page=page, page_size=page_size, name_search=name_search)
    return page_of(AgentItem, found.items, page=page, page_size=page_size, total=found.total, paged=True)


@toolset.tool(title="Show an agent's current setup", read_only=True)
async def get_agent(ctx: Context, agent_id: AgentId) -> CompleteAgent:
    """See what an agent (bot) uses now: its prompt, welcome message, LLM, voice and language, transcriber and tools."""
    return await kupe(ctx).get_agent(str(agent_id))


def _section(agent: CompleteAgent, name: str) -> dict[str, Any]:
    cfg = agent.configurations
    value = getattr(cfg, name, None) if cfg is not None else None
    return value if isinstance(value, dict) else {}


def _complete_transcriber(body: dict[str, Any], current: CompleteAgent | None) -> None:
    """Send Kupe's ``transcriber_config`` whole (it requires model and language), filling a missing half."""
    stt = body.get("transcriber_config")
    if not stt:
        return
    model, language = transcriber_pair(
        stt.get("transcriber_model_name"),
        stt.get("language"),
        _section(current, "transcriber_config") if current is not None else None,
    )
    body["transcriber_config"] = {"transcriber_model_name": model, "language": language}


def _catalog_check(arguments: dict[str, Any], current: CompleteAgent | None = None) -> CatalogCheck:
    tts = _section(current, "tts_config") if current is not None else {}
    return CatalogCheck(
        model_name=arguments.get("model_name"),
        tts_model_name=arguments.get("tts_model_name"),
        voice_name=arguments.get("voice_name"),
        transcriber_model_name=arguments.get("transcriber_model_name"),
        current_tts=tts.get("tts_model_name") or tts.get("tts_provider_id"),
    )


@toolset.tool(title="Create a new agent", read_only=False, destructive=False, idempotent=False)
async def create_agent(
    ctx: Context,
    name: Name,
    description: Description = None,
    system_prompt: SystemPrompt = None,
    welcome_message: Welcome = None,
    model_name: ModelName = None,
    temperature: Temperature = None,
    max_tokens: MaxTokens = None,
    tts_model_name: TtsModel = None,
    voice_name: VoiceName = None,
    tts_language: TtsLanguage = None,
    transcriber_model_name: SttModel = None,
    transcriber_language: SttLanguage = None,
) -> CompleteAgent:
    """Create (build, set up) a new voice agent, bot or assistant: a name, optionally a prompt and voice.

    Codes: list_providers, list_voices. Each call adds an agent.
    """
    arguments = {k: v for k, v in locals().items() if k not in ("ctx", "name", "description")}
    await check_catalog(ctx, _catalog_check(arguments))  # an unknown code is refused before anything exists
    body = agent_body(arguments)
    client = kupe(ctx)
    created = await client.create_agent_simple(name, description)
    if not body:
        return created
    if not created.has_id:
        raise ToolError(
            "Kupe created the agent but its answer named no agent id, so the settings were not applied: "
            f"find it with list_agents (name {name!r}) and call update_agent with the same settings."
        )
    agent_id = created.agent_id
    try:
        _complete_transcriber(body, created)
        # A minute-old agent carries no live calls, so forcing the config change is safe.
        updated = await client.update_agent(agent_id, body, force_update=True)
    except UnexpectedResponse as exc:
        if not 200 <= exc.status < 300:
            raise await _undo_create(client, agent_id, exc) from exc
        # Kupe accepted the settings (2xx) but its answer could not be read: the agent is configured, keep it.
        return await _read_back(client, agent_id, created)
    except (KupeError, ToolError) as exc:
        raise await _undo_create(client, agent_id, exc) from exc
    return updated


async def _read_back(client: KupeClient, agent_id: str, fallback: CompleteAgent) -> CompleteAgent:
    """The agent as Kupe stores it now, or ``fallback`` when it cannot be read either."""
    try:
        return await client.get_agent(agent_id)
    except KupeError:
        return fallback


async def _undo_create(client: KupeClient, agent_id: str, exc: Exception) -> ToolError:
    """The settings step failed: delete the half-made agent, or say exactly which agent is left and how to finish."""
    try:
        await client.delete_agent(agent_id, force_delete=True)
    except KupeError as cleanup:
        return ToolError(
            f"Agent {agent_id} was created with platform defaults, but applying the settings failed ({brief(exc)}), "
            f"and deleting it failed too ({brief(cleanup)}): call update_agent with agent_id {agent_id} and the same "
            f"settings to finish it, or delete_agent with that agent_id and force=true to remove it."
        )
    return ToolError(
        f"create_agent could not apply the settings ({exc}), so the new agent {agent_id} was deleted again and "
        "nothing was left behind: fix the setting and call create_agent again."
    )


@toolset.tool(title="Update agent: prompt, voice, language, LLM", read_only=False, destructive=False, idempotent=True)
async def update_agent(
    ctx: Context,
    agent_id: AgentId,
    name: Annotated[str | None, Field(min_length=1, max_length=200)] = None,
    description: Description = None,
    system_prompt: SystemPrompt = None,
    welcome_message: Welcome = None,
    model_name: ModelName = None,
    temperature: Temperature = None,
    max_tokens: MaxTokens = None,
    tts_model_name: TtsModel = None,
    voice_name: VoiceName = None,
    tts_language: TtsLanguage = None,
    transcriber_model_name: SttModel = None,
    transcriber_language: SttLanguage = None,
    force_update: Annotated[bool, Field(description="Required to reconfigure an active agent.")] = False,
) -> CompleteAgent:
    """Change an agent (bot): rename it, rewrite its prompt or first message, make it speak another language or
    voice, use another LLM.

    Only the given fields change.
    """
    arguments = dict(locals())
    body = agent_body(arguments)
    if not body:
        raise ToolError("update_agent got no field to change: pass at least one setting besides agent_id.")
    client = kupe(ctx)
    # The stored agent fills a transcriber half and names the TTS model a new voice must belong to.
    needs_current = (transcriber_model_name is None) != (transcriber_language is None) or (
        voice_name is not None and tts_model_name is None
    )
    current = await client.get_agent(str(agent_id)) if needs_current else None
    await check_catalog(ctx, _catalog_check(arguments, current))
    _complete_transcriber(body, current)
    updated = await client.update_agent(str(agent_id), body, force_update=force_update)
    forget_agent(ctx, agent_id)  # call previews and the prompt-variable check read the new prompt
    return updated


@toolset.tool(title="Delete agent", read_only=False, destructive=True, idempotent=True)
async def delete_agent(
    ctx: Context,
    agent_id: AgentId,
    force: Annotated[bool, Field(description="Also delete an active agent.")] = False,
) -> Written:
    """Delete an agent (bot) for good; its phone lines and campaigns stop working. Cannot be undone."""
    ack = await kupe(ctx).delete_agent(str(agent_id), force_delete=force)
    return Written(done="deleted", id=str(agent_id), message=ack.message)


ProviderKind = Literal["model", "stt", "tts", "vad", "noise", "all"]


@toolset.tool(title="List providers", read_only=True)
async def list_providers(
    ctx: Context,
    kind: Annotated[ProviderKind, Field(description="model=LLMs, stt, tts, vad, noise, or all.")],
    page: PageNo = 1,
    page_size: PageSize = 50,
) -> Page[ProviderItem]:
    """Which LLMs (language models), speech-to-text (STT), text-to-speech (TTS), VAD engines and background noises
    exist, with their codes.
    """
    client = kupe(ctx)
    if kind == "all":
        catalog = await client.list_all_providers()
        rows = [
            {"kind": group.removesuffix("_providers"), **row.to_json()}
            for group in ("model_providers", "stt_providers", "tts_providers", "vad_providers")
            for row in getattr(catalog, group) or []
        ]
    elif kind != "noise":
        fetch = {
            "model": client.list_model_providers,
            "stt": client.list_stt_providers,
            "tts": client.list_tts_providers,
            "vad": client.list_vad_providers,
        }[kind]
        rows = [{"kind": kind, **row.to_json()} for row in await fetch()]
    if kind == "noise":
        rows = [{"kind": "noise", **row.to_json()} for row in await client.list_noise_assets()]
    return page_of(ProviderItem, rows, page=page, page_size=page_size)


@toolset.tool(title="List voices", read_only=True)
async def list_voices(
    ctx: Context,
    provider_id: Annotated[UUID | None, Field(description="TTS provider id (list_providers kind=tts).")] = None,
    page: PageNo = 1,
    page_size: PageSize = 50,
) -> Page[VoiceItem]:
    """Which voices exist to pick from: name, language, gender (male/female), provider."""
    client = kupe(ctx)
    voices = (
        await client.list_tts_voices_by_provider(str(provider_id)) if provider_id else await client.list_tts_voices()
    )
    return page_of(VoiceItem, voices, page=page, page_size=page_size)
