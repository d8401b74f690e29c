"""Checking agent settings against Kupe's catalog before anything is written.

Kupe resolves catalog codes (``model_name``, ``tts_model_name``, ``transcriber_model_name``:
a code, ``provider:code``, a provider name or a row UUID) when it saves an agent. An unknown
one fails the save after ``create_agent`` has already made the agent, so the tools check the
codes and voice names first and refuse an unknown one with the closest valid names.

The catalog rows are remembered for ``CATALOG_TTL_S`` per server and tenant; a code that is
not in the remembered rows is looked up once more before it is refused (the catalog may have
grown since).
"""

from __future__ import annotations

import difflib
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from kupe_mcp.client import KupeModel
from kupe_mcp.errors import KupeError
from kupe_mcp.toolsets._context import kupe, server_of
from kupe_mcp.toolsets._shape import items_of

__all__ = ["CATALOG_TTL_S", "CatalogCheck", "check_catalog", "closest", "plain_rows", "transcriber_pair"]

CATALOG_TTL_S = 60.0
Kind = Literal["model", "tts", "stt", "voice"]
_LABEL = {"model": "LLM model", "tts": "TTS model", "stt": "speech-to-text model", "voice": "voice"}
_WHERE = {
    "model": "list_providers kind=model",
    "tts": "list_providers kind=tts",
    "stt": "list_providers kind=stt",
    "voice": "list_voices",
}

_Rows = list[dict[str, Any]]
_CACHES: weakref.WeakKeyDictionary[object, dict[tuple[str, str], tuple[float, _Rows]]] = weakref.WeakKeyDictionary()


def plain_rows(payload: Any) -> _Rows:
    """Catalog rows as plain dicts, whether Kupe's answer came typed (models) or as JSON (a list or an envelope)."""
    rows = payload if isinstance(payload, list) else items_of(payload)
    return [r.to_json() if isinstance(r, KupeModel) else r for r in rows if isinstance(r, KupeModel | dict)]


def closest(wanted: str, names: list[str], limit: int = 3) -> list[str]:
    """Up to ``limit`` valid names nearest to ``wanted`` (case-insensitive), best first."""
    by_fold: dict[str, str] = {}
    for name in names:
        by_fold.setdefault(name.casefold(), name)
    hits = difflib.get_close_matches(wanted.casefold(), list(by_fold), n=limit, cutoff=0.4)
    return [by_fold[h] for h in hits]


