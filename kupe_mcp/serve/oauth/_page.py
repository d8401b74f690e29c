"""The sign-in page: plain server-rendered HTML (no JavaScript), every outside text escaped, readable on a phone.

Its security headers forbid framing and scripts. ``form-action`` is left out on purpose: after the POST the browser
follows a redirect to the app's own redirect URI (``http://127.0.0.1:…``, ``vscode://…``), which a ``form-action
'self'`` would block.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from kupe_mcp.text.html import escape as _e
from kupe_mcp.text.html import page_headers

__all__ = ["HEADERS", "render_message", "render_sign_in"]

HEADERS = page_headers("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")

_STYLE = """
body{font:1rem/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#111827}
main{max-width:32rem;margin:0 auto;padding:1rem}
h1{font-size:1.35rem;margin:.5rem 0 1rem}
.who{background:#fff;border:1px solid #d1d5db;border-radius:.4rem;padding:.75rem 1rem;overflow-wrap:anywhere}
label{display:block;font-weight:600;margin:1rem 0 .3rem}
input[type=password]{font:inherit;width:100%;box-sizing:border-box;padding:.7rem;border:1px solid #6b7280;
border-radius:.4rem}
.check{display:flex;gap:.6rem;align-items:flex-start;font-weight:400;margin:.8rem 0}
.check input{width:1.3rem;height:1.3rem;margin-top:.15rem;flex:none}
.hint{color:#374151;font-size:.95rem}
.error{background:#fef2f2;border:1px solid #991b1b;color:#7f1d1d;padding:.6rem .8rem;border-radius:.4rem}
.actions{display:flex;gap:1rem;flex-wrap:wrap;margin:1.25rem 0}
button{font:inherit;font-weight:600;padding:.75rem 1.5rem;border-radius:.4rem;border:2px solid transparent;
cursor:pointer;min-width:9rem}
button:focus-visible,input:focus-visible{outline:3px solid #1d4ed8;outline-offset:2px}
.primary{background:#1e3a8a;color:#fff}.secondary{background:#fff;color:#1f2937;border-color:#6b7280}
"""


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body><main>{body}</main></body></html>\n"
    )


def _who(pending: dict[str, Any]) -> str:
    """Who asks: the client's own name when it gave one, and always the host the code will go to."""
    redirect = urlsplit(str(pending.get("redirect_uri", "")))
    target = redirect.hostname or redirect.scheme or "?"
    client_id = str(pending.get("client_id", ""))
    name = pending.get("client_name") or (urlsplit(client_id).hostname if client_id.startswith("https://") else None)
    shown = f"<strong>{_e(name)}</strong>" if name else "An app"
    return (
        f"<p class=who>{shown} asks to use your Kupe App account through this server. "
        f"After you sign in you go back to <strong>{_e(target)}</strong>.</p>"
    )


def render_sign_in(
    *, request_id: str, csrf: str, pending: dict[str, Any], error: str | None = None, passkey_label: str | None = None
) -> str:
    """The form: the key (never pre-filled), the read-only offer, the passkey offer when one is wired in."""
    problem = f"<p class=error role=alert id=problem>{_e(error)}</p>" if error else ""
    passkey = (
        f"<label class=check><input type=checkbox name=passkey value=1> <span>{_e(passkey_label)}</span></label>"
        if passkey_label
        else ""
    )
    body = f"""<h1>Sign in to Kupe</h1>{_who(pending)}{problem}
<form method=post action="/oauth/sign-in">
<input type=hidden name=request value="{_e(request_id)}"><input type=hidden name=csrf value="{_e(csrf)}">
<label for=api_key>Kupe App API key</label>
<input type=password id=api_key name=api_key autocomplete=off spellcheck=false required
 aria-describedby=key-hint{" aria-invalid=true" if error else ""}>
<p class=hint id=key-hint>Create one in the Kupe App dashboard under Settings &rarr; API keys. It stays on this
server, encrypted; the app only gets a token that you can revoke.</p>
<label class=check><input type=checkbox name=read_only value=1>
<span>Read-only: the app may look at agents, calls and usage, but not place calls or change anything.</span></label>
{passkey}<div class=actions><button class=primary type=submit name=action value=allow>Sign in</button>
<button class=secondary type=submit name=action value=deny formnovalidate>Cancel</button></div>
</form>"""
    return _page("Sign in to Kupe", body)


def render_message(title: str, sentence: str) -> str:
    """A page with one sentence: an expired link, a refused client document."""
    return _page(title, f"<h1>{_e(title)}</h1><p class=error role=alert>{_e(sentence)}</p>")
