"""The one request path to Kupe: auth, timeouts, retries, error mapping.

Every client method goes through ``KupeHTTP.request``. It owns the single pooled
``httpx2.AsyncClient`` of the process; ``with_credentials`` gives per-tenant views that
share that pool (multi-tenant HTTP serving), so no credentials are ever stored on a
shared object.

Retry policy (see ``_should_retry``): GET/PUT/DELETE retry on transport errors, 429 and
502/503/504; any method retries when the TCP connection could not even be opened. A
POST or PATCH that may have reached Kupe is never retried: create_call and batch start
could ring a person twice.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http.cookiejar import Cookie, CookieJar, DefaultCookiePolicy
from typing import Any, Literal, Self
from urllib.parse import quote

import anyio
import httpx2

from kupe_mcp import __version__
from kupe_mcp.client._probe import probing
from kupe_mcp.config import DEFAULT_BASE_URL, Credentials
from kupe_mcp.errors import (
    ConfigError,
    KupeAPIError,
    KupeConnectionError,
    KupeTimeout,
    UnexpectedResponse,
    api_error_for,
)
from kupe_mcp.text.redact import redact, redact_url

__all__ = ["KupeHTTP", "RetryPolicy"]

logger = logging.getLogger("kupe_mcp.client")

JSONValue = Any
Expect = Literal["json", "bytes"]

_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE"})
_BODY_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})
_RETRY_STATUSES = frozenset({429, 502, 503, 504})
# Transport errors raised before a single byte of the request left this machine.
_NOT_SENT = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds on retrying idempotent requests: at most ``attempts`` tries and ``budget_s`` of waiting."""

    attempts: int = 3
    budget_s: float = 10.0
    base_delay_s: float = 0.25
    max_delay_s: float = 4.0


def _header_request_id(response: httpx2.Response) -> str | None:
    for name in ("x-request-id", "x-correlation-id", "request-id"):
        if value := response.headers.get(name):
            return value
    return None


def _retry_after(response: httpx2.Response) -> float | None:
    raw = response.headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(raw).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _detail_text(detail: object) -> str:
    """Kupe's ``detail`` may be a string, FastAPI's validation list, or an object."""
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, Mapping):
                loc = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
                msg = str(item.get("msg", ""))
                parts.append(f"{loc}: {msg}" if loc else msg)
            else:
                parts.append(str(item))
        return "; ".join(parts)
    if detail is None:
        return ""
    return json.dumps(detail, separators=(",", ":"))[:300]


def _looks_like_html(response: httpx2.Response) -> bool:
    ctype = response.headers.get("content-type", "")
    return "html" in ctype or response.content.lstrip()[:1] == b"<"


class _NoCookies(DefaultCookiePolicy):
    """Never keep or send a cookie: the pool is shared by every tenant (multi-tenant HTTP), and Kupe
    authenticates each request by its header, so a cookie one tenant's answer set must never ride
    on another tenant's request."""

    def set_ok(self, cookie: Cookie, request: Any) -> bool:
        return False

    def return_ok(self, cookie: Cookie, request: Any) -> bool:
        return False