def _text(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    return value if isinstance(value, str) else ""


def _codes(row: dict[str, Any]) -> set[str]:
    """Every spelling Kupe accepts for a provider row: id, code, provider:code, provider name."""
    code, provider = _text(row, "model_name"), _text(row, "provider_name")
    names = {str(row.get("id") or ""), code, provider, f"{provider}:{code}" if provider and code else ""}
    return {n.casefold() for n in names if n}


def _voice_names(row: dict[str, Any]) -> set[str]:
    return {n.casefold() for n in (_text(row, "name"), _text(row, "voice_name"), _text(row, "voice_id")) if n}


async def _rows(ctx: Context, kind: Kind, *, fresh: bool = False) -> _Rows:
    client = kupe(ctx)
    fetch: dict[Kind, Callable[[], Awaitable[Any]]] = {
        "model": client.list_model_providers,
        "tts": client.list_tts_providers,
        "stt": client.list_stt_providers,
        "voice": client.list_tts_voices,
    }
    cache = _CACHES.setdefault(server_of(ctx), {})
    slot = (client.credentials.fingerprint(), kind)
    hit = cache.get(slot)
    now = time.monotonic()
    if hit is not None and not fresh and now - hit[0] < CATALOG_TTL_S:
        return hit[1]
    rows = plain_rows(await fetch[kind]())
    cache[slot] = (now, rows)
    return rows


def _refusal(kind: Kind, field: str, wanted: str, names: list[str], scope: str = "") -> ToolError:
    near = closest(wanted, names)
    hint = f"closest valid: {', '.join(near)}" if near else f"valid ones include {', '.join(sorted(names)[:5])}"
    return ToolError(
        f"Unknown {_LABEL[kind]} {wanted!r} in {field}{scope} ({hint}): "
        f"use a name from {_WHERE[kind]}; nothing was changed."
    )


async def _find(ctx: Context, kind: Kind, field: str, wanted: str) -> dict[str, Any]:
    """The catalog row ``wanted`` names, refetching once before refusing it."""
    for fresh in (False, True):
        rows = await _rows(ctx, kind, fresh=fresh)
        match = next((r for r in rows if wanted.strip().casefold() in _codes(r)), None)
        if match is not None:
            return match
    if not rows:  # a deployment that lists no catalog: nothing to check against, Kupe decides
        return {}
    names = sorted({_text(r, "model_name") for r in rows if _text(r, "model_name")})
    raise _refusal(kind, field, wanted, names)


@dataclass(frozen=True)
class CatalogCheck:
    """The settings a tool is about to send that name catalog entries (None = not being changed)."""

    model_name: str | None = None
    tts_model_name: str | None = None
    voice_name: str | None = None
    transcriber_model_name: str | None = None
    current_tts: str | None = None
    """The agent's TTS code when ``tts_model_name`` is not being changed, so a voice is checked against it."""


async def check_catalog(ctx: Context, check: CatalogCheck) -> None:
    """Raise ToolError naming the closest valid names when a code or voice is not in Kupe's catalog.

    Catalog lookups that fail (Kupe unreachable, a key without the providers scope) are
    not a reason to refuse: the tool goes on and Kupe judges the codes itself.
    """
    try:
        await _check(ctx, check)
    except KupeError:
        return


async def _check(ctx: Context, check: CatalogCheck) -> None:
    if check.model_name is not None:
        await _find(ctx, "model", "model_name", check.model_name)
    if check.transcriber_model_name is not None:
        await _find(ctx, "stt", "transcriber_model_name", check.transcriber_model_name)
    tts_row: dict[str, Any] = {}
    if check.tts_model_name is not None:
        tts_row = await _find(ctx, "tts", "tts_model_name", check.tts_model_name)
    if check.voice_name is None:
        return
    if not tts_row:
        code = check.current_tts
        rows = await _rows(ctx, "tts")
        # The agent's current TTS model, or (a new agent) the platform default one.
        mine = [r for r in rows if code and code.casefold() in _codes(r)]
        tts_row = (mine or [r for r in rows if r.get("is_default") is True] or [{}])[0]
    await _check_voice(ctx, check.voice_name, tts_row)


async def _check_voice(ctx: Context, wanted: str, tts_row: dict[str, Any]) -> None:
    """A voice must be in the catalog and, when the catalog says whose it is, belong to the agent's TTS model."""
    for fresh in (False, True):
        voices = await _rows(ctx, "voice", fresh=fresh)
        if not voices:
            return  # no voice catalog to check against
        tts_id, tts_code = str(tts_row.get("id") or ""), _text(tts_row, "model_name")
        own = [
            v
            for v in voices
            if tts_row and (str(v.get("provider_id") or "") == tts_id or _text(v, "tts_model_name") == tts_code)
        ]
        pool = own or voices
        if any(wanted.strip().casefold() in _voice_names(v) for v in pool):
            return
    names = sorted({_text(v, "name") or _text(v, "voice_name") for v in pool} - {""})
    scope = f" for TTS model {tts_code}" if own else ""
    raise _refusal("voice", "voice_name", wanted, names, scope)


def transcriber_pair(
    model: str | None, language: str | None, current: dict[str, Any] | None
) -> tuple[str | None, str | None]:
    """Kupe's ``TranscriberConfig`` requires both the model and the language: fill the one not given from
    ``current`` (the agent's stored transcriber config). Raises ToolError when it cannot be filled.
    """
    if (model is None) == (language is None):
        return model, language
    stored = current or {}
    model = model or _text(stored, "transcriber_model_name") or None
    raw_language = stored.get("language")
    if isinstance(raw_language, list) and len(raw_language) == 1:
        raw_language = raw_language[0]
    language = language or (raw_language if isinstance(raw_language, str) and raw_language else None)
    if model is None or language is None:
        missing = "transcriber_model_name" if model is None else "transcriber_language"
        raise ToolError(
            f"Kupe needs transcriber_model_name and transcriber_language together, and the agent's current {missing} "
            f"is not known: pass both; nothing was changed."
        )
    return model, language
