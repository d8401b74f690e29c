"""Hypothesis strategies from the JSON Schema subset kupe-app-mcp's tool schemas use.

``valid(schema)`` draws arguments the schema accepts; ``near_miss(schema)`` draws arguments one mistake away from
valid (a missing required argument, a wrong type, a value out of range, too long, not in the enum, not matching
the pattern or format, too many or too few items, a bad extra property). Covered: ``object`` (``properties``,
``required``, ``additionalProperties``, ``minProperties``), ``string`` (``minLength``, ``maxLength``, ``enum``,
``pattern``, ``format`` uuid/date/date-time), ``integer``/``number`` (``minimum``, ``maximum``,
``exclusiveMinimum``), ``boolean``, ``null``, ``array`` (``items``, ``minItems``, ``maxItems``), ``anyOf`` and local
``$ref``. Anything else raises, so a new schema feature cannot go silently unfuzzed.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import jsonschema
from hypothesis import strategies as st

__all__ = ["FORMATS", "json_types", "near_miss", "valid"]

Schema = dict[str, Any]
KNOWN = {
    "type", "properties", "required", "additionalProperties", "minProperties", "minLength", "maxLength", "enum",
    "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "items", "minItems", "maxItems", "anyOf",
    "$ref", "$defs", "description", "default", "title",
}  # fmt: skip
# Values of each JSON type that pydantic's lax mode does not coerce into another type (no "1" for 1, no true for 1).
WRONG_TYPED: list[tuple[str, Any]] = [
    ("string", "zz not valid"),
    ("number", 1.5),
    ("integer", 7),
    ("boolean", False),
    ("array", ["zz"]),
    ("object", {"zz": 1}),
]
BAD_FORMATS = {
    "uuid": ["", "not-a-uuid", "1234", "../../admin", "00000000-0000-0000-0000-00000000000g"],
    "date": ["yesterday", "2025-13-45", "31/12/2025"],
    "date-time": ["not a time", "2025-02-30T25:61:00Z"],
}
# Real values for some argument names, so valid draws reach past the first refusal.
HINTS: dict[str, list[Any]] = {"phone_number": ["+919876543210", "+15551234567", "+447700900123"]}
SHORT = 12  # longest generated free text, to keep examples cheap


FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    """RFC 3339 date-time (jsonschema checks it only with an optional package installed)."""
    if not isinstance(value, str):
        return True
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return "T" in value.upper() and parsed.tzinfo is not None


def _resolve(schema: Schema, root: Schema) -> Schema:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    prefix = "#/$defs/"
    assert ref.startswith(prefix), f"only local $defs refs are supported, not {ref}"
    return _resolve(root["$defs"][ref.removeprefix(prefix)], root)


def json_types(schema: Schema, root: Schema) -> set[str]:
    """The JSON types a schema admits (``integer`` implies ``number`` and the reverse for whole numbers)."""
    schema = _resolve(schema, root)
    if "anyOf" in schema:
        return set().union(*(json_types(s, root) for s in schema["anyOf"]))
    if "enum" in schema:
        return {"string"}
    kind = schema.get("type")
    if kind is None:
        return {t for t, _ in WRONG_TYPED} | {"null"}
    return {kind, "integer"} if kind == "number" else {kind}


def valid(schema: Schema, root: Schema | None = None, ids: list[str] | None = None) -> st.SearchStrategy[Any]:
    """Values ``schema`` accepts; ``ids`` are real ids to try for uuid strings besides random ones."""
    root = schema if root is None else root
    unknown = set(schema) - KNOWN
    assert not unknown, f"schema keywords the fuzzer does not know: {unknown}"
    schema = _resolve(schema, root)
    if "anyOf" in schema:
        return st.one_of(*(valid(s, root, ids) for s in schema["anyOf"]))
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        return _object(schema, root, ids)
    if kind == "array":
        items = valid(schema.get("items", {}), root, ids)
        low = schema.get("minItems", 0)
        return st.lists(items, min_size=low, max_size=min(schema.get("maxItems", low + 3), low + 3))
    if kind == "string":
        return _string(schema, ids)
    if kind in ("integer", "number"):
        return _number(schema)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind is None:
        return _any_json()
    raise AssertionError(f"schema type the fuzzer does not know: {kind}")


def _object(schema: Schema, root: Schema, ids: list[str] | None) -> st.SearchStrategy[dict[str, Any]]:
    props: dict[str, Schema] = schema.get("properties", {})
    required = set(schema.get("required", ()))

    def field(name: str, sub: Schema) -> st.SearchStrategy[Any]:
        hint = HINTS.get(name)
        strategy = valid(sub, root, ids)
        return st.one_of(st.sampled_from(hint), strategy) if hint else strategy

    fixed = st.fixed_dictionaries(
        {n: field(n, s) for n, s in props.items() if n in required},
        optional={n: field(n, s) for n, s in props.items() if n not in required},
    )
    extra_schema = schema.get("additionalProperties")
    if isinstance(extra_schema, dict):
        extra: st.SearchStrategy[dict[str, Any]] = st.dictionaries(
            st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8).filter(lambda k: k not in props),
            valid(extra_schema, root, ids),
            max_size=3,
        )
    elif extra_schema is True and not props:
        extra = st.dictionaries(st.text(min_size=1, max_size=8), _any_json(), max_size=3)
    else:
        extra = st.just({})
    least = schema.get("minProperties", 0)
    return st.tuples(fixed, extra).map(lambda pair: {**pair[1], **pair[0]}).filter(lambda d: len(d) >= least)


def _string(schema: Schema, ids: list[str] | None) -> st.SearchStrategy[str]:
    fmt = schema.get("format")
    if fmt == "uuid":
        random_ids = st.uuids().map(str)
        return st.one_of(st.sampled_from(ids), random_ids) if ids else random_ids
    if fmt == "date":
        return st.dates().map(lambda d: d.isoformat())
    if fmt == "date-time":
        return st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat())
    assert fmt is None, f"string format the fuzzer does not know: {fmt}"
    if "pattern" in schema:
        return st.from_regex(str(schema["pattern"]), fullmatch=True)
    low = schema.get("minLength", 0)
    high = schema.get("maxLength", low + SHORT)
    alphabet = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))
    return st.text(alphabet, min_size=low, max_size=min(high, low + SHORT))


def _number(schema: Schema) -> st.SearchStrategy[Any]:
    low, high = schema.get("minimum"), schema.get("maximum")
    above = schema.get("exclusiveMinimum")
    if schema["type"] == "integer":
        return st.integers(min_value=low if above is None else math.floor(above) + 1, max_value=high)
    return st.floats(
        min_value=low if above is None else above,
        max_value=high,
        exclude_min=above is not None,
        allow_nan=False,
        allow_infinity=False,
    )


def _any_json() -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=SHORT)
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
        max_leaves=6,
    )


def invalid(schema: Schema, root: Schema, *, nullable: bool) -> st.SearchStrategy[Any]:
    """A value ``schema`` rejects: a wrong type (null only when ``nullable`` is false), or a broken constraint."""
    schema = _resolve(schema, root)
    allowed = json_types(schema, root)
    options: list[st.SearchStrategy[Any]] = []
    wrong = [value for kind, value in WRONG_TYPED if kind not in allowed]
    if "number" in allowed or "integer" in allowed:
        wrong = [v for v in wrong if not isinstance(v, bool)]
    if schema.get("format") == "date-time":
        # pydantic reads a number as a Unix time: a known gap, pinned by a strict xfail test in test_fuzz_tools.py.
        wrong = [v for v in wrong if not isinstance(v, int | float)]
    if wrong:
        options.append(st.sampled_from(wrong))
    if not nullable and "null" not in allowed:
        options.append(st.none())
    if "anyOf" in schema:
        branches = [_resolve(s, root) for s in schema["anyOf"]]
        if all("type" in b for b in branches) and len({b["type"] for b in branches}) == len(branches):
            options += [_broken(b, root) for b in branches if _breakable(b)]
    elif _breakable(schema):
        options.append(_broken(schema, root))
    assert options, f"cannot make an invalid value for {schema}"
    return st.one_of(*options)


def _breakable(schema: Schema) -> bool:
    return bool(
        {"enum", "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "minItems", "minProperties"}
        & set(schema)
        or ("maxLength" in schema and schema["maxLength"] < 10_000)
        or ("minLength" in schema and schema["minLength"] > 0)
        or ("maxItems" in schema and schema["maxItems"] <= 60)
        or schema.get("type") == "array"
        or (
            schema.get("type") == "object"
            and (schema.get("required") or isinstance(schema.get("additionalProperties"), dict))
        )
    )  # fmt: skip


def _broken(schema: Schema, root: Schema) -> st.SearchStrategy[Any]:
    """A value of the right type that breaks one of the schema's constraints."""
    options: list[st.SearchStrategy[Any]] = []
    if "enum" in schema:
        options.append(st.text(max_size=SHORT).filter(lambda s: s not in schema["enum"]))
    if "format" in schema:
        options.append(st.sampled_from(BAD_FORMATS[schema["format"]]))
    if "pattern" in schema:
        options.append(st.sampled_from(["", "zz not valid", "usd", "US"]))
    if "maxLength" in schema and schema["maxLength"] < 10_000:
        options.append(st.integers(1, 5).map(lambda n: "x" * (schema["maxLength"] + n)))
    if schema.get("minLength", 0) > 0:
        options.append(st.just("x" * (schema["minLength"] - 1)))
    if "minimum" in schema:
        options.append(st.sampled_from([schema["minimum"] - 1, schema["minimum"] - 1000]))
    if "maximum" in schema:
        options.append(st.sampled_from([schema["maximum"] + 1, schema["maximum"] * 10 + 1]))
    if "exclusiveMinimum" in schema:
        options.append(st.sampled_from([schema["exclusiveMinimum"], schema["exclusiveMinimum"] - 5]))
    if schema.get("type") == "array":
        items = schema.get("items", {})
        if schema.get("minItems", 0) > 0:
            options.append(st.just([]))
        if schema.get("maxItems", 10_000) <= 60:
            options.append(
                st.lists(valid(items, root), min_size=schema["maxItems"] + 1, max_size=schema["maxItems"] + 2)
            )
        options.append(
            st.builds(
                lambda good, bad: [*good, bad],
                st.lists(valid(items, root), max_size=2),
                invalid(items, root, nullable=False),
            )
        )
    if schema.get("type") == "object":
        options.append(_broken_object(schema, root))
    return st.one_of(*options)  # fmt: skip