class _Pool:
    """The process's one pooled ``httpx2.AsyncClient``, built on first use and shared by ``with_credentials`` views.

    Building it (its TLS context loads the trust store) costs tens of milliseconds that start-up and
    ``initialize`` do not need.
    """

    def __init__(self, factory: Callable[[], httpx2.AsyncClient]) -> None:
        self._factory = factory
        self._client: httpx2.AsyncClient | None = None

    def get(self) -> httpx2.AsyncClient:
        if self._client is None:
            self._client = self._factory()
        return self._client

    async def aclose(self) -> None:
        """Close the sockets; a later request builds a new client (the server's lifespan may be entered again)."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


class KupeHTTP:
    """Authenticated, retrying access to the Kupe REST API.

    ``transport`` is for tests (``httpx2.MockTransport``) and the in-process sandbox
    (``httpx2.ASGITransport``); production uses the default pooled transport.
    """

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        credentials: Credentials | None = None,
        timeout_s: float = 30.0,
        connect_timeout_s: float = 5.0,
        transport: httpx2.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        http: httpx2.AsyncClient | None = None,
        max_response_bytes: int = 16_000_000,
    ) -> None:
        self._credentials = credentials or Credentials()
        # The whole of one attempt (connect, send, every byte of the answer) must fit in timeout_s.
        self._deadline_s = timeout_s
        self._max_response_bytes = max_response_bytes
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._random = random.Random()
        self.base_url = base_url.rstrip("/")
        base = self.base_url

        def build() -> httpx2.AsyncClient:
            return http or httpx2.AsyncClient(
                base_url=base,
                timeout=httpx2.Timeout(timeout_s, connect=connect_timeout_s),
                limits=httpx2.Limits(max_connections=64, max_keepalive_connections=16),
                headers={"User-Agent": f"kupe-app-mcp/{__version__}", "Accept": "application/json"},
                transport=transport,
                follow_redirects=False,
                cookies=CookieJar(policy=_NoCookies()),
            )

        self._pool = _Pool(build)
        self._owns_http = http is None
        # The start-up check (``KupeClient.check_backend``): a sentence while the URL or key is wrong.
        self._gate: Callable[[], Awaitable[str | None]] | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={redact_url(self.base_url)!r}, auth={self._credentials.kind!r})"

    @property
    def credentials(self) -> Credentials:
        return self._credentials

    def with_credentials(self, credentials: Credentials) -> Self:
        """A view that authenticates as someone else but shares this connection pool."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._credentials = credentials
        clone._owns_http = False
        clone._gate = None  # the start-up check judged the server's own credentials, not this caller's
        return clone

    async def aclose(self) -> None:
        if self._owns_http:
            await self._pool.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        path_params: Mapping[str, object] | None = None,
        params: Mapping[str, Any] | None = None,
        json_body: JSONValue = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        data: Mapping[str, str] | None = None,
        expect: Expect = "json",
        auth: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> JSONValue:
        """Send one API call and return its decoded body (or bytes), raising a KupeError otherwise.

        ``path`` is the catalogue template (``/api/v1/agents/{agent_id}``); ``path_params``
        fill it, each value URL-quoted so an id can never change the route. Sending is split the
        way httpx splits it: this method builds and authenticates the request, ``_send_with_retries``
        owns the retry policy and its budget, ``_send`` is one attempt within the deadline.
        """
        if self._gate is not None and not probing.get() and (problem := await self._gate()) is not None:
            raise ConfigError(problem)
        method = method.upper()
        url_path = path.format_map({k: _path_segment(k, v) for k, v in (path_params or {}).items()})
        query = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}
        started = anyio.current_time()
        response = await self._send_with_retries(
            method,
            url_path,
            params=query or None,
            json=json_body if files is None and json_body is not None else None,
            files=files,
            data=data,
            headers=self._authenticate(headers, auth),
        )
        logger.debug(
            "%s %s -> %d in %.0f ms", method, url_path, response.status_code, (anyio.current_time() - started) * 1000
        )
        return _decode(response, method, url_path, expect)

    def _authenticate(self, headers: Mapping[str, str] | None, auth: bool) -> dict[str, str]:
        """The request's headers with this view's credentials on top (none for public routes such as health)."""
        return {**(headers or {}), **(self._credentials.headers() if auth else {})}

    async def _send_with_retries(self, method: str, url_path: str, **kwargs: Any) -> httpx2.Response:
        """Attempts until a 2xx answer, within the retry policy's attempts and waiting budget.

        A transport error is retried when the method is idempotent or nothing was sent; 429 and
        502/503/504 only for idempotent methods (honouring Retry-After). Anything else, or a spent
        budget, raises the KupeError for the last attempt.
        """
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._send(method, url_path, **kwargs)
            except httpx2.TransportError as exc:
                sent = not isinstance(exc, _NOT_SENT)
                delay = self._next_delay(attempt, waited, None) if method in _IDEMPOTENT or not sent else None
                if delay is None:
                    raise _transport_error(exc, method, url_path, sent) from None
                logger.info("%s %s: %s; retrying in %.2fs", method, url_path, type(exc).__name__, delay)
            else:
                status = response.status_code
                if 300 <= status < 400:
                    raise _redirect_error(response, method, url_path, self._credentials.secrets())
                if status < 400:
                    return response
                retryable = method in _IDEMPOTENT and status in _RETRY_STATUSES
                delay = self._next_delay(attempt, waited, _retry_after(response)) if retryable else None
                if delay is None:
                    raise _status_error(response, method, url_path, self._credentials.secrets())
                logger.info("%s %s -> %d; retrying in %.2fs", method, url_path, status, delay)
            waited += delay
            await self._sleep(delay)

    async def _send(self, method: str, url_path: str, **kwargs: Any) -> httpx2.Response:
        """One attempt, within the deadline, its body read as a stream and cut at ``max_response_bytes``.

        httpx2's read timeout restarts with every chunk, so a trickling answer could last for ever;
        the deadline bounds the whole attempt and counts as a read timeout (retried like one).
        """
        try:
            with anyio.fail_after(self._deadline_s):
                return await self._read(method, url_path, **kwargs)
        except TimeoutError:
            raise httpx2.ReadTimeout(f"no complete answer within {self._deadline_s:g} s") from None

    async def _read(self, method: str, url_path: str, **kwargs: Any) -> httpx2.Response:
        client = self._pool.get()
        request = client.build_request(method, url_path, **kwargs)
        response = await client.send(request, stream=True)
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self._max_response_bytes:
                raise self._too_large(method, url_path, response.status_code)
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > self._max_response_bytes:
                    raise self._too_large(method, url_path, response.status_code)
        finally:
            await response.aclose()
        # The body is already decoded: its encoding and length headers no longer describe it.
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _BODY_HEADERS]
        return httpx2.Response(response.status_code, headers=headers, content=bytes(body), request=request)

    def _too_large(self, method: str, path: str, status: int) -> UnexpectedResponse:
        limit = self._max_response_bytes / 1_000_000
        return UnexpectedResponse(
            f"Kupe's answer to {method} {path} is larger than the {limit:g} MB kupe-app-mcp accepts "
            "(KUPE_MAX_RESPONSE_MB), so it was cut off unread: ask for less (a smaller page or a filter).",
            method=method,
            path=path,
            status=status,
        )

    def _next_delay(self, attempt: int, waited: float, retry_after: float | None) -> float | None:
        """Seconds to wait before the next try, or None when the retry budget is spent."""
        if attempt >= self._retry.attempts:
            return None
        if retry_after is not None:
            delay = retry_after
        else:
            ceiling = min(self._retry.max_delay_s, self._retry.base_delay_s * 2 ** (attempt - 1))
            delay = ceiling / 2 + self._random.uniform(0, ceiling / 2)
        if waited + delay > self._retry.budget_s:
            return None
        return delay


