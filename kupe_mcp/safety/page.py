"""The approval page: where a person says yes or no to one call or batch, outside the model's reach.

``GET /approvals/<id>`` shows what will be dialled (the same facts as the preview) and, while
the approval is pending, an Approve and a Decline button. A GET never approves.

* With KUPE_APPROVAL_PROOF=passkey, Approve runs the WebAuthn ceremony: the page's script (allowed by a
  per-response CSP nonce; no remote script) fetches a single-use challenge bound to this approval and its
  digest (``POST /approvals/<id>/passkey/options``) and posts the assertion back
  (``POST /approvals/<id>/passkey``); only a verified assertion approves (``kupe_mcp.safety.passkeys``).
* ``POST /approvals/<id>`` answers with a form (Decline; with ``client`` proof also Approve) and must carry
  this view's own form value, the same value in a ``SameSite=Strict``, ``HttpOnly`` cookie the GET set, and
  an ``Origin`` naming this page's own origin. No approval secret exists on the page or in the store.

``/approvals/passkeys/enrol`` enrols a passkey (the Kupe API key typed there, or a one-time code from
``kupe-app-mcp passkey add`` or from an OAuth sign-in, which sends it as ``#code=…`` and whose redirect back to the
app is the only place the page then continues to); ``/approvals/passkeys`` lists, renames and revokes them. The
page escapes every outside text and forbids framing. The HTTP transport mounts ``approval_routes``; stdio servers
start an ``ApprovalListener`` on 127.0.0.1 (linked as ``localhost``) when the first approval is needed.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route, Router

from kupe_mcp._loopback import LoopbackServer
from kupe_mcp.safety.approvals import Approval, ApprovalProblem, ApprovalStore, on_the_page
from kupe_mcp.safety.clock import Clock, shown_time, utc_now
from kupe_mcp.safety.passkeys import Passkeys, RelyingParty, relying_party
from kupe_mcp.text import redact as _redact
from kupe_mcp.text.html import escape as _e
from kupe_mcp.text.html import page_headers

__all__ = ["COOKIE", "ApprovalDesk", "ApprovalListener", "approval_routes", "page_hosts", "render_page"]

COOKIE = "kupe_approval"
_MAX_BODY = 4096
_MAX_JSON = 16_384
_HEADERS = page_headers(
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

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
.pair{display:contents}.pair[hidden]{display:none}
.onward{display:inline-block;font-weight:600;padding:.75rem 1.5rem;border-radius:.4rem;background:#1e3a8a;color:#fff}
@media (max-width:30rem){dl{grid-template-columns:1fr}dt{margin-top:.4rem}}
"""

_STATUS_TEXT = {
    "approved": "Approved. The assistant will now dial; you can close this page.",
    "used": "Approved and dialled.",
    "declined": "Declined. Nothing will be dialled.",
    "expired": "This approval expired: nothing was dialled. Ask the assistant again if you still want it.",
}


def _values(values: Any) -> str:
    if not isinstance(values, dict) or not values:
        return "none"
    return "\n".join(f"{k} = {v!r}" for k, v in sorted(values.items()))


def local_time(zones: Any, now: datetime | None = None) -> str:
    """``14:02 (Asia/Kolkata)`` for each zone a number may ring in; "unknown" when none is known."""
    now = now or utc_now()
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


_APPROVE_JS = """(()=>{const b=document.getElementById('approve'),m=document.getElementById('msg'),u=location.pathname;
const say=t=>{m.textContent=t};
async function post(p,body){const r=await fetch(p,{method:'POST',credentials:'same-origin',
headers:{'content-type':'application/json'},body:JSON.stringify(body)});
const j=await r.json().catch(()=>({}));if(!r.ok)throw new Error(j.error||'Refused.');return j}
b.addEventListener('click',async()=>{b.disabled=true;say('Waiting for your passkey...');
try{if(!window.PublicKeyCredential||!PublicKeyCredential.parseRequestOptionsFromJSON)
throw new Error('This browser cannot use passkeys: open the link in a current Chrome, Edge, Safari or Firefox.');
const o=await post(u+'/passkey/options',{});
const c=await navigator.credentials.get({publicKey:PublicKeyCredential.parseRequestOptionsFromJSON(o)});
await post(u+'/passkey',c.toJSON());location.reload()}catch(e){say(e.message||String(e));b.disabled=false}})})();"""

