"""Fitting Kupe's answers into a context window: pages of slim rows with a next-page hint, long text clipped.

Envelopes are not guessed here any more: each client endpoint declares its own rule and
returns typed models. Tools page them with ``page_of`` into ``Page[View]`` rows that carry
only what the next step needs. ``items_of`` remains for raw JSON lists (the catalogue check reads
them), and reads models as their JSON.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from kupe_mcp.client import KupeModel

__all__ = [
    "RESULT_BUDGET_BYTES",
    "Page",
    "View",
    "Written",
    "clip",
    "items_of",
    "page_of",
]

V = TypeVar("V", bound="View")

# No default result is larger than this much text (issue 11): lists page, writes count, details live in get_* tools.
RESULT_BUDGET_BYTES = 8 * 1024

_LIST_KEYS = ("items", "data", "results", "agents", "files", "rows", "records", "sessions", "batches", "voices")


def items_of(payload: Any) -> list[Any]:
    """The list inside a Kupe list answer: a known wrapper key, else the answer's only list field."""
    if isinstance(payload, list):
        return [p.to_json() if isinstance(p, KupeModel) else p for p in payload]
    if not isinstance(payload, dict):
        return []
    for key in _LIST_KEYS:
        value = payload.get(key)
        if isinstance(value, list):
            return value
        if isinstance(value, dict) and (inner := items_of(value)):
            return inner
    lists = [v for v in payload.values() if isinstance(v, list)]
    return lists[0] if len(lists) == 1 else []


def clip(text: str | None, limit: int, how_to_get_more: str) -> str | None:
    """Cut ``text`` at ``limit`` characters and say how to read the rest."""
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters: {how_to_get_more}]"


class View(BaseModel):
    """A list row as the model sees it: only the fields the next step needs (ids, names, status).

    Built from Kupe's typed row; everything else stays with the ``get_*`` tools and ``kupe://`` resources.
    """

    model_config = ConfigDict(extra="ignore", defer_build=True)

    @classmethod
    def of(cls: type[V], row: Any) -> V:
        data = row.to_json() if hasattr(row, "to_json") else row
        return cls.model_validate(data if isinstance(data, dict) else {"value": data})


class Page(BaseModel, Generic[V]):
    """One page of a list; ``next_page`` is the page argument for more, null on the last page."""

    items: list[V]
    page: int
    page_size: int
    total: int
    next_page: int | None = None


def page_of(
    view: type[V], rows: Iterable[Any], *, page: int, page_size: int, total: int | None = None, paged: bool = False
) -> Page[V]:
    """Rows as a page of ``view``: sliced here when Kupe returned the whole list, as given when ``paged``.

    When a paged answer carries no total, a full page means there may be more.
    """
    every = list(rows)
    if not paged:
        total = len(every)
        every = every[(page - 1) * page_size : page * page_size]
    if total is None:
        more = len(every) >= page_size
        total = (page - 1) * page_size + len(every)
    else:
        more = page * page_size < total
    items = [view.of(r) for r in every]
    return Page[view](items=items, page=page, page_size=page_size, total=total, next_page=page + 1 if more else None)  # type: ignore[valid-type]


class Written(BaseModel):
    """What a write did: ``done`` says what (deleted, detached, saved ...), ``id`` names the object."""

    done: str
    id: str | None = None
    message: str | None = None
