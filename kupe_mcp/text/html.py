"""What every page this server renders for a person shares: outside text escaped into HTML, and the headers
that keep such a page out of frames, caches and other sites' view (the approval page and the OAuth sign-in)."""

from __future__ import annotations

import html
from typing import Any

__all__ = ["escape", "page_headers"]


def escape(value: Any) -> str:
    """Any outside value as HTML text, quotes included (it may stand in an attribute); None as nothing."""
    return html.escape("" if value is None else str(value), quote=True)


def page_headers(csp: str) -> dict[str, str]:
    """A page's headers: its own content security policy, and never framed, cached or sniffed."""
    return {
        "content-security-policy": csp,
        "x-frame-options": "DENY",
        "referrer-policy": "same-origin",  # no-referrer would make browsers send "Origin: null"
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
    }
