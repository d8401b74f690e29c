"""Everything that can go wrong talking to Kupe, as one small tree.

Each error's ``str()`` is one sentence a person can act on: what failed, why, and what
to do. The MCP layer hands that sentence to the model as an ``isError`` result, so it
must never contain a secret (API keys and tokens are never passed in here).

```
KupeError
├── ConfigError                  settings missing or invalid (start-up)
├── CallRefused                  a call-safety rule refused a call or batch (nothing reached Kupe)
│   └── StateUnavailable         the call-safety state store cannot be reached (fail closed)
├── KupeConnectionError          no answer: DNS, refused, reset
│   ├── KupeTimeout              connect or read timed out
│   └── CallOutcomeUnknown       create_call / batch start sent, answer lost (5xx, gateway page, timeout)
├── UnexpectedResponse           an answer that is not what the API documents (HTML 502, bad JSON)
├── CallInitiationFailed         create_call answered HTTP 200 {"status": "failed"}
└── KupeAPIError                 Kupe answered with an HTTP error status
    ├── InvalidRequest           400 / 422
    ├── AuthenticationFailed     401
    ├── InsufficientCredits      402
    ├── PermissionDenied         403 (RBAC scopes, Origin, session-only routes)
    ├── NotFound                 404
    ├── Conflict                 409
    ├── RateLimited              429 (carries retry_after)
    └── ServerError              5xx
```
"""

from __future__ import annotations

import re

__all__ = [
    "AuthenticationFailed",
    "CallInitiationFailed",
    "CallOutcomeUnknown",
    "CallRefused",
    "ConfigError",
    "Conflict",
    "Gone",
    "InsufficientCredits",
    "InvalidRequest",
    "KupeAPIError",
    "KupeConnectionError",
    "KupeError",
    "KupeTimeout",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "ServerError",
    "StateUnavailable",
    "UnexpectedResponse",
    "api_error_for",
    "brief",
    "replacement_route",
]

_DETAIL_MAX = 300


def _clip(text: str, limit: int = _DETAIL_MAX) -> str:
    """A server-supplied detail, short enough to read, on one line and in quotes: Kupe's words are data in ours."""
    from kupe_mcp.text.untrusted import quoted  # only when an error is written: start-up does not pay for it

    text = " ".join(text.split())
    return quoted(text if len(text) <= limit else text[: limit - 1] + "…") if text else ""