_ENROL_JS = """(()=>{const f=document.getElementById('enrol'),m=document.getElementById('msg'),
n=document.getElementById('next');const say=t=>{m.textContent=t};
const hp=new URLSearchParams(location.hash.slice(1)),hc=hp.get('code');
if(hc){f.elements.code.value=hc;document.getElementById('by-key').hidden=true;
document.getElementById('intro').textContent=(hp.get('from')==='terminal'?'The one-time code from your terminal is '+
'filled in. Create a passkey':'You are signed in. Now create a passkey')+': it lets you, and only you, '+
'approve the phone calls the assistant wants to place.';history.replaceState(null,'',location.pathname)}
function onward(k,how){if(!k)return;const a=document.createElement('a');a.id='continue';a.className='onward';
a.href=k.url;a.textContent='Continue to '+k.app+how;n.replaceChildren(a)}
async function post(p,body){const r=await fetch(p,{method:'POST',credentials:'same-origin',
headers:{'content-type':'application/json'},body:JSON.stringify(body)});
const j=await r.json().catch(()=>({}));if(!r.ok)throw new Error(j.error||'Refused.');return j}
f.addEventListener('submit',async ev=>{ev.preventDefault();const d=new FormData(f);say('Checking...');let k=null;
try{const o=await post('/approvals/passkeys/enrol/options',{api_key:d.get('api_key')||'',code:d.get('code')||'',
name:d.get('name')||''});k=o.continue||null;delete o.continue;f.reset();
const c=await navigator.credentials.create({publicKey:PublicKeyCredential.parseCreationOptionsFromJSON(o)});
const done=await post('/approvals/passkeys/enrol',c.toJSON());say(done.message);onward(k,'')}
catch(e){say(e.message||String(e));onward(k,' without a passkey')}})})();"""

_MANAGE_JS = """(()=>{const f=document.getElementById('manage'),m=document.getElementById('msg'),
t=document.getElementById('keys');let key='';const say=x=>{m.textContent=x};
async function act(body){const r=await fetch('/approvals/passkeys/manage',{method:'POST',credentials:'same-origin',
headers:{'content-type':'application/json'},body:JSON.stringify({api_key:key,...body})});
const j=await r.json().catch(()=>({}));if(!r.ok)throw new Error(j.error||'Refused.');show(j.passkeys)}
function show(rows){t.replaceChildren();for(const p of rows){const tr=document.createElement('tr');
for(const v of [p.name,p.created_at,p.last_used_at||'never']){const td=document.createElement('td');
td.textContent=v;tr.append(td)}const td=document.createElement('td');
const rn=document.createElement('button');rn.type='button';rn.textContent='Rename';
rn.onclick=()=>{const n=prompt('New name',p.name);if(n)act({action:'rename',id:p.id,name:n}).catch(e=>say(e.message))};
const rv=document.createElement('button');rv.type='button';rv.textContent='Revoke';
rv.onclick=()=>act({action:'revoke',id:p.id}).catch(e=>say(e.message));td.append(rn,' ',rv);tr.append(td);t.append(tr)}
say(rows.length?'':'No passkeys are enrolled for this account.')}
f.addEventListener('submit',ev=>{ev.preventDefault();key=new FormData(f).get('api_key')||'';f.reset();
act({action:'list'}).catch(e=>say(e.message))})})();"""


def _shell(title: str, body: str, nonce: str | None = None, script: str = "") -> str:
    tag = f"<script nonce='{nonce}'>{script}</script>" if nonce and script else ""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{_e(title)} - Kupe</title><style>{_STYLE}</style></head><body><main>{body}</main>{tag}</body></html>"
    )


