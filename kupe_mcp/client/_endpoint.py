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
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Envelope:
    """How an endpoint's answer is unwrapped before validation: one named rule per endpoint."""

    name: str
    unwrap: Callable[[Any], Any]
    many: bool = False  # the payload is a list (an empty 2xx answer is then [])


def _as_is(body: Any) -> Any:
    return body


def _data(body: Any) -> Any:
    """``{"success"|"message", "data": X}`` -> X; anything else as it came."""
    if isinstance(body, dict) and "data" in body and set(body) <= {"success", "message", "data", "detail"}:
        return body["data"] if body["data"] is not None else {}
    return body


def _one(body: Any) -> Any:
    """One object: bare, inside ``data``, or the first item of a list (``[session]``, ``{"data": [session]}``)."""
    body = _data(body)
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
    """What a client method adds to its endpoint: path ids, query, body, extra headers."""

    path_params: Mapping[str, object] | None = None
    params: Mapping[str, Any] | None = None
    json_body: Any = None
    files: Mapping[str, tuple[str, bytes, str]] | None = None
    data: Mapping[str, str] | None = None
    headers: Mapping[str, str] | None = None


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


def _validated(shape: Any, body: Any, method: str, path: str) -> Any:
    """``body`` as ``shape``, or UnexpectedResponse naming the first field that does not fit."""
    adapter = _ADAPTERS.get(shape)
    if adapter is None:
        adapter = _ADAPTERS[shape] = TypeAdapter(shape)
    try:
        return adapter.validate_python(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise UnexpectedResponse(
            f"Kupe answered {method} {path} with a body that does not match what the API documents "
            f"({where}: {first['msg']}): the API may have changed; report this to the kupe-app-mcp maintainers.",
            method=method,
            path=path,
            status=200,
        ) from None


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
    return await client.request(
        spec.method,
        spec.path,
        path_params=req.path_params,
        params=req.params,
        json_body=req.json_body,
        files=req.files,
        data=req.data,
        headers=req.headers,
        expect=spec.expect,
        auth=spec.auth,
    )


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
