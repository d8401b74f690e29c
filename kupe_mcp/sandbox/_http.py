"""Request plumbing shared by every route module: errors, auth principal, params, bodies.

Handlers receive a :class:`Ctx` and return a Starlette ``Response``; raising
:class:`ApiError` (via :func:`fail`) turns into Kupe's ``{"detail": ...}`` error body.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, NoReturn, TypeVar

from pydantic import AfterValidator, BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._sim import advance
from ._state import Sandbox
from ._store import Doc, Store

M = TypeVar("M", bound=BaseModel)


class ApiError(Exception):
    """An HTTP error with a FastAPI-style body (``detail`` is a string, or a list for 422)."""

    def __init__(self, status: int, detail: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers

    def response(self) -> JSONResponse:
        return JSONResponse({"detail": self.detail}, status_code=self.status, headers=self.headers)


def fail(status: int, detail: Any) -> NoReturn:
    raise ApiError(status, detail)


def not_found(what: str, ident: str) -> NoReturn:
    fail(404, f"{what} {ident} not found")


def invalid(loc: list[str | int], msg: str, value: Any = None, kind: str = "value_error") -> NoReturn:
    """FastAPI-shaped 422 for request validation (query or body), used consistently for schema errors."""
    fail(422, [{"type": kind, "loc": loc, "msg": msg, "input": value}])


def invalid_date(name: str, raw: str) -> NoReturn:
    invalid(["query", name], "Input should be a valid date in the format YYYY-MM-DD", raw, "date_from_datetime_parsing")


def ok(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status)


@dataclass(frozen=True)
class Principal:
    """Who is calling: resolved by the auth middleware from ``x-api-key`` or ``Authorization: Bearer``."""

    user_id: str
    auth: str  # "api_key" | "bearer"
    role: str  # "developer" | "super_admin"
    key_id: str | None = None
    scopes: tuple[str, ...] = field(default=())

    @property
    def is_super_admin(self) -> bool:
        return self.auth == "bearer" and self.role == "super_admin"


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return False
    return True


def _uuid_text(value: str) -> str:
    if not is_uuid(value):
        raise ValueError("Input should be a valid UUID")
    return value


UuidStr = Annotated[str, AfterValidator(_uuid_text)]
"""A body field the spec types ``format: uuid``: a malformed one is a 422, never a lookup."""


def page_of(items: list[Any], page: int, page_size: int) -> dict[str, Any]:
    total = len(items)
    start = (page - 1) * page_size
    return {
        "items": items[start : start + page_size],
        "total": total,
        "page": page,
        "page_size": page_size,
        "total_pages": math.ceil(total / page_size) if total else 0,
    }


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class Ctx:
    """One request as handlers see it."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.sb: Sandbox = request.app.state.sandbox
        self._user: Principal | None = request.scope.get("sandbox.principal")

    @property
    def user(self) -> Principal:
        if self._user is None:
            fail(401, "Not authenticated: send x-api-key or Authorization: Bearer <token>")
        return self._user

    def act_as(self, principal: Principal) -> None:
        """Run the rest of the request as ``principal`` (used by the HMAC-signed incoming webhook)."""
        self._user = principal

    @property
    def store(self) -> Store:
        return self.sb.store

    @property
    def uid(self) -> str:
        return self.user.user_id

    def now(self) -> float:
        return self.sb.now()

    def now_iso(self) -> str:
        return self.sb.now_iso()

    # -- params --------------------------------------------------------------------

    def path(self, name: str) -> str:
        """A path id; malformed UUIDs are a 400 (as Kupe's spec documents "Invalid UUID")."""
        value = str(self.request.path_params[name])
        if not is_uuid(value):
            fail(400, f"Invalid {name} '{value}': expected a UUID")
        return value

    def raw_path(self, name: str) -> str:
        return str(self.request.path_params[name])

    def q(self, name: str) -> str | None:
        return self.request.query_params.get(name)

    def q_uuid(self, name: str) -> str | None:
        """An optional UUID query value; a present but malformed one (even empty) is a 400, as in FastAPI."""
        value = self.q(name)
        if value is None:
            return None
        if not is_uuid(value):
            fail(400, f"Invalid {name} '{value}': expected a UUID")
        return value

    def q_int(self, name: str, default: int, lo: int | None = 0, hi: int | None = None) -> int:
        """An integer query value within [lo, hi] (None: no bound, as where the spec sets none); an empty one is
        not an integer (a 422), as in FastAPI."""
        raw = self.q(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            invalid(["query", name], "Input should be a valid integer", raw, "int_parsing")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            invalid(["query", name], f"Input should be between {lo} and {hi}", raw, "range")
        return value

    def q_date(self, name: str) -> str | None:
        """An optional ``YYYY-MM-DD`` query value (OpenAPI ``format: date``); anything else is a 422."""
        raw = self.q(name)
        if raw is None:
            return None
        try:
            return date.fromisoformat(raw).isoformat() if len(raw) == 10 else invalid_date(name, raw)
        except ValueError:
            invalid_date(name, raw)

    def q_enum(self, name: str, allowed: tuple[str, ...], default: str | None = None) -> str | None:
        """An optional query value from ``allowed`` (an OpenAPI ``enum``); an empty or unlisted one is a 422."""
        raw = self.q(name)
        if raw is None:
            return default
        if raw not in allowed:
            invalid(["query", name], f"Input should be one of {', '.join(allowed)}", raw, "enum")
        return raw

    def q_bool(self, name: str) -> bool:
        """An optional boolean query value (absent: false); an empty or other value is a 422, as in FastAPI."""
        value = self.q(name)
        if value is None:
            return False
        raw = value.strip().lower()
        if raw in _TRUE:
            return True
        if raw in _FALSE:
            return False
        invalid(["query", name], "Input should be a valid boolean", raw, "bool_parsing")

    # -- bodies --------------------------------------------------------------------

    async def body_json(self, *, required: bool = True) -> Any:
        raw = await self.request.body()
        if not raw.strip():
            if required:
                invalid(["body"], "Field required", None, "missing")
            return None
        try:
            return json.loads(raw)
        except ValueError:
            invalid(["body"], "JSON decode error", raw.decode("utf-8", "replace")[:200], "json_invalid")

    async def body_obj(self, *, required: bool = True) -> Doc:
        raw_empty = not (await self.request.body()).strip()
        data = await self.body_json(required=required)
        if data is None and (raw_empty or not required):
            return {}
        if not isinstance(data, dict):
            invalid(["body"], "Input should be a valid dictionary", data, "dict_type")
        return data

    async def body(self, model: type[M]) -> M:
        return validate(model, await self.body_json())


def _integral(value: Any) -> Any:
    """JSON Schema counts ``34.0`` as an integer: turn whole floats into ints before strict validation."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


def validate(model: type[M], data: Any, loc: tuple[str | int, ...] = ("body",)) -> M:
    """Pydantic validation with FastAPI's 422 error list on failure.

    Strict, as Kupe's typed schemas are: ``"true"`` is not a boolean and ``7`` is not a string. A ``null`` is
    refused for every field except those the spec marks ``nullable`` (the model's ``NULLABLE`` names).
    """
    if isinstance(data, dict):
        nullable: frozenset[str] = getattr(model, "NULLABLE", frozenset())
        nulls = [k for k, v in data.items() if v is None and k in model.model_fields and k not in nullable]
        if nulls:
            detail = [{"type": "none_forbidden", "loc": [*loc, k], "msg": "Input should not be null"} for k in nulls]
            raise ApiError(422, detail)
    try:
        return model.model_validate(_integral(data), strict=True)
    except ValidationError as exc:
        errors = json.loads(exc.json(include_url=False, include_context=False))
        for err in errors:
            err["loc"] = [*loc, *err["loc"]]
        raise ApiError(422, errors) from None


Handler = Callable[[Ctx], Awaitable[Response]]


class RouteTable:
    """Collects routes for one area of the API; order matters (static paths before ``{id}`` ones)."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, path: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            async def endpoint(request: Request) -> Response:
                try:
                    ctx = Ctx(request)
                    advance(ctx.sb)  # lazy simulation: catch calls and batches up before any read or write
                    return await fn(ctx)
                except ApiError as exc:
                    return exc.response()

            endpoint.__name__ = fn.__name__
            endpoint.__doc__ = fn.__doc__
            self.routes.append(Route(path, endpoint, methods=[method]))
            return fn

        return register

    def get(self, path: str) -> Callable[[Handler], Handler]:
        return self.add("GET", path)

    def post(self, path: str) -> Callable[[Handler], Handler]:
        return self.add("POST", path)

    def put(self, path: str) -> Callable[[Handler], Handler]:
        return self.add("PUT", path)

    def patch(self, path: str) -> Callable[[Handler], Handler]:
        return self.add("PATCH", path)

    def delete(self, path: str) -> Callable[[Handler], Handler]:
        return self.add("DELETE", path)
