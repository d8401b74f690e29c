"""``kupe-app-mcp passkey add|list|rename|revoke``: the person's passkeys for call approvals, from a terminal.

``add`` proves the person from where a model with MCP tools cannot look: the one-time code it prints
in this terminal. Without KUPE_APPROVAL_BASE_URL (stdio) it serves the enrolment page itself on
``http://localhost:PORT`` (the relying party a stdio server's approval page uses: a passkey made
here works on every localhost port); with it, the code is for that server's own enrolment page,
which reads it from the shared state store (so KUPE_STATE_SECRET must be the server's).

Passkeys live in the call-safety state store (KUPE_STATE_URL; for stdio the SQLite file the
server uses), under the Kupe account of KUPE_API_KEY.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import anyio

from kupe_mcp.errors import ConfigError

__all__ = ["add_passkey_parser", "run_passkey"]

_WAIT_S = 600.0


def add_passkey_parser(sub: Any) -> None:
    parser = sub.add_parser("passkey", help="enrol, list, rename or revoke the passkeys that approve calls")
    verbs = parser.add_subparsers(dest="verb", required=True)
    add = verbs.add_parser("add", help="print a one-time code and open an enrolment page for a new passkey")
    add.add_argument("--name", default="my passkey", help="what to call the new passkey")
    verbs.add_parser("list", help="the passkeys enrolled for this Kupe account")
    rename = verbs.add_parser("rename", help="rename a passkey")
    rename.add_argument("id")
    rename.add_argument("name")
    revoke = verbs.add_parser("revoke", help="revoke a passkey: it approves nothing from now on")
    revoke.add_argument("id")


def run_passkey(args: argparse.Namespace) -> int:
    """The ``passkey`` command; the exit status."""
    return anyio.run(_run, args)


async def _run(args: argparse.Namespace) -> int:
    from kupe_mcp.config import Settings
    from kupe_mcp.safety.approvals import ApprovalProblem
    from kupe_mcp.safety.passkeys import Passkeys, key_checker
    from kupe_mcp.safety.state import StateKeys, default_state_url, open_store

    settings = Settings.from_env(os.environ)
    key = settings.credentials.api_key
    if key is None:
        raise ConfigError("kupe-app-mcp passkey needs KUPE_API_KEY: passkeys belong to the Kupe account of that key.")
    url = settings.state_url or default_state_url("stdio", os.environ)
    if url.strip().startswith("memory"):
        raise ConfigError(
            "KUPE_STATE_URL is memory: a passkey kept there would vanish with this command; use the server's "
            "sqlite:// or redis:// store."
        )
    store = open_store(url, secret_set=settings.state_secret is not None)
    passkeys = Passkeys(store, StateKeys.from_secret(*settings.state_keys_secrets))
    try:
        tenant = await key_checker(settings.base_url)(key.get_secret_value())
        if tenant is None:
            raise ConfigError("Kupe did not accept KUPE_API_KEY (GET /api/v1/me): check the key and KUPE_BASE_URL.")
        if args.verb == "list":
            rows = await passkeys.enrolled(tenant)
            for p in rows:
                shown = p.shown()
                print(f"{shown['id']}  {shown['name']!r}  enrolled {shown['created_at']}  last used {shown['last_used_at'] or 'never'}")
            if not rows:
                print("No passkeys are enrolled for this Kupe account: kupe-app-mcp passkey add enrols one.")
            return 0
        try:
            if args.verb == "rename":
                renamed = await passkeys.rename(tenant, args.id, args.name)
                print(f"Renamed to {renamed.name!r}.")
                return 0
            if args.verb == "revoke":
                await passkeys.revoke(tenant, args.id)
                print("Revoked: that passkey approves nothing from now on.")
                return 0
        except ApprovalProblem as exc:
            print(f"kupe-app-mcp: {exc}", file=sys.stderr)
            return 1
        return await _add(settings, passkeys, tenant, args.name)
    finally:
        await store.aclose()


async def _add(settings: Any, passkeys: Any, tenant: str, name: str) -> int:
    from urllib.parse import quote

    before = {p.id for p in await passkeys.enrolled(tenant)}
    code = await passkeys.enrolment_code(tenant)
    listener = None
    if settings.approval_base_url:
        if settings.state_secret is None:
            raise ConfigError(
                "KUPE_APPROVAL_BASE_URL is set but KUPE_STATE_SECRET is not: set the server's secret so its page "
                "can read this code."
            )
        base = settings.approval_base_url
    else:
        from kupe_mcp.safety.approvals import StateApprovals
        from kupe_mcp.safety.page import ApprovalDesk, ApprovalListener
        from kupe_mcp.safety.state._memory import MemoryStore

        # This desk serves the enrolment page only: its approvals are an empty store of its own, so no approval
        # of the server's (in the shared store) can be opened or answered through this command's listener.
        approvals = StateApprovals(MemoryStore())
        desk = ApprovalDesk(approvals, proof="passkey", passkeys=passkeys, port=settings.approval_port)
        listener = ApprovalListener(desk, port=settings.approval_port)
        base = listener.start()
    print(
        f"Open {base}/approvals/passkeys/enrol#code={quote(code)}&from=terminal in your browser and create the "
        "passkey\n"
        f"(one-time code {code}, good for 10 minutes; name it there, e.g. {name!r}).",
        file=sys.stderr,
    )
    try:
        deadline = time.monotonic() + _WAIT_S
        while time.monotonic() < deadline:
            added = [p for p in await passkeys.enrolled(tenant) if p.id not in before]
            if added:
                print(f"Passkey {added[0].name!r} enrolled: it approves calls for this Kupe account now.")
                return 0
            await anyio.sleep(0.5)
        print("kupe-app-mcp: no passkey was enrolled in time; run kupe-app-mcp passkey add again.", file=sys.stderr)
        return 1
    finally:
        if listener is not None:
            listener.stop()
