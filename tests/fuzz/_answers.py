"""Kupe's answers as Kupe may send them: spec-valid variants of an answer, for every operation a tool uses.

The sandbox sends one shape per route. Kupe's spec allows more: open objects carry unknown fields, numbers
may arrive as ``42.0``, maps may hold nulls, the success envelope may carry keys beside ``data``, list answers
may be bare or enveloped with their total, and fields the schema declares may be present that the sandbox
never sends. ``vary(kind, method, path, body)`` turns the sandbox's (plain) answer into one of those variants;
the result is kept only when it still validates against the operation's 2xx response schema in
``kupe-voice-agent.openapi.yaml`` (routes only the docs describe have no schema: their answers are open
JSON there). Every variant is a pure function of the plain answer: the same answers every run.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import yaml

__all__ = ["KINDS", "LOSSLESS", "Operation", "operation", "spec_valid", "vary"]

SPEC = Path(__file__).resolve().parents[1] / "spec" / "kupe-voice-agent.openapi.yaml"
EXTRA = "zz_unknown"
STAMP = "2026-12-04T10:00:00Z"


@functools.cache
def _spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC.read_text())
    return loaded


class Operation:
    """One spec operation: its path template and its 2xx JSON response schema (None: open, or not in the spec)."""

    def __init__(self, method: str, template: str | None, schema: dict[str, Any] | None, example: Any) -> None:
        self.method, self.template, self.schema, self.example = method, template, schema, example

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"


@functools.cache
def _routes() -> list[tuple[re.Pattern[str], str, str]]:
    """Every route kupe-app-mcp or the spec knows, as (pattern, method, template): a docs-only route such as
    ``/api/v1/agents/summary`` must not be taken for the spec's ``/api/v1/agents/{agent_id}``."""
    from kupe_mcp.client import ENDPOINTS

    known = {(e.method, e.path) for e in ENDPOINTS}
    known |= {
        (m.upper(), t)
        for t, ops in _spec()["paths"].items()
        for m in ops
        if m in ("get", "post", "put", "patch", "delete")
    }
    routes = []
    for method, template in known:
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        routes.append((re.compile(pattern), method, template))
    # A literal segment wins over a parameter (/batch-call/me before /batch-call/{batch_id}).
    return sorted(routes, key=lambda r: (r[2].count("{"), r[2]))


@functools.cache
def operation(method: str, path: str) -> Operation:
    """The operation a request is, with its spec JSON response schema (converted from OpenAPI 3.0) if any."""
    method = method.upper()
    template = next((t for pattern, m, t in _routes() if m == method and pattern.match(path)), None)
    op = _spec()["paths"].get(template or "", {}).get(method.lower())
    if op is None:
        return Operation(method, template, None, None)
    for status, response in op.get("responses", {}).items():
        media = (response.get("content") or {}).get("application/json")
        if str(status).startswith("2") and media is not None:
            example = media.get("example")
            if example is None and media.get("examples"):
                example = next(iter(media["examples"].values())).get("value")
            return Operation(method, template, _json_schema(media.get("schema", {})), example)
    return Operation(method, template, None, None)