def render_page(approval: Approval, *, proof: str = "client", csrf: str = "", nonce: str = "") -> str:
    """The whole page for one approval as it stands; every outside text is escaped.

    With ``passkey`` proof, Approve runs the passkey ceremony (a little script, allowed by a per-response CSP
    nonce); Decline stays a plain form. ``csrf`` is this view's own double-submit value, never an approval secret.
    """
    facts = approval.facts
    batch = facts.get("kind") == "batch"
    title = "Start this campaign?" if batch else "Place this phone call?"
    warning = (
        f"It rings {_e(facts.get('recipients'))} real people and spends credits."
        if batch
        else "It rings a real phone and spends credits."
    )
    rows = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in _fact_rows(facts))
    script = ""
    if approval.status == "pending":
        expires = shown_time(approval.expires_at)
        form = (
            f"<form method='post' action='/approvals/{_e(approval.id)}'>"
            f"<input type='hidden' name='secret' value='{_e(csrf)}'>"
        )
        if proof == "passkey":
            action = (
                "<div class='actions' role='group' aria-label='Your answer'>"
                "<button type='button' id='approve' class='approve'>Approve</button>"
                f"{form}<button type='submit' name='answer' value='decline' class='decline'>Decline</button></form>"
                "</div><p id='msg' role='status'></p>"
                f"<p>Approving asks for your passkey (fingerprint, face or PIN). This request expires at "
                f"{expires}. Approve only if you asked for this call.</p>"
            )
            script = _APPROVE_JS
        else:
            action = (
                f"{form}<div class='actions' role='group' aria-label='Your answer'>"
                "<button type='submit' name='answer' value='approve' class='approve'>Approve</button>"
                "<button type='submit' name='answer' value='decline' class='decline'>Decline</button>"
                f"</div></form><p>This request expires at {expires}. "
                "Approve only if you asked for this call.</p>"
            )
    else:
        action = f"<p class='status' role='status'>{_e(_STATUS_TEXT.get(approval.status, approval.status))}</p>"
    body = (
        f"<h1>{_e(title)}</h1><p class='warn'>{warning}</p>"
        f"<dl aria-label='What will be dialled'>{rows}</dl>{_sample_table(facts)}{action}"
    )
    return _shell(title, body, nonce, script)


def _headers(nonce: str | None = None) -> dict[str, str]:
    if not nonce:
        return _HEADERS
    csp = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; connect-src 'self'; style-src 'unsafe-inline'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    return {**_HEADERS, "content-security-policy": csp}


def _page(text: str, status: int = 200, nonce: str | None = None) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=_headers(nonce))


def _problem_page(message: str, status: int) -> HTMLResponse:
    body = f"<h1>Nothing was changed</h1><p class='status' role='alert'>{_e(message)}</p>"
    return _page(_shell("Approval", body), status)


