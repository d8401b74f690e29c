"""The rights a grant carries, as the MCP surface sees them (no OAuth machinery imported: stdio never loads it)."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["GRANT_SCOPE_HEADER", "READ", "WRITE", "missing_right"]

READ = "kupe:read"
WRITE = "kupe:write"
GRANT_SCOPE_HEADER = "x-kupe-grant-scope"
"""Set on a request by the OAuth gate from the grant (an incoming copy is always dropped first)."""


def missing_right(headers: Mapping[str, str] | None, tool: str, *, read_only_tool: bool) -> str | None:
    """One sentence naming the right ``tool`` needs and this sign-in lacks, or None when it may run.

    Clients ignore ``insufficient_scope`` step-up challenges, so a read-only grant answers a write tool
    with this sentence instead of a 403.
    """
    if read_only_tool or headers is None:
        return None
    granted = headers.get(GRANT_SCOPE_HEADER)
    if granted is None or WRITE in granted.split():
        return None
    return (
        f"This sign-in is read-only: {tool} needs the write right ({WRITE}); reconnect and sign in again "
        "without ticking read-only to use it."
    )
