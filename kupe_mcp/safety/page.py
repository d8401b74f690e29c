"""The approval page: where a person says yes or no to one call or batch, outside the model's reach.

``GET /approvals/<id>`` shows what will be dialled (the same facts as the preview) and, while
the approval is pending, an Approve and a Decline button. ``POST /approvals/<id>`` answers;
it must carry all three of:

* the per-approval secret, in a hidden form field of the page (the model never sees it);
* the same secret in a ``SameSite=Strict``, ``HttpOnly`` cookie the GET set, path-scoped to this approval;
* an ``Origin`` header naming this page's own origin.

A GET never approves. The page is plain server-rendered HTML (no JavaScript), escapes every
outside text, and forbids framing. The HTTP transport mounts ``approval_routes``; stdio servers
start an ``ApprovalListener`` on 127.0.0.1 when the first approval is needed.
"""

from __future__ import annotations

import html
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route, Router

from kupe_mcp._loopback import LoopbackServer
from kupe_mcp.safety.approvals import Approval, ApprovalProblem, ApprovalStore
from kupe_mcp.text import redact as _redact

__all__ = ["COOKIE", "ApprovalDesk", "ApprovalListener", "approval_routes", "page_hosts", "render_page"]

COOKIE = "kupe_approval"
_MAX_BODY = 4096
_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",  # no-referrer would make browsers send "Origin: null"
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
}

_STYLE = """
body{font:1rem/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#111827}
main{max-width:40rem;margin:0 auto;padding:1rem}
h1{font-size:1.35rem;margin:.5rem 0 1rem}
.warn{background:#fff7ed;border:1px solid #9a3412;color:#7c2d12;padding:.6rem .8rem;border-radius:.4rem}
dl{display:grid;grid-template-columns:minmax(7rem,max-content) 1fr;gap:.35rem 1rem;background:#fff;
padding:1rem;border:1px solid #d1d5db;border-radius:.4rem}
dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere;white-space:pre-wrap}
table{width:100%;border-collapse:collapse;background:#fff;margin-top:1rem}
caption{text-align:left;font-weight:600;padding:.4rem 0}
th,td{border:1px solid #d1d5db;padding:.35rem .5rem;text-align:left;overflow-wrap:anywhere}
.actions{display:flex;gap:1rem;flex-wrap:wrap;margin:1.25rem 0}
button{font:inherit;font-weight:600;padding:.75rem 1.5rem;border-radius:.4rem;border:2px solid transparent;
cursor:pointer;min-width:9rem}
button:focus-visible{outline:3px solid #1d4ed8;outline-offset:2px}
.approve{background:#14532d;color:#fff}.decline{background:#fff;color:#7f1d1d;border-color:#7f1d1d}
.status{font-size:1.1rem;font-weight:600;padding:.75rem;border-radius:.4rem;background:#e5e7eb}
@media (max-width:30rem){dl{grid-template-columns:1fr}dt{margin-top:.4rem}}
"""

_STATUS_TEXT = {
    "approved": "Approved. The assistant will now dial; you can close this page.",
    "used": "Approved and dialled.",
    "declined": "Declined. Nothing will be dialled.",
    "expired": "This approval expired: nothing was dialled. Ask the assistant again if you still want it.",
}


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _values(values: Any) -> str:
    if not isinstance(values, dict) or not values:
        return "none"
    return "\n".join(f"{k} = {v!r}" for k, v in sorted(values.items()))


def local_time(zones: Any, now: datetime | None = None) -> str:
    """``14:02 (Asia/Kolkata)`` for each zone a number may ring in; "unknown" when none is known."""
    now = now or datetime.now(UTC)
    parts = []
    for name in zones if isinstance(zones, list | tuple) else []:
        try:
            parts.append(f"{now.astimezone(ZoneInfo(str(name))):%a %H:%M} ({name})")
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ", ".join(parts) or "unknown"


def _money_rows(facts: dict[str, Any]) -> list[tuple[str, str]]:
    cost = facts.get("estimated_cost_usd")
    balance = facts.get("credit_balance_usd")
    return [
        ("Cost estimate", f"${cost} ({facts.get('estimate_basis', '')})" if cost is not None else "not known yet"),
        ("Balance", f"${balance}" if balance is not None else "not known"),
    ]


