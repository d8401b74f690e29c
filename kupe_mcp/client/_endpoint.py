"""Each Kupe operation declared once: ``@endpoint(method, path, response, envelope=...)`` on its client method.

The decorated method only shapes the request (path ids, query, body) and returns a
``Request``; the decorator sends it, unwraps the answer by the endpoint's one envelope
rule and validates it into the declared response type. The catalogue
(``_catalogue.ENDPOINTS``), the operation tests and the sandbox coverage test are all
read from these declarations, so a route's method and path are written in one place.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Concatenate, Literal, ParamSpec, TypeVar, cast, get_origin

from pydantic import TypeAdapter, ValidationError

from kupe_mcp.errors import CallOutcomeUnknown, KupeAPIError, KupeConnectionError, KupeTimeout, UnexpectedResponse

if TYPE_CHECKING:
    from kupe_mcp.client._http import KupeHTTP

__all__ = [
    "AS_IS",
    "DATA",
    "ONE",
    "Endpoint",
    "Envelope",
    "Request",
    "endpoint",
    "endpoints_of",
    "list_in",
    "object_in",
]

Source = Literal["docs", "spec", "both"]
P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C", bound="KupeHTTP")

_ENDPOINT_ATTR = "__kupe_endpoint__"
logger = logging.getLogger("kupe_mcp.client")


@dataclass(frozen=True)
class Envelope:
    """How an endpoint's answer is unwrapped before validation: one named rule per endpoint."""

    name: str
    unwrap: Callable[[Any], Any]
    many: bool = False  # the payload is a list (an empty 2xx answer is then [])


def _as_is(body: Any) -> Any:
    return body


# Keys of Kupe's success envelope itself; any other top-level key beside ``data`` is kept with the payload.
_ENVELOPE_KEYS = frozenset({"success", "message", "data", "detail"})


def _data(body: Any) -> Any:
    """``{"success"|"message", "data": X, ...}`` -> X; anything else as it came.

    Kupe's success envelopes are open objects (``KupeSuccessResponse``, the 201 of batch create), so a
    top-level key beside ``data`` (``count``, ``timestamp``) must not hide the payload: it is kept with it
    (an object payload's own keys win; a list payload comes back as ``{"items": [...], **extras}``).
    """
    if not (isinstance(body, dict) and "data" in body):
        return body
    inner = body["data"]
    extras = {k: v for k, v in body.items() if k not in _ENVELOPE_KEYS}
    if inner is None:
        return extras
    if isinstance(inner, dict):
        return {**extras, **inner}
    if isinstance(inner, list) and extras:
        return {**extras, "items": inner}
    return inner


def _one(body: Any) -> Any:
    """One object: bare, inside ``data``, or the first item of a list (``[session]``, ``{"data": [session]}``)."""
    for _ in range(2):  # {"data": {...}} and {"data": {"data": [...]}}
        if isinstance(body, dict) and isinstance(body.get("data"), dict | list):
            body = body["data"]
    if isinstance(body, list):
        return next((item for item in body if isinstance(item, dict)), {})
    return body


AS_IS = Envelope("as_is", _as_is)
DATA = Envelope("data", _data)
ONE = Envelope("one", _one)


def object_in(*keys: str) -> Envelope:
    """One object under the first of ``keys`` present (``{"message", "api_key": {...}}``), else the body itself."""

    def unwrap(body: Any) -> Any:
        if isinstance(body, dict):
            for key in keys:
                if isinstance(body.get(key), dict):
                    return body[key]
        return body

    return Envelope(f"object_in({', '.join(keys)})", unwrap)


def list_in(*keys: str, single: bool = False) -> Envelope:
    """A list: bare, or under one of ``keys`` (also inside ``data``); ``single`` reads a lone object as ``[object]``."""

    def unwrap(body: Any) -> Any:
        if isinstance(body, list):
            return body
        if not isinstance(body, dict):
            return body
        for container in (body, body.get("data")):
            if isinstance(container, list):
                return container
            if isinstance(container, dict):
                for key in keys:
                    if isinstance(container.get(key), list):
                        return container[key]
        if single:
            one = body.get("data") if isinstance(body.get("data"), dict) else body
            return [one]
        return body

    return Envelope(f"list_in({', '.join(keys)})", unwrap, many=True)