class KupeError(Exception):
    """Base of every kupe-app-mcp error; ``str()`` is the actionable sentence."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(KupeError):
    """A setting is missing or invalid; raised before any request is made."""


class CallRefused(KupeError):
    """A call-safety rule (``kupe_mcp.safety.rules``) refused a call or a batch start; nothing was sent to Kupe.

    The sentence says what was refused, why, and what to do.
    """


class StateUnavailable(CallRefused):
    """The call-safety state store (``KUPE_STATE_URL``) did not answer: nothing is dialled unguarded."""


class KupeConnectionError(KupeError):
    """No HTTP answer came back from Kupe.

    ``may_have_reached`` is true when the request could have been received before the
    failure (a read timeout or a reset after sending); callers must not assume a write
    did not happen.
    """

    def __init__(self, message: str, *, method: str, path: str, may_have_reached: bool) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.may_have_reached = may_have_reached


class CallOutcomeUnknown(KupeConnectionError):
    """A request that rings people was sent, and Kupe's answer was lost (5xx, gateway page, malformed body, timeout).

    The call (or batch) may be ringing: the hourly slot and the repeat-window entry are
    kept, and a redial needs a fresh confirmation that names this attempt.
    """

    def __init__(self, message: str, *, method: str, path: str) -> None:
        super().__init__(message, method=method, path=path, may_have_reached=True)


class KupeTimeout(KupeConnectionError):
    """Kupe did not answer within the configured timeout."""


class UnexpectedResponse(KupeError):
    """Kupe answered, but not with the JSON the API documents (an HTML error page, truncated JSON)."""

    def __init__(self, message: str, *, method: str, path: str, status: int) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.status = status


class CallInitiationFailed(KupeError):
    """create_call answered HTTP 200 with ``"status": "failed"``: nothing is ringing."""

    def __init__(self, detail: str, *, request_id: str | None, call_session_id: str | None) -> None:
        ids = ", ".join(
            f"{name} {value}"
            for name, value in (("request_id", request_id), ("call_session_id", call_session_id))
            if value
        )
        where = f" ({ids})" if ids else ""
        super().__init__(
            f"Kupe could not start the call{where}: {_clip(detail) or 'no reason given'}. "
            "Check the number and the caller line, then try again."
        )
        self.detail = detail
        self.request_id = request_id
        self.call_session_id = call_session_id


class KupeAPIError(KupeError):
    """Kupe answered with an HTTP error; carries status, Kupe's ``detail``, method, path and request id."""

    # Each status's sentence, filled with method, path, status and Kupe's detail; a subclass with more to say
    # than one template overrides ``_sentence``.
    sentence = "Kupe refused {method} {path} ({status}: {detail}): check the request and try again."

    def __init__(
        self,
        *,
        status: int,
        detail: str,
        method: str,
        path: str,
        request_id: str | None = None,
        message: str | None = None,
    ) -> None:
        self.status = status
        self.detail = detail
        self.method = method
        self.path = path
        self.request_id = request_id
        super().__init__(message or self._sentence())

    def _sentence(self) -> str:
        return self.sentence.format(method=self.method, path=self.path, status=self.status, detail=self._detail())

    def _detail(self) -> str:
        return _clip(self.detail) or "no detail given"


class InvalidRequest(KupeAPIError):
    """400 or 422: Kupe rejected the request's content."""

    sentence = "Kupe rejected {method} {path} as invalid ({status}: {detail}): fix the named field and try again."


class AuthenticationFailed(KupeAPIError):
    """401: the API key or session token was missing, wrong or revoked."""

    sentence = (
        "Kupe rejected the credentials (401: {detail}): "
        "check KUPE_API_KEY (or KUPE_BEARER_TOKEN) and that the key has not been revoked."
    )


class InsufficientCredits(KupeAPIError):
    """402: the account has run out of credits."""

    sentence = (
        "Kupe refused {method} {path} because the account is out of credits (402: {detail}): "
        "check the balance with get_credit_balance and top up the wallet in the Kupe dashboard."
    )


class PermissionDenied(KupeAPIError):
    """403: RBAC scopes, an Origin refusal, or a route that needs a Bearer session."""

    def _sentence(self) -> str:
        lowered = self.detail.lower()
        if "scope" in lowered:
            return (
                f"This API key lacks the scope for {self.method} {self.path} (403: {self._detail()}): "
                "ask the key's owner to grant it, or use a key that has it."
            )
        if "origin" in lowered:
            return (
                f"Kupe refused the request's Origin for {self.method} {self.path} (403: {self._detail()}): "
                "send server-to-server requests without an Origin header."
            )
        return (
            f"Kupe denied {self.method} {self.path} (403: {self._detail()}): "
            "this needs a role or a Bearer session the current credentials do not have."
        )


class NotFound(KupeAPIError):
    """404: the id does not exist or belongs to another user."""

    sentence = (
        "Kupe found nothing at {method} {path} (404: {detail}): "
        "check the id; list the objects first to get a valid one."
    )


# Kupe refuses changes to a live agent with 400 in its spec ("Invalid state (e.g. active agent without force)",
# "Cannot delete active agent without force") and 409 elsewhere; the detail text names both words either way.
_ACTIVE_AGENT = re.compile(r"\bactive\b.*\bforce|\bforce.*\bactive\b", re.IGNORECASE | re.DOTALL)


def is_active_agent_refusal(detail: str) -> bool:
    """Whether Kupe's ``detail`` says an agent is active and the change needs a force flag."""
    return bool(_ACTIVE_AGENT.search(detail))


