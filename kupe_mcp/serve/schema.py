"""Schema and result compaction: every listed tool and every result is paid for in the model's context.

Tool input schemas lose pydantic's titles and fold optional arguments; output schemas lose
titles, defaults and docstrings; a result loses its null fields and its text block is written
as compact JSON. Arguments are still validated against the full models.
"""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types

__all__ = ["compact_output", "compact_schema", "compact_text"]


def compact_schema(schema: Any, *, fold_optional: bool = True) -> Any:
    """The same JSON Schema in fewer bytes: every listed tool is paid for in the model's context.

    Drops pydantic's generated ``title`` keys and folds an optional argument's
    ``anyOf: [T, {"type": "null"}]`` with ``default: null`` into ``T``: leaving the
    argument out means null. Arguments are still validated against the full models.
    """
    if isinstance(schema, list):
        return [compact_schema(v, fold_optional=fold_optional) for v in schema]
    if not isinstance(schema, dict):
        return schema
    out = {
        k: compact_schema(v, fold_optional=fold_optional)
        for k, v in schema.items()
        if not (k == "title" and isinstance(v, str))
    }
    options = out.get("anyOf")
    if (
        fold_optional
        and isinstance(options, list)
        and len(options) == 2
        and {"type": "null"} in options
        and out.get("default", 0) is None
    ):
        (kept,) = [o for o in options if o != {"type": "null"}]
        del out["anyOf"], out["default"]
        out = {**kept, **out}
    return out


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def compact_text(
    result: types.CallToolResult | types.InputRequiredResult,
) -> types.CallToolResult | types.InputRequiredResult:
    """The result without null fields, its text block as compact JSON (the SDK pretty-prints it).

    An optional field left out means null (no output schema requires a nullable field), so
    ``structuredContent`` still validates against the tool's output schema and carries the
    whole typed result; the text block is the same JSON, written compactly.
    """
    if not isinstance(result, types.CallToolResult) or result.is_error or result.structured_content is None:
        return result
    structured = _without_nulls(result.structured_content)
    text = json.dumps(structured, separators=(",", ":"), ensure_ascii=False)
    return result.model_copy(
        update={"content": [types.TextContent(type="text", text=text)], "structured_content": structured}
    )


def _nullable(schema: Any) -> Any:
    """``anyOf: [{"type": T}, {"type": "null"}]`` as ``type: [T, "null"]``, no ``default``: same values, fewer bytes."""
    if isinstance(schema, list):
        return [_nullable(v) for v in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _nullable(v) for k, v in schema.items() if k != "default"}
    options = out.get("anyOf")
    if isinstance(options, list) and len(options) == 2 and {"type": "null"} in options:
        (kept,) = [o for o in options if o != {"type": "null"}]
        if isinstance(kept, dict) and isinstance(kept.get("type"), str):
            del out["anyOf"]
            out = {**kept, **out, "type": [kept["type"], "null"]}
    return out


def compact_output(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """Output schemas lose titles, defaults and the model's docstring; null stays a valid value of optional fields."""
    if schema is None:
        return None
    out: dict[str, Any] = _nullable(compact_schema(schema, fold_optional=False))
    out.pop("description", None)
    return out