def _json(value: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(value, status_code=status, headers=_HEADERS)


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def page_hosts(bind_host: str, public_base: str | None, allowed_hosts: tuple[str, ...] = ()) -> frozenset[str] | None:
    """The Host names the page answers to (DNS rebinding): the bind address (all loopback names when it is
    loopback), KUPE_APPROVAL_BASE_URL's host and KUPE_ALLOWED_HOSTS; on a wildcard bind with none of those,
    the loopback names only (the page never trusts an arbitrary Host)."""
    hosts: set[str] = {(urlsplit(f"//{h}").hostname or "").lower() for h in allowed_hosts}
    if public_base:
        hosts.add((urlsplit(public_base).hostname or "").lower())
    bare = bind_host.strip("[]").lower()
    if bare in {"0.0.0.0", "::", ""}:  # noqa: S104 - naming the wildcard, not binding it
        return frozenset(hosts | _LOOPBACK_NAMES)
    hosts.add(bare)
    if bare in {"localhost", "::1"} or bare.startswith("127."):
        hosts |= {*_LOOPBACK_NAMES, bare}
    return frozenset(hosts)


def _host_of(request: Request) -> str:
    return (urlsplit(f"//{request.headers.get('host', '')}").hostname or "").lower()


async def _json_body(request: Request) -> dict[str, Any] | None:
    if not (request.headers.get("content-type") or "").startswith("application/json"):
        return None
    body = await request.body()
    if len(body) > _MAX_JSON:
        return None
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


# The Kupe API key field of the enrol and manage forms (their scripts read it by id), and their one button.
_API_KEY_FIELD = (
    "<dt><label for='api_key'>Kupe API key</label></dt>"
    "<dd><input id='api_key' name='api_key' type='password' autocomplete='off'></dd>"
)


def _submit(label: str) -> str:
    return f"<div class='actions'><button type='submit' class='approve'>{_e(label)}</button></div>"


_Handler = Callable[[Request], Awaitable[Response]]
# A passkey endpoint past its checks: the request, its JSON body, the relying party and the passkeys.
_PasskeyHandler = Callable[[Request, dict[str, Any], RelyingParty, Passkeys], Awaitable[Response]]
# An approval ceremony step past its checks: the JSON body, the relying party, the passkeys and the pending approval.
_PendingHandler = Callable[[dict[str, Any], RelyingParty, Passkeys, Approval], Awaitable[Response]]


def approval_routes(desk: ApprovalDesk, *, hosts: frozenset[str] | None = None) -> Router:
    """``/approvals/{id}`` GET (show) and POST (answer) over ``desk.store``, the passkey ceremony beside it
    (``/approvals/{id}/passkey``) and passkey enrolment and management (``/approvals/passkeys/…``).

    The origin a POST must come from is KUPE_APPROVAL_BASE_URL's (``desk.public_base``); otherwise the
    request's own, but only once its Host passed ``hosts`` (from ``page_hosts``), so a rebinding DNS name
    cannot make the page same-origin with an attacker's site and no Host header is ever trusted as is.
    """
    store = desk.store

    def base_of(request: Request) -> str:
        return desk.public_base or str(request.base_url).rstrip("/")

    def expected_origin(request: Request) -> str:
        return _origin_of(base_of(request))

    def wrong_host(request: Request) -> Response | None:
        if hosts is None or _host_of(request) in hosts:
            return None
        return _problem_page("Refused: this page is not served under that host name.", 421)

    def same_origin(request: Request) -> bool:
        origin = (request.headers.get("origin") or "").lower()
        return bool(origin) and origin == expected_origin(request)

    def rp_of(request: Request) -> RelyingParty | None:
        return relying_party(base_of(request))

    async def show(request: Request) -> Response:
        if (refused := wrong_host(request)) is not None:
            return refused
        approval = await store.get(request.path_params["approval_id"])
        if approval is None or not on_the_page(approval, desk.proof):
            return _problem_page("This approval link is not valid: ask the assistant for a new one.", 404)
        csrf, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(16)
        _redact.remember(csrf)  # this view's form value rides a cookie: no log line shows it
        if desk.proof == "passkey" and approval.status == "pending" and rp_of(request) is None:
            return _problem_page(
                "Passkeys need this page under a host name: open it at localhost (or the server's "
                "KUPE_APPROVAL_BASE_URL), not an IP address.",
                400,
            )
        response = _page(render_page(approval, proof=desk.proof, csrf=csrf, nonce=nonce), nonce=nonce)
        if approval.status == "pending":
            response.set_cookie(
                COOKIE,
                csrf,
                max_age=max(1, int((approval.expires_at - approval.created_at).total_seconds())),
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
        if not same_origin(request):
            return _problem_page("Refused: this answer did not come from the approval page itself.", 403)
        body = await request.body()
        if len(body) > _MAX_BODY:
            return _problem_page("Refused: the answer is too large.", 413)
        form = parse_qs(body.decode("utf-8", "replace"))
        csrf = (form.get("secret") or [""])[0]
        cookie = request.cookies.get(COOKIE, "")
        choice = (form.get("answer") or [""])[0]
        if not csrf or not cookie or not secrets.compare_digest(csrf, cookie):
            return _problem_page("Refused: open the approval link again and answer from that page.", 403)
        if choice not in {"approve", "decline"}:
            return _problem_page("Refused: choose Approve or Decline.", 400)
        if choice == "approve" and desk.proof == "passkey":
            return _problem_page("Refused: approving needs your passkey; press Approve on the page.", 403)
        record = await store.get(approval_id)
        if record is None or not on_the_page(record, desk.proof):
            return _problem_page("This approval link is not valid: ask the assistant for a new one.", 404)
        try:
            await store.answer_on_page(approval_id, approve=choice == "approve", via="approval page")
        except ApprovalProblem as exc:
            return _problem_page(str(exc), 409)
        return RedirectResponse(f"/approvals/{approval_id}", status_code=303, headers=_HEADERS)

    async def passkey_json(request: Request) -> tuple[dict[str, Any], RelyingParty, Passkeys] | Response:
        if (refused := wrong_host(request)) is not None:
            return refused
        rp = rp_of(request)
        if desk.passkeys is None or desk.proof != "passkey" or rp is None:
            return _json({"error": "Passkeys are not used by this server (KUPE_APPROVAL_PROOF)."}, 404)
        if not same_origin(request) or rp.origin != expected_origin(request):
            return _json({"error": "Refused: this did not come from the approval page itself."}, 403)
        body = await _json_body(request)
        if body is None:
            return _json({"error": "Refused: send JSON from the page."}, 415)
        return body, rp, desk.passkeys

    def passkey_route(handler: _PasskeyHandler) -> _Handler:
        """A passkey JSON endpoint whose handler runs only once ``passkey_json``'s checks passed."""

        async def route(request: Request) -> Response:
            got = await passkey_json(request)
            return got if isinstance(got, Response) else await handler(request, *got)

        return route

    def pending_route(handler: _PendingHandler) -> _Handler:
        """A step of the approval ceremony: ``passkey_route``'s checks, and the approval still pending."""

        @passkey_route
        async def route(request: Request, body: dict[str, Any], rp: RelyingParty, passkeys: Passkeys) -> Response:
            approval = await store.get(request.path_params["approval_id"])
            if approval is None or approval.status != "pending":
                state = approval.status if approval else "unknown"
                return _json({"error": f"This approval is {state}; nothing can be approved."}, 409)
            return await handler(body, rp, passkeys, approval)

        return route

    @pending_route
    async def approve_options(
        _body: dict[str, Any], rp: RelyingParty, passkeys: Passkeys, approval: Approval
    ) -> Response:
        try:
            return _json(await passkeys.assertion_options(approval, rp))
        except ApprovalProblem as exc:
            return _json({"error": str(exc)}, 409)

    @pending_route
    async def approve_with_passkey(
        credential: dict[str, Any], rp: RelyingParty, passkeys: Passkeys, approval: Approval
    ) -> Response:
        try:
            used = await passkeys.verify_assertion(approval, credential, rp)
            moved = await store.approve_verified(
                approval.id, tenant=approval.tenant, digest=approval.digest, via=f"passkey {used.name!r}"
            )
        except ApprovalProblem as exc:
            return _json({"error": str(exc)}, 403)
        return _json({"approval_id": moved.id, "status": moved.status})

    def passkey_page(request: Request, title: str, body: str, script: str) -> Response:
        """The enrol and manage pages: the same host check, the same need for a host name (WebAuthn binds to
        one), and a fresh nonce for the page's one script."""
        if (refused := wrong_host(request)) is not None:
            return refused
        if desk.passkeys is None or rp_of(request) is None:
            return _problem_page("Passkeys need this page under a host name (localhost or the server's URL).", 400)
        nonce = secrets.token_urlsafe(16)
        return _page(_shell(title, body, nonce, script), nonce=nonce)

    async def enrol_page(request: Request) -> Response:
        # A one-time code comes in the fragment (#code=…, from an OAuth sign-in or `kupe-app-mcp passkey add`),
        # which the script reads and then clears: a fragment reaches no server, log, proxy or Referer.
        body = (
            "<h1>Enrol a passkey for call approvals</h1>"
            "<p id='intro'>A passkey lets you, and only you, approve calls the assistant wants to place. Prove you "
            "own this Kupe account with its API key, or with the one-time code <code>kupe-app-mcp passkey add</code> "
            "printed in your terminal.</p>"
            f"<form id='enrol'><dl><div class='pair' id='by-key'>{_API_KEY_FIELD}</div>"
            "<dt><label for='code'>or one-time code</label></dt>"
            "<dd><input id='code' name='code' autocomplete='one-time-code'></dd>"
            "<dt><label for='name'>Name of this passkey</label></dt>"
            "<dd><input id='name' name='name' value='my passkey'></dd></dl>"
            f"{_submit('Create passkey')}</form>"
            "<p id='msg' role='status'></p><p id='next'></p>"
        )
        return passkey_page(request, "Enrol a passkey", body, _ENROL_JS)

    @passkey_route
    async def enrol_options(_request: Request, body: dict[str, Any], rp: RelyingParty, passkeys: Passkeys) -> Response:
        tenant, then = await _tenant_from(desk, passkeys, body)
        if tenant is None:
            return _json({"error": "Refused: that API key or one-time code is not valid for a Kupe account."}, 403)
        options = await passkeys.registration_options(tenant, rp, str(body.get("name") or "passkey"))
        onward = _onward(then)
        # Where the page goes next is only ever the URL minted with this code (an OAuth sign-in's redirect back to
        # its app), never one from the page's own URL: nobody can turn this page into an open redirect.
        return _json({**options, "continue": onward} if onward else options)

    @passkey_route
    async def enrol(_request: Request, credential: dict[str, Any], rp: RelyingParty, passkeys: Passkeys) -> Response:
        try:
            _, passkey = await passkeys.finish_registration(credential, rp)
        except ApprovalProblem as exc:
            return _json({"error": str(exc)}, 403)
        return _json({"message": f"Passkey {passkey.name!r} enrolled: you can approve calls with it now."})

    async def manage_page(request: Request) -> Response:
        body = (
            "<h1>Your passkeys for call approvals</h1>"
            f"<form id='manage'><dl>{_API_KEY_FIELD}</dl>{_submit('Show my passkeys')}</form>"
            "<table><thead><tr><th scope='col'>Name</th><th scope='col'>Enrolled</th><th scope='col'>Last used</th>"
            "<th scope='col'></th></tr></thead><tbody id='keys'></tbody></table><p id='msg' role='status'></p>"
            "<p><a href='/approvals/passkeys/enrol'>Enrol another passkey</a></p>"
        )
        return passkey_page(request, "Your passkeys", body, _MANAGE_JS)

    @passkey_route
    async def manage(_request: Request, body: dict[str, Any], _rp: RelyingParty, passkeys: Passkeys) -> Response:
        tenant = await desk.check_key(str(body.get("api_key") or "")) if desk.check_key else None
        if tenant is None:
            return _json({"error": "Refused: that API key is not valid for a Kupe account."}, 403)
        try:
            if body.get("action") == "rename":
                await passkeys.rename(tenant, str(body.get("id")), str(body.get("name") or ""))
            elif body.get("action") == "revoke":
                await passkeys.revoke(tenant, str(body.get("id")))
        except ApprovalProblem as exc:
            return _json({"error": str(exc)}, 404)
        return _json({"passkeys": [p.shown() for p in await passkeys.enrolled(tenant)]})

    return Router(
        routes=[
            Route("/approvals/passkeys", manage_page, methods=["GET"]),
            Route("/approvals/passkeys/manage", manage, methods=["POST"]),
            Route("/approvals/passkeys/enrol", enrol_page, methods=["GET"]),
            Route("/approvals/passkeys/enrol", enrol, methods=["POST"]),
            Route("/approvals/passkeys/enrol/options", enrol_options, methods=["POST"]),
            Route("/approvals/{approval_id}", show, methods=["GET"]),
            Route("/approvals/{approval_id}", answer, methods=["POST"]),
            Route("/approvals/{approval_id}/passkey/options", approve_options, methods=["POST"]),
            Route("/approvals/{approval_id}/passkey", approve_with_passkey, methods=["POST"]),
        ]
    )


async def _tenant_from(desk: ApprovalDesk, passkeys: Passkeys, body: dict[str, Any]) -> tuple[str | None, str | None]:
    """Who may enrol: the account of the typed Kupe API key, or the tenant a one-time code was minted for (a code
    wins over a key sent beside it); plus where the code's minter wants the person to go afterwards."""
    code = str(body.get("code") or "").strip()
    if code:
        redeemed = await passkeys.redeem_code(code)
        return redeemed if redeemed else (None, None)
    if desk.check_key is not None:
        return await desk.check_key(str(body.get("api_key") or "")), None
    return None, None


_NEVER_FOLLOWED = frozenset({"javascript", "data", "vbscript", "file", "blob", ""})


def _onward(then: str | None) -> dict[str, str] | None:
    """The page's "Continue to <app>" link: the URL and the name of where it goes (its host, or an app's own
    scheme such as ``vscode``); None when there is none or it is a scheme a link must never run."""
    if not then:
        return None
    parts = urlsplit(then)
    if parts.scheme.lower() in _NEVER_FOLLOWED:
        return None
    return {"url": then, "app": parts.hostname or parts.scheme}


class ApprovalListener:
    """The approval page for a stdio server: loopback only, started on first need, stopped with the server.

    It binds 127.0.0.1 but its links name ``localhost``: WebAuthn needs a domain as the relying party ID,
    and localhost is a secure context.
    """

    def __init__(self, desk: ApprovalDesk, *, port: int | None = None) -> None:
        routes = approval_routes(desk, hosts=page_hosts("127.0.0.1", None))
        self._server = LoopbackServer(routes, host="127.0.0.1", port=port or 0)
        self.base_url = ""

    def start(self) -> str:
        if not self.base_url:
            self._server.__enter__()
            self.base_url = self._server.base_url.replace("://127.0.0.1:", "://localhost:", 1)
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
    proof: str = "client"
    passkeys: Passkeys | None = None
    check_key: Callable[[str], Awaitable[str | None]] | None = None
    public_base: str | None = None
    port: int | None = None
    served_over_http: bool = False
    clock: Clock = utc_now
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
                self._listener = ApprovalListener(self, port=self.port)
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