class Conflict(KupeAPIError):
    """409 (or a 400 naming an active agent): the object's state forbids the change (an active agent, a batch
    already started)."""

    def _sentence(self) -> str:
        if is_active_agent_refusal(self.detail):
            flag = "force=true to delete_agent" if self.method == "DELETE" else "force_update=true"
            return (
                f"Kupe refused {self.method} {self.path} because the agent is active "
                f"({self.status}: {self._detail()}): "
                f"pass {flag} to change it anyway (live calls may pick up the change), or deactivate it first."
            )
        return (
            f"Kupe refused {self.method} {self.path} because of the object's state (409: {self._detail()}): "
            "change that state first (for an active agent, pass force_update), then retry."
        )


class RateLimited(KupeAPIError):
    """429: too many requests; ``retry_after`` is Kupe's hint in seconds, when given."""

    def __init__(self, *, retry_after: float | None = None, **kwargs: object) -> None:
        self.retry_after = retry_after
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def _sentence(self) -> str:
        wait = f"retry after {self.retry_after:g}s" if self.retry_after is not None else "wait a little and retry"
        return f"Kupe is rate limiting {self.method} {self.path} (429: {self._detail()}): {wait}."


class ServerError(KupeAPIError):
    """5xx: Kupe failed on its side."""

    def _sentence(self) -> str:
        rid = f" (request id {self.request_id})" if self.request_id else ""
        return (
            f"Kupe failed to handle {self.method} {self.path}{rid} ({self.status}: {self._detail()}): "
            "this is on Kupe's side; retry later, or report it to Kupe support with the request id."
        )


# Routes Kupe has retired (410 Gone) and the route its docs name instead (platform-rest-apis.md, "Legacy").
_REPLACED_ROUTES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^/(?:api/v1/)?organizations/[^/]+/billing(?:/|$)"), "POST /api/v1/wallets/{wallet_id}/grants"),
)


def replacement_route(path: str) -> str | None:
    """The route Kupe's docs give in place of a retired one, or None."""
    return next((new for old, new in _REPLACED_ROUTES if old.match(path)), None)


class Gone(KupeAPIError):
    """410: Kupe retired the route."""

    def _sentence(self) -> str:
        new = replacement_route(self.path)
        instead = f"use {new} instead" if new else "check Kupe's API docs for the route that replaced it"
        return f"Kupe has retired {self.method} {self.path} (410 Gone: {self._detail()}): {instead}."


_BY_STATUS: dict[int, type[KupeAPIError]] = {
    410: Gone,
    400: InvalidRequest,
    401: AuthenticationFailed,
    402: InsufficientCredits,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    422: InvalidRequest,
    429: RateLimited,
}


def brief(exc: BaseException, limit: int = 100) -> str:
    """A cause in a few words, for a sentence that must name two failures and still read as one line.

    Kupe's answer is reduced to its status and detail; anything else to its clipped sentence.
    """
    if isinstance(exc, KupeAPIError):
        return f"{exc.status}: {_clip(exc.detail, limit) or 'no detail given'}"
    if isinstance(exc, UnexpectedResponse):
        return f"an unexpected {exc.status} answer"
    if isinstance(exc, KupeTimeout):
        return "Kupe did not answer in time"
    if isinstance(exc, KupeConnectionError):
        return "Kupe could not be reached"
    return _clip(str(exc), limit)


def api_error_for(
    *,
    status: int,
    detail: str,
    method: str,
    path: str,
    request_id: str | None = None,
    retry_after: float | None = None,
) -> KupeAPIError:
    """Build the error class that matches an HTTP status."""
    if status == 429:
        return RateLimited(
            retry_after=retry_after, status=status, detail=detail, method=method, path=path, request_id=request_id
        )
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else KupeAPIError)
    if status == 400 and is_active_agent_refusal(detail):
        cls = Conflict  # the spec's 400 for an active agent is a state conflict, not a bad field
    return cls(status=status, detail=detail, method=method, path=path, request_id=request_id)
