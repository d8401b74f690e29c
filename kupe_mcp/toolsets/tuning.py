"""Toolset ``tuning`` (opt-in): an agent's advanced behaviour, typed as Kupe's spec types it.

Kupe keeps these under ``agent`` (is_active, recording_enabled, apply_noise_reduction),
``agent_specific_config`` (``AgentSpecificConfigInput``: timeouts, transfer routes, background
noise; deep-merged on update) and ``vad_config`` (``VadConfig``, which requires its
``vad_provider_id``: the agent's current one is sent along). A separate tool keeps
``update_agent``'s schema small; the background noise catalog is ``list_providers kind=noise``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from kupe_mcp.client import CompleteAgent
from kupe_mcp.errors import KupeError
from kupe_mcp.toolsets._catalog import closest, plain_rows
from kupe_mcp.toolsets._context import kupe
from kupe_mcp.toolsets._registry import Toolset
from kupe_mcp.toolsets._types import AgentId

toolset = Toolset("tuning", "Advanced agent behaviour: going live, recording, timeouts, transfers, noise, VAD.")

Seconds = Annotated[int | None, Field(ge=1, le=86400)]
Percent = Annotated[int | None, Field(ge=0, le=100)]


class TransferRoute(BaseModel):
    """One number the agent may transfer a caller to (``InboundTransferRouteItem``)."""

    route_id: Annotated[str | None, Field(pattern=r"^\w+$", max_length=64)] = None
    when: str = Field(min_length=1, max_length=500, description="When to transfer, in plain words.")
    phone_number: str = Field(min_length=3, max_length=32, description="E.164.")
    display_name: str | None = Field(None, max_length=100)
    enabled: bool = True


_AGENT_FLAGS = ("is_active", "recording_enabled", "apply_noise_reduction")
_VAD = {"vad_threshold": "threshold", "vad_min_speech_ms": "min_speech_duration_ms"}
_VAD |= {"vad_min_silence_ms": "min_silence_duration_ms"}


@toolset.tool(
    title="Tune agent: go live, recording, transfer, hang-up", read_only=False, destructive=False, idempotent=True
)
async def tune_agent(
    ctx: Context,
    agent_id: AgentId,
    is_active: Annotated[bool | None, Field(description="Live: answers its lines and can be called.")] = None,
    recording_enabled: bool | None = None,
    apply_noise_reduction: bool | None = None,
    noise_cancellation_strength: Percent = None,
    background_noise_id: Annotated[str | None, Field(description="list_providers kind=noise; '' = none.")] = None,
    background_noise_volume: Percent = None,
    session_timeout: Annotated[Seconds, Field(description="Hang up after this many seconds.")] = None,
    time_to_cut: Annotated[Seconds, Field(description="Warn this many seconds before the timeout.")] = None,
    message_of_cut: Annotated[str | None, Field(max_length=500)] = None,
    end_call_message_mode: Literal["fixed", "context_aware"] | None = None,
    end_of_speech_timeout: Annotated[float | None, Field(ge=0, le=10, description="Seconds of silence.")] = None,
    auto_terminate_call: Annotated[bool | None, Field(description="Agent may hang up.")] = None,
    llm_conversation_stop_enabled: bool | None = None,
    caller_gender_detection_enabled: bool | None = None,
    max_output_tokens: Annotated[int | None, Field(ge=1, le=4096)] = None,
    timezone: Annotated[str | None, Field(max_length=64, description="IANA, e.g. Asia/Kolkata.")] = None,
    transfer_routes: Annotated[list[TransferRoute] | None, Field(max_length=20, description="Replaces all.")] = None,
    vad_threshold: Annotated[float | None, Field(ge=0, le=1)] = None,
    vad_min_speech_ms: Annotated[int | None, Field(ge=0, le=10_000)] = None,
    vad_min_silence_ms: Annotated[int | None, Field(ge=0, le=10_000)] = None,
    force_update: Annotated[bool, Field(description="Required to change an active agent.")] = False,
) -> CompleteAgent:
    """Set how an agent behaves: switch it on (live), record calls, background noise, hang up after a time, transfer
    callers to a person, stop it cutting callers off (VAD).

    Only the given settings change.
    """
    given = {k: v for k, v in locals().items() if k not in ("ctx", "agent_id", "force_update") and v is not None}
    if not given:
        raise ToolError("tune_agent got no setting to change: pass at least one besides agent_id.")
    client = kupe(ctx)
    body: dict[str, Any] = {}
    flags = {k: given.pop(k) for k in _AGENT_FLAGS if k in given}
    if flags:
        body["agent"] = flags
    vad = {_VAD[k]: given.pop(k) for k in list(given) if k in _VAD}
    if vad:
        current = (await client.get_agent(str(agent_id))).configurations
        provider = (current.vad_config or {}).get("vad_provider_id") if current is not None else None
        if not provider:
            raise ToolError(f"Agent {agent_id} has no VAD provider to tune (Kupe requires one): nothing was changed.")
        body["vad_config"] = {"vad_provider_id": provider, **vad}
    routes = given.pop("transfer_routes", None)
    if routes is not None:
        given["inbound_transfer_routes"] = [_route(r) for r in routes]
    if given.get("timezone") is not None:
        _check_zone(given["timezone"])
    if given.get("background_noise_id"):
        await _check_noise(ctx, given["background_noise_id"])
    if given:
        body["agent_specific_config"] = given
    return await client.update_agent(str(agent_id), body, force_update=force_update)


def _route(route: TransferRoute) -> dict[str, Any]:
    out: dict[str, Any] = {
        "condition_when_to_transfer": route.when,
        "phone_number": route.phone_number,
        "enabled": route.enabled,
    }
    if route.route_id:
        out["route_id"] = route.route_id
    if route.display_name:
        out["display_name"] = route.display_name
    return out


def _check_zone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(
            f"Unknown timezone {name!r}: use an IANA name such as Asia/Kolkata or America/New_York; "
            "nothing was changed."
        ) from None


async def _check_noise(ctx: Context, wanted: str) -> None:
    """A background noise id must be one of ``GET /api/v1/noise-assets`` (with or without ``.wav``)."""
    try:
        rows = plain_rows(await kupe(ctx).list_noise_assets())
    except KupeError:
        return  # no catalog to check against: Kupe judges the id
    ids = [str(r.get("id")) for r in rows if r.get("id")]
    known = {i.casefold() for i in ids} | {i.removesuffix(".wav").casefold() for i in ids}
    if not ids or wanted.casefold() in known:
        return
    near = closest(wanted, ids)
    hint = f"closest valid: {', '.join(near)}" if near else f"valid ones include {', '.join(ids[:5])}"
    raise ToolError(
        f"Unknown background_noise_id {wanted!r} ({hint}): use an id from list_providers kind=noise; "
        "nothing was changed."
    )