def _fact_rows(facts: dict[str, Any]) -> list[tuple[str, str]]:
    if facts.get("kind") == "batch":
        rows = [
            ("Campaign", str(facts.get("name") or facts.get("batch_id"))),
            ("People to ring", str(facts.get("recipients"))),
            ("Agent", str(facts.get("agent"))),
            ("Caller line", str(facts.get("caller_line") or "a line Kupe picks")),
            ("Calls at once", str(facts.get("calls_at_once") or "Kupe's default")),
        ]
    else:
        kind = f", {facts['line_type']}" if facts.get("line_type") else ""
        rows = [
            ("Number", f"{facts.get('destination')} ({facts.get('country')}{kind})"),
            ("Local time there", local_time(facts.get("time_zones"))),
            ("Agent", str(facts.get("agent"))),
            ("Caller line", str(facts.get("caller_line"))),
            ("Variable values", _values(facts.get("variable_values"))),
        ]
    rows += _money_rows(facts)
    rows += [("Note", str(n)) for n in facts.get("notes") or []]
    return rows


def _sample_table(facts: dict[str, Any]) -> str:
    sample = facts.get("sample") or []
    if not sample:
        return ""
    more = int(facts.get("recipients") or 0) - len(sample)
    caption = f"First {len(sample)} of {facts.get('recipients')} people" + (f" ({more} more)" if more > 0 else "")
    body = "".join(
        f"<tr><td>{_e(s.get('to'))}</td><td>{_e(s.get('country'))}</td>"
        f"<td>{_e(local_time(s.get('time_zones')))}</td><td>{_e(_values(s.get('variable_values')))}</td></tr>"
        for s in sample
    )
    return (
        f"<table><caption>{_e(caption)}</caption><thead><tr><th scope='col'>Number</th>"
        "<th scope='col'>Country</th><th scope='col'>Local time</th><th scope='col'>Values</th></tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def render_page(approval: Approval) -> str:
    """The whole page for one approval as it stands; every outside text is escaped."""
    facts = approval.facts
    batch = facts.get("kind") == "batch"
    title = "Start this campaign?" if batch else "Place this phone call?"
    warning = (
        f"It rings {_e(facts.get('recipients'))} real people and spends credits."
        if batch
        else "It rings a real phone and spends credits."
    )
    rows = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in _fact_rows(facts))
    if approval.status == "pending":
        expires = datetime.fromtimestamp(approval.expires_at, UTC)
        action = (
            f"<form method='post' action='/approvals/{_e(approval.id)}'>"
            f"<input type='hidden' name='secret' value='{_e(approval.secret)}'>"
            "<div class='actions' role='group' aria-label='Your answer'>"
            "<button type='submit' name='answer' value='approve' class='approve'>Approve</button>"
            "<button type='submit' name='answer' value='decline' class='decline'>Decline</button>"
            f"</div></form><p>This request expires at {expires:%H:%M} UTC. "
            "Approve only if you asked for this call.</p>"
        )
    else:
        action = f"<p class='status' role='status'>{_e(_STATUS_TEXT.get(approval.status, approval.status))}</p>"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{_e(title)} - Kupe</title><style>{_STYLE}</style></head><body><main>"
        f"<h1>{_e(title)}</h1><p class='warn'>{warning}</p>"
        f"<dl aria-label='What will be dialled'>{rows}</dl>{_sample_table(facts)}{action}"
        "</main></body></html>"
    )


def _page(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=_HEADERS)


def _problem_page(message: str, status: int) -> HTMLResponse:
    body = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>Approval - Kupe</title><style>{_STYLE}</style></head><body><main>"
        f"<h1>Nothing was changed</h1><p class='status' role='alert'>{_e(message)}</p></main></body></html>"
    )
    return _page(body, status)


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def page_hosts(bind_host: str, public_base: str | None) -> frozenset[str] | None:
    """The Host names the page answers to (DNS rebinding): the bind address (all loopback names when it is
    loopback) and KUPE_APPROVAL_BASE_URL's host; None (any) only for a wildcard bind without a base URL."""
    hosts: set[str] = set()
    if public_base:
        hosts.add((urlsplit(public_base).hostname or "").lower())
    bare = bind_host.strip("[]").lower()
    if bare in {"0.0.0.0", "::", ""}:  # noqa: S104 - naming the wildcard, not binding it
        return frozenset(hosts) if hosts else None
    hosts.add(bare)
    if bare in {"localhost", "::1"} or bare.startswith("127."):
        hosts |= {"localhost", "127.0.0.1", "::1", bare}
    return frozenset(hosts)


def _host_of(request: Request) -> str:
    return (urlsplit(f"//{request.headers.get('host', '')}").hostname or "").lower()