def _path_segment(name: str, value: object) -> str:
    """One URL-quoted path segment; ``.`` and ``..`` would be normalised away and change the route."""
    text = quote(str(value), safe="")
    if text in {"", ".", ".."}:
        raise ValueError(f"{name} must be a real id, not {str(value)!r}.")
    return text


def _query_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def _decode(response: httpx2.Response, method: str, path: str, expect: Expect) -> JSONValue:
    if expect == "bytes":
        return response.content
    if not response.content.strip():
        return None
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        kind = "an HTML page" if _looks_like_html(response) else "a body that is not valid JSON"
        raise UnexpectedResponse(
            f"Kupe answered {method} {path} ({response.status_code}) with {kind} instead of JSON: "
            "the API or a proxy in front of it is misbehaving; retry later.",
            method=method,
            path=path,
            status=response.status_code,
        ) from None


def _redirect_error(
    response: httpx2.Response, method: str, path: str, own_secrets: tuple[str, ...]
) -> UnexpectedResponse:
    """Redirects are never followed (credentials must not travel to another origin): the base URL is wrong."""
    where = redact(response.headers.get("location", "another URL"), own_secrets)
    return UnexpectedResponse(
        f"Kupe redirected {method} {path} ({response.status_code}) to {where}: set KUPE_BASE_URL to the API origin, "
        "e.g. https://api.kupe.in.",
        method=method,
        path=path,
        status=response.status_code,
    )


def _status_error(
    response: httpx2.Response, method: str, path: str, own_secrets: tuple[str, ...] = ()
) -> KupeAPIError | UnexpectedResponse:
    """The KupeError for an error answer; a backend that echoes the caller's key gets it redacted."""
    status = response.status_code
    request_id = _header_request_id(response)
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if body is None and response.content.strip():
        if _looks_like_html(response):
            return UnexpectedResponse(
                f"Kupe answered {method} {path} with HTTP {status} and an HTML error page instead of JSON "
                "(a gateway or proxy failure): retry in a minute.",
                method=method,
                path=path,
                status=status,
            )
        detail = response.text[:300]
    elif isinstance(body, Mapping):
        detail = _detail_text(body.get("detail", body.get("message", body.get("error"))))
        request_id = request_id or (str(body["request_id"]) if body.get("request_id") else None)
    else:
        detail = _detail_text(body)
    return api_error_for(
        status=status,
        detail=redact(detail, own_secrets),
        method=method,
        path=path,
        request_id=request_id,
        retry_after=_retry_after(response),
    )


def _transport_error(exc: httpx2.TransportError, method: str, path: str, sent: bool) -> KupeConnectionError:
    write = method not in _IDEMPOTENT
    tail = (
        " The request may have reached Kupe, so check whether it took effect before repeating it."
        if write and sent
        else " Check KUPE_BASE_URL and the network, then retry."
    )
    if isinstance(exc, httpx2.TimeoutException):
        phase = "connect" if isinstance(exc, httpx2.ConnectTimeout | httpx2.PoolTimeout) else "answer"
        return KupeTimeout(
            f"Kupe did not {phase} in time for {method} {path}.{tail}",
            method=method,
            path=path,
            may_have_reached=sent,
        )
    reason = "the connection was refused or the host was not found" if not sent else "the connection was dropped"
    return KupeConnectionError(
        f"No answer from Kupe for {method} {path}: {reason}.{tail}",
        method=method,
        path=path,
        may_have_reached=sent,
    )