def _json_schema(schema: Any) -> Any:
    """OpenAPI 3.0 to JSON Schema: local refs inlined, ``nullable`` as a null type, examples dropped."""
    if isinstance(schema, list):
        return [_json_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _json_schema(_spec()["components"]["schemas"][name])
    out = {k: _json_schema(v) for k, v in schema.items() if k not in ("nullable", "example", "examples")}
    if schema.get("nullable"):
        out = {"anyOf": [out, {"type": "null"}]}
    return out


def spec_valid(op: Operation, body: Any) -> bool:
    """Whether ``body`` is an answer the spec allows for ``op`` (anything, for a route the spec leaves open)."""
    if op.schema is None:
        return True
    return jsonschema.Draft202012Validator(op.schema).is_valid(body)


# -- variants --------------------------------------------------------------------------------------


def _walk_objects(body: Any, change: Callable[[dict[str, Any]], None]) -> Any:
    """A copy of ``body`` with ``change`` applied to every object in it, innermost first."""
    if isinstance(body, list):
        return [_walk_objects(item, change) for item in body]
    if isinstance(body, dict):
        out = {k: _walk_objects(v, change) for k, v in body.items()}
        change(out)
        return out
    return body


def unknown_fields(body: Any, op: Operation) -> Any:
    """Every object carries a field the spec does not name (open objects allow it)."""
    return _walk_objects(body, lambda obj: obj.setdefault(EXTRA, "kept"))


def nulls_in_maps(body: Any, op: Operation) -> Any:
    """Every object (so every map: by_service, feature_flags, variable_values) also holds a null."""
    return _walk_objects(body, lambda obj: obj.setdefault("zz_null", None))


def whole_floats(body: Any, op: Operation) -> Any:
    """Every whole number as a float (``42.0``): JSON Schema's integer admits it."""
    if isinstance(body, bool):
        return body
    if isinstance(body, int):
        return float(body)
    if isinstance(body, list):
        return [whole_floats(item, op) for item in body]
    if isinstance(body, dict):
        return {k: whole_floats(v, op) for k, v in body.items()}
    return body


def envelope_extras(body: Any, op: Operation) -> Any:
    """A success envelope with keys beside ``data`` (count, timestamp), a page inside ``data``, or a list
    enveloped with its total: each the way the docs show Kupe's answers."""
    if isinstance(body, list):
        return {"items": body, "total": len(body), "page": 1, "page_size": max(len(body), 1)}
    if isinstance(body, dict) and "data" in body:
        size = len(body["data"]) if isinstance(body["data"], list) else 1
        return {**body, "count": size, "timestamp": STAMP}
    if isinstance(body, dict) and isinstance(body.get("items"), list) and "total" in body:
        return {"success": True, "message": "OK", "data": body, "timestamp": STAMP}
    return body


def data_envelope(body: Any, op: Operation) -> Any:
    """A list answer inside ``{success, data, count}`` (the docs' list envelope)."""
    if isinstance(body, list):
        return {"success": True, "data": body, "count": len(body)}
    return body


def declared_fields(body: Any, op: Operation) -> Any:
    """Fields the spec's response schema declares but the plain answer lacks, filled with values of their type."""
    if op.schema is None:
        return body
    return _fill(copy.deepcopy(body), op.schema)


def _fill(body: Any, schema: Any) -> Any:
    if not isinstance(schema, dict):
        return body
    for branch in schema.get("anyOf", []) + schema.get("oneOf", []):
        if jsonschema.Draft202012Validator(branch).is_valid(body):
            return _fill(body, branch)
    if isinstance(body, dict):
        for name, sub in (schema.get("properties") or {}).items():
            body[name] = _fill(body[name], sub) if name in body else _sample(sub)
    elif isinstance(body, list) and isinstance(schema.get("items"), dict):
        return [_fill(item, schema["items"]) for item in body]
    return body


def _sample(schema: Any) -> Any:
    """One value ``schema`` accepts, chosen the same way every time."""
    if not isinstance(schema, dict):
        return None
    if "enum" in schema:
        return schema["enum"][0]
    for branch in schema.get("anyOf", []) + schema.get("oneOf", []):
        return _sample(branch)
    kind = schema.get("type")
    formats = {"uuid": "3f1e2d4c-5b6a-4978-8e9f-0a1b2c3d4e5f", "date-time": STAMP, "date": "2026-12-04",
               "uri": "https://example.com/x", "email": "someone@example.com"}  # fmt: skip
    if kind == "string":
        return formats.get(schema.get("format", ""), "sample")
    if kind == "integer":
        return max(7, schema.get("minimum", 7))
    if kind == "number":
        return 7.5
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return {name: _sample(sub) for name, sub in (schema.get("properties") or {}).items()}
    return None


def docs_example(body: Any, op: Operation) -> Any:
    """The spec's own example answer, where it gives one, instead of the sandbox's."""
    return op.example if op.example is not None else body


KINDS: dict[str, Callable[[Any, Operation], Any]] = {
    "unknown-fields": unknown_fields,
    "nulls-in-maps": nulls_in_maps,
    "whole-floats": whole_floats,
    "envelope-extras": envelope_extras,
    "data-envelope": data_envelope,
    "declared-fields": declared_fields,
    "docs-example": docs_example,
}
# Variants that keep every value of the plain answer: a tool must then keep every field its plain result had.
LOSSLESS = frozenset(KINDS) - {"docs-example"}


def vary(kind: str, method: str, path: str, body: Any) -> tuple[Any, bool]:
    """``body`` as the variant ``kind`` of it, and whether it changed (a variant the spec forbids is not sent)."""
    op = operation(method, path)
    varied = KINDS[kind](body, op)
    if json.dumps(varied, sort_keys=True) == json.dumps(body, sort_keys=True) or not spec_valid(op, varied):
        return body, False
    return varied, True