def approval_routes(
    store: ApprovalStore, *, public_base: str | None = None, hosts: frozenset[str] | None = None
) -> Router:
    """``/approvals/{id}`` GET (show) and POST (answer) over ``store``.

    ``public_base`` (KUPE_APPROVAL_BASE_URL) is the origin a POST must come from behind a proxy;
    otherwise the request's own scheme and host. ``hosts`` (from ``page_hosts``) refuses any other
    Host header, so a rebinding DNS name cannot make the page same-origin with an attacker's site.
    """

    def expected_origin(request: Request) -> str:
        return _origin_of(public_base or str(request.base_url))

    def wrong_host(request: Request) -> Response | None:
        if hosts is None or _host_of(request) in hosts:
            return None
        return _problem_page("Refused: this page is not served under that host name.", 421)

    async def show(request: Request) -> Response:
        if (refused := wrong_host(request)) is not None:
            return refused
        approval = await store.get(request.path_params["approval_id"])
        if approval is None:
            return _problem_page("This approval link is not valid: ask the assistant for a new one.", 404)
        _redact.remember(approval.secret)  # this replica may not be the one that made it
        response = _page(render_page(approval))
        if approval.status == "pending":
            response.set_cookie(
                COOKIE,
                approval.secret,
                max_age=max(1, int(approval.expires_at - approval.created_at)),
                path=f"/approvals/{approval.id}",
                httponly=True,
                samesite="strict",
                secure=expected_origin(request).startswith("https://"),
            )
        return response

    async def answer(request: Request) -> Response:
        if (refused := wrong_host(request)) is not None:
            return refused
        approval_id = request.path_params["approval_id"]
        origin = (request.headers.get("origin") or "").lower()
        if not origin or origin != expected_origin(request):
            return _problem_page("Refused: this answer did not come from the approval page itself.", 403)
        body = await request.body()
        if len(body) > _MAX_BODY:
            return _problem_page("Refused: the answer is too large.", 413)
        form = parse_qs(body.decode("utf-8", "replace"))
        secret = (form.get("secret") or [""])[0]
        cookie = request.cookies.get(COOKIE, "")
        choice = (form.get("answer") or [""])[0]
        if not secret or not cookie or not secrets.compare_digest(secret, cookie):
            return _problem_page("Refused: open the approval link again and answer from that page.", 403)
        if choice not in {"approve", "decline"}:
            return _problem_page("Refused: choose Approve or Decline.", 400)
        try:
            await store.answer(approval_id, secret, approve=choice == "approve", via="approval page")
        except ApprovalProblem as exc:
            return _problem_page(str(exc), 409)
        return RedirectResponse(f"/approvals/{approval_id}", status_code=303, headers=_HEADERS)

    return Router(
        routes=[
            Route("/approvals/{approval_id}", show, methods=["GET"]),
            Route("/approvals/{approval_id}", answer, methods=["POST"]),
        ]
    )


class ApprovalListener:
    """The approval page for a stdio server: loopback only, started on first need, stopped with the server."""

    def __init__(self, store: ApprovalStore, *, port: int | None = None) -> None:
        routes = approval_routes(store, hosts=frozenset({"127.0.0.1"}))
        self._server = LoopbackServer(routes, host="127.0.0.1", port=port or 0)
        self.base_url = ""

    def start(self) -> str:
        if not self.base_url:
            self._server.__enter__()
            self.base_url = self._server.base_url
        return self.base_url

    def stop(self) -> None:
        if self.base_url:
            self._server.__exit__(None, None, None)
            self.base_url = ""


@dataclass
class ApprovalDesk:
    """The server's approvals: their store, how long they last, and where their page is reached.

    Links use KUPE_APPROVAL_BASE_URL when set; otherwise the HTTP transport's own address
    (``served_over_http``); otherwise (stdio) a loopback listener started on first need.
    """

    store: ApprovalStore
    ttl_s: float = 600.0
    public_base: str | None = None
    port: int | None = None
    served_over_http: bool = False
    clock: Callable[[], float] = time.time
    _listener: ApprovalListener | None = None
    _start_lock: threading.Lock = field(default_factory=threading.Lock)

    def base_url(self, request: Any = None) -> str:
        """Where ``/approvals/<id>`` is served for the person behind ``request`` (an HTTP request, or None)."""
        if self.public_base:
            return self.public_base
        if self.served_over_http and request is not None and hasattr(request, "base_url"):
            return str(request.base_url).rstrip("/")
        with self._start_lock:
            if self._listener is None:
                self._listener = ApprovalListener(self.store, port=self.port)
            url: str = self._listener.start()
            return url

    def link(self, approval_id: str, request: Any = None) -> str:
        return f"{self.base_url(request)}/approvals/{approval_id}"

    def close(self) -> None:
        """Stop the loopback listener, if one was started."""
        with self._start_lock:
            if self._listener is not None:
                self._listener.stop()
                self._listener = None