@dataclass(frozen=True)
class Request:
    """What a client method adds to its endpoint: path ids, query, body, extra headers.

    The fields are named as the transport's ``request`` keywords, so ``as_kwargs`` hands them on whole.
    """

    path_params: Mapping[str, object] | None = None
    params: Mapping[str, Any] | None = None
    json_body: Any = None
    files: Mapping[str, tuple[str, bytes, str]] | None = None
    data: Mapping[str, str] | None = None
    headers: Mapping[str, str] | None = None

    def as_kwargs(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Endpoint:
    """One Kupe operation as declared on its client method."""

    method: str
    path: str
    client_method: str
    response: Any
    envelope: Envelope = AS_IS
    source: Source = "both"
    auth: bool = True
    expect: Literal["json", "bytes"] = "json"
    check: Callable[[Any], None] | None = None
    lost: str | None = None  # the sentence when a write's answer was lost (it may have taken effect)
    rings: tuple[str, str] | None = None  # a request that rings people: (what may have happened, what to check)

    def decode(self, body: Any) -> Any:
        """The answer unwrapped by the envelope rule and validated as ``response``."""
        if self.expect == "bytes":  # a file, or Kupe's JSON note that it was queued or emailed
            answer = _json_or_bytes(body)
            body = {"content": answer} if isinstance(answer, bytes) else {"ack": answer}
        if body is None:  # an empty 2xx answer (204, or 200 with no body)
            body = [] if self.envelope.many else {}
        if self.check is not None:
            self.check(body)
        return _validated(self.response, self.envelope.unwrap(body), self.method, self.path)


_ADAPTERS: dict[object, TypeAdapter[Any]] = {}
_SALVAGE_ROUNDS = 25  # odd values dropped from one answer before it counts as unreadable


def _validated(shape: Any, body: Any, method: str, path: str) -> Any:
    """``body`` as ``shape``, keeping what can be read: a value that does not fit is dropped (and logged).

    Kupe documents most answers as open JSON, so one odd value (a null or an object where a number was
    expected) must not cost the whole answer, nor turn a write that succeeded into a reported failure.
    Only when dropping values cannot make the answer fit (the body is not an object, or a field the
    answer means nothing without is missing) is it UnexpectedResponse, naming the field and what it got.
    """
    adapter = _ADAPTERS.get(shape)
    if adapter is None:
        adapter = _ADAPTERS[shape] = TypeAdapter(shape)
    first: Any = None
    dropped: list[str] = []
    for _ in range(_SALVAGE_ROUNDS):
        try:
            value = adapter.validate_python(body)
        except ValidationError as exc:
            error: Any = exc.errors()[0]
            first = first or error
            salvaged = _without(body, tuple(error["loc"]))
            if salvaged is None:
                break
            body = salvaged
            dropped.append(f"{_where(error['loc'])} ({_got(error)})")
            continue
        if dropped:
            logger.warning(
                "Kupe answered %s %s with values that do not fit what its API documents, left out: %s",
                method,
                path,
                "; ".join(dropped),
            )
        return value
    error = first if first is not None else {"loc": (), "msg": "unreadable", "input": body, "type": ""}
    broke = f"{_where(error['loc'])} {_got(error)} ({error['msg']})"
    if method == "GET":
        advice = "the API may have changed; report this to the kupe-app-mcp maintainers."
    else:  # a 2xx to a write: the change was made, only its answer is unreadable
        advice = "Kupe accepted the request, so the change was made: read the object back instead of repeating it."
    raise UnexpectedResponse(
        f"Kupe answered {method} {path} with a body kupe-app-mcp cannot read ({broke}): {advice}",
        method=method,
        path=path,
        status=200,
    )


def _where(loc: Any) -> str:
    return ".".join(str(part) for part in loc) or "the body"


def _got(error: Any) -> str:
    """What a broken field held, by JSON type only: a value could be a secret, so it is never quoted."""
    if error.get("type") == "missing":
        return "is missing"
    value = error.get("input")
    kinds = {type(None): "null", bool: "a boolean", int: "a number", float: "a number", str: "a string",
             list: "a list", dict: "an object"}  # fmt: skip
    return f"got {kinds.get(type(value), type(value).__name__)}"


def _without(body: Any, loc: tuple[Any, ...]) -> Any:
    """A copy of ``body`` without the value at ``loc``, or None when ``loc`` names nothing that can be dropped.

    ``loc`` is pydantic's error location; it may end inside a value (a union member's name, a
    nested field) that the raw body does not have, so the deepest part the body has is dropped.
    """
    path: list[Any] = []
    node = body
    for part in loc:
        in_object = isinstance(node, dict) and isinstance(part, str) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not (in_object or in_list):
            break
        path.append(part)
        node = node[part]
    if not path:
        return None
    return _drop(body, path)


def _drop(node: Any, path: list[Any]) -> Any:
    head, rest = path[0], path[1:]
    if isinstance(node, dict):
        copy: Any = dict(node)
    else:
        copy = list(node)
    if rest:
        copy[head] = _drop(node[head], rest)
    else:
        del copy[head]
    return copy


def _json_or_bytes(raw: bytes) -> bytes | dict[str, Any]:
    """Exports answer a file (ZIP/CSV) or a JSON acknowledgement (e.g. "emailed"): return whichever it is."""
    try:
        parsed = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return raw
    return parsed if isinstance(parsed, dict) else raw


def endpoint(
    method: str,
    path: str,
    response: type[R],
    *,
    envelope: Envelope = AS_IS,
    source: Source = "both",
    auth: bool = True,
    expect: Literal["json", "bytes"] = "json",
    check: Callable[[Any], None] | None = None,
    lost: str | None = None,
    rings: tuple[str, str] | None = None,
) -> Callable[[Callable[Concatenate[C, P], Request]], Callable[Concatenate[C, P], Awaitable[R]]]:
    """Declare a client method's Kupe operation; the method body returns the ``Request`` to send."""
    if envelope.many and get_origin(response) is not list:
        raise TypeError(f"{method} {path}: a list envelope needs a list response type")

    def decorate(shape: Callable[Concatenate[C, P], Request]) -> Callable[Concatenate[C, P], Awaitable[R]]:
        spec = Endpoint(
            method.upper(), path, shape.__name__, response, envelope, source, auth, expect, check, lost, rings
        )

        @functools.wraps(shape)
        async def send(self: C, /, *args: P.args, **kwargs: P.kwargs) -> R:
            req = shape(self, *args, **kwargs)
            if spec.rings is not None:
                shown = spec.path.format_map({k: str(v) for k, v in (req.path_params or {}).items()})
                with outcome_unknown_if_lost(spec.method, shown, *spec.rings):
                    body = await _request(self, spec, req)
                    if not body:  # an empty 2xx is no answer: the request may still have rung someone
                        raise UnexpectedResponse(
                            f"Kupe answered {spec.method} {spec.path} with an empty body.",
                            method=spec.method,
                            path=spec.path,
                            status=200,
                        )
                    return cast(R, spec.decode(body))
            try:
                body = await _request(self, spec, req)
            except KupeConnectionError as exc:
                if spec.lost is None or not exc.may_have_reached:
                    raise
                why = "timed out" if isinstance(exc, KupeTimeout) else "the connection dropped"
                raise type(exc)(
                    f"Kupe's answer to {spec.method} {spec.path} was lost ({why}), {spec.lost}",
                    method=exc.method,
                    path=exc.path,
                    may_have_reached=True,
                ) from None
            return cast(R, spec.decode(body))

        setattr(send, _ENDPOINT_ATTR, spec)
        return send

    return decorate


async def _request(client: Any, spec: Endpoint, req: Request) -> Any:
    """The one place an endpoint's request is sent, whatever its loss rule."""
    return await client.request(spec.method, spec.path, **req.as_kwargs(), expect=spec.expect, auth=spec.auth)


@contextmanager
def outcome_unknown_if_lost(method: str, path: str, maybe: str, check: str) -> Iterator[None]:
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


def endpoints_of(cls: type) -> tuple[Endpoint, ...]:
    """Every endpoint declared on ``cls``, in declaration order."""
    found = (getattr(member, _ENDPOINT_ATTR, None) for member in vars(cls).values())
    return tuple(spec for spec in found if isinstance(spec, Endpoint))


def endpoint_of(method: Callable[..., Any]) -> Endpoint:
    """The endpoint a client method was declared with."""
    spec = getattr(method, _ENDPOINT_ATTR, None)
    if not isinstance(spec, Endpoint):
        raise LookupError(f"{getattr(method, '__name__', method)!r} is not a declared Kupe endpoint")
    return spec
