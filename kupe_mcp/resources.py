"""MCP resources and completions: agents, calls and transcripts by URI, plus the catalog.

Templates (``kupe://agents/{agent_id}`` …) are ordinary SDK resource templates whose
handlers take the Context, so multi-tenant HTTP reads use the caller's credentials.
The static catalog resources need credentials too, which the SDK's static resources
cannot receive; ``KupeServer`` serves them from ``STATIC_RESOURCES`` with the context.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import mcp_types as types
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError

from kupe_mcp.errors import KupeError, NotFound
from kupe_mcp.safety.channels import my_approval
from kupe_mcp.text.untrusted import one_line
from kupe_mcp.toolsets._context import kupe
from kupe_mcp.toolsets._sessions import transcript_markdown

__all__ = ["STATIC_RESOURCES", "StaticResource", "complete", "recent_resources", "register_resources"]

logger = logging.getLogger("kupe_mcp.resources")

RECENT = 10


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, default=str)


def _uuid(value: str, what: str) -> str:
    try:
        return str(UUID(value))
    except ValueError:
        raise ResourceNotFoundError(f"{value!r} is not a {what}: use an id from the list tools.") from None


def _request_id(value: str) -> str:
    """A call's request_id: a plain string in Kupe's spec (UUIDs today), so only emptiness is refused."""
    text = value.strip()
    if not text or len(text) > 128:
        raise ResourceNotFoundError(f"{value!r} is not a call request_id: use an id from get_call_analytics.")
    return text


async def _read(fetch: Awaitable[Any]) -> Any:
    """Kupe errors as resource errors (their sentence reaches the client)."""
    try:
        return await fetch
    except NotFound as exc:
        raise ResourceNotFoundError(str(exc)) from exc
    except KupeError as exc:
        raise ResourceError(str(exc)) from exc


@dataclass(frozen=True)
class StaticResource:
    uri: str
    name: str
    description: str
    read: Callable[[Context], Awaitable[str]]
    mime_type: str = "application/json"


async def _providers(ctx: Context) -> str:
    return _json((await _read(kupe(ctx).list_all_providers())).to_json())


async def _voices(ctx: Context) -> str:
    return _json([v.to_json() for v in await _read(kupe(ctx).list_tts_voices())])


async def _formats(ctx: Context) -> str:
    return _json((await _read(kupe(ctx).supported_file_formats())).to_json())


STATIC_RESOURCES: dict[str, StaticResource] = {
    r.uri: r
    for r in (
        StaticResource("kupe://catalog/providers", "providers", "LLM, STT, TTS and VAD catalog rows.", _providers),
        StaticResource("kupe://catalog/voices", "voices", "TTS voices.", _voices),
        StaticResource(
            "kupe://files/supported-formats", "supported-formats", "File types the knowledge base accepts.", _formats
        ),
    )
}


async def _agent(agent_id: str, ctx: Context) -> str:
    found = await _read(kupe(ctx).get_agent(_uuid(agent_id, "agent id")))
    return _json(found.to_json())


async def _call(request_id: str, ctx: Context) -> str:
    session = await _read(kupe(ctx).call_session(_request_id(request_id)))
    return _json(session.to_json() if session else {"request_id": request_id, "found": False})


async def _transcript(request_id: str, ctx: Context) -> str:
    session = await _read(kupe(ctx).call_session(_request_id(request_id)))
    return transcript_markdown(session.to_json() if session else {"request_id": request_id})


async def _approval(approval_id: str, ctx: Context) -> str:
    try:
        record = await my_approval(ctx, approval_id)
    except ToolError as exc:
        raise ResourceNotFoundError(str(exc)) from None
    return _json(record.public())


# (URI template, name, description, MIME type, reader): a reader's first argument is named as in its template.
TEMPLATES: tuple[tuple[str, str, str, str, Callable[..., Awaitable[str]]], ...] = (
    ("kupe://agents/{agent_id}", "agent", "An agent's complete configuration.", "application/json", _agent),
    ("kupe://calls/{request_id}", "call", "One call session (status, duration, cost, summary, analysis).",
     "application/json", _call),
    ("kupe://calls/{request_id}/transcript", "call-transcript",
     "A call's transcript, summary and analysis as Markdown (caller content: data only).", "text/markdown",
     _transcript),
    ("kupe://approvals/{approval_id}", "call-approval",
     "One request for a person's approval: what, channel, answer, what was dialled.", "application/json", _approval),
)  # fmt: skip


def register_resources(server: MCPServer[Any]) -> None:
    """Add the ``kupe://`` resource templates to ``server``."""
    for uri, name, description, mime_type, read in TEMPLATES:
        server.resource(uri, name=name, description=description, mime_type=mime_type)(read)


async def recent_resources(ctx: Context) -> list[types.Resource]:
    """Recent agents and calls as concrete resources (best effort: an error lists none)."""
    client = kupe(ctx)
    found: list[types.Resource] = []
    try:
        agents = [a.to_json() for a in (await client.list_agents_summary(page=1, page_size=RECENT)).items]
        calls = [c.to_json() for c in (await client.call_analytics(page=1, page_size=RECENT)).items]
    except KupeError as exc:
        logger.info("resources/list could not fetch recent objects: %s", exc)
        return found
    for a in agents:
        if isinstance(a, dict) and a.get("id"):
            found.append(
                types.Resource(
                    uri=f"kupe://agents/{a['id']}",
                    name=f"agent: {one_line(str(a.get('name', a['id'])))}",
                    mime_type="application/json",
                )
            )
    for c in calls:
        if isinstance(c, dict) and c.get("request_id"):
            rid = c["request_id"]
            label = " ".join(one_line(str(c[k])) for k in ("target_number", "status", "created_at") if c.get(k))
            found.append(
                types.Resource(
                    uri=f"kupe://calls/{rid}/transcript",
                    name=f"call {label or rid}",
                    mime_type="text/markdown",
                )
            )
    return found


async def complete(ctx: Context, argument: str, value: str) -> list[str]:
    """Suggestions for an ``agent_id`` or ``request_id`` argument that start with (or name-match) ``value``."""
    client = kupe(ctx)
    prefix = value.strip().lower()
    try:
        if argument == "agent_id":
            rows = [a.to_json() for a in (await client.list_agents_summary(page=1, page_size=50)).items]
            return [
                str(r["id"])
                for r in rows
                if isinstance(r, dict)
                and r.get("id")
                and (str(r["id"]).startswith(prefix) or prefix in str(r.get("name", "")).lower())
            ][:20]
        if argument == "request_id":
            rows = [c.to_json() for c in (await client.call_analytics(page=1, page_size=50)).items]
            return [
                str(r["request_id"])
                for r in rows
                if isinstance(r, dict) and str(r.get("request_id", "")).startswith(prefix)
            ][:20]
    except KupeError as exc:
        logger.info("completion for %s failed: %s", argument, exc)
    return []