def _broken_object(schema: Schema, root: Schema) -> st.SearchStrategy[dict[str, Any]]:
    """One of: a required property missing, a property invalid, a bad-typed extra property, too few properties."""
    props: dict[str, Schema] = schema.get("properties", {})
    required: list[str] = list(schema.get("required", ()))
    base = _object(schema, root, None)
    options: list[st.SearchStrategy[dict[str, Any]]] = []
    if required:
        options.append(st.builds(lambda d, k: {n: v for n, v in d.items() if n != k}, base, st.sampled_from(required)))
    every = {kind for kind, _ in WRONG_TYPED} | {"null"}
    breakable = [n for n, s in props.items() if json_types(s, root) != every]
    if breakable:

        @st.composite
        def one_invalid(draw: st.DrawFn) -> dict[str, Any]:
            good = draw(base)
            name = draw(st.sampled_from(breakable))
            return {**good, name: draw(invalid(props[name], root, nullable=name not in required))}

        options.append(one_invalid())
    extra_schema = schema.get("additionalProperties")
    if isinstance(extra_schema, dict):
        bad_extra = invalid(extra_schema, root, nullable=False)
        options.append(st.builds(lambda d, v: {**d, "zz_extra": v}, base, bad_extra))
    if schema.get("minProperties", 0) > 0 and not required:
        options.append(st.just({}))
    assert options, f"cannot break {schema}"
    return st.one_of(*options)


def near_miss(schema: Schema) -> st.SearchStrategy[dict[str, Any]]:
    """Tool arguments one mistake away from ``schema`` (a top-level object schema)."""
    return _broken_object(schema, schema)
