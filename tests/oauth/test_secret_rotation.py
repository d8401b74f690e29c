"""Rotating KUPE_STATE_SECRET signs nobody out: with the old secret in KUPE_STATE_SECRET_PREVIOUS, tokens issued
before the switch still work, a client registered before it still refreshes, and the refresh seals the person's
Kupe key again under the new secret, so the old secret can then be dropped. One origin throughout (the tokens are
bound to it), one state store, three servers in turn: before, during and after the rotation."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx2
import pytest
from pydantic import SecretStr

from kupe_mcp.safety.state import open_store
from kupe_mcp.sandbox import SandboxServer, SandboxSettings
from tests.oauth._oauth import SECRET, serve
from tests.oauth.test_oauth_flow import raw_mcp, signed_in

pytestmark = pytest.mark.anyio

NEW_SECRET = "rotated-oauth-secret-0123456789abcd"


async def test_rotating_the_state_secret_keeps_sign_ins_and_registrations_until_the_old_secret_is_dropped() -> None:
    store = open_store("memory:", secret_set=True)
    rotating = {"state_secret": SecretStr(NEW_SECRET), "state_secret_previous": (SecretStr(SECRET),)}
    with SandboxServer(SandboxSettings(call_step_s=0)) as sandbox:
        with serve(store=store, sandbox=sandbox) as before:
            tokens, registered = await signed_in(before)  # signed in, and registered by DCR, under the old secret
            port = urlsplit(before.base_url).port or 0
        with serve(store=store, sandbox=sandbox, port=port, settings=rotating) as during:
            still = await raw_mcp(during, {"authorization": f"Bearer {tokens.access_token}"})
            async with httpx2.AsyncClient(timeout=15) as http:
                refreshed = await http.post(
                    f"{during.base_url}/token",
                    data={
                        "grant_type": "refresh_token",
                        "refresh_token": tokens.refresh_token or "",
                        "client_id": registered.client_id or "",
                        "client_secret": registered.client_secret or "",
                    },
                )
        with serve(store=store, sandbox=sandbox, port=port, settings={"state_secret": SecretStr(NEW_SECRET)}) as after:
            fresh = await raw_mcp(after, {"authorization": f"Bearer {refreshed.json()['access_token']}"})
            old = await raw_mcp(after, {"authorization": f"Bearer {tokens.access_token}"})
    assert still.status_code == 200  # issued under the old secret, read while it is being rotated out
    assert refreshed.status_code == 200, refreshed.text  # the DCR client's id and secret were signed under the old one
    assert fresh.status_code == 200  # the refresh sealed the Kupe key again under the new secret
    assert old.status_code == 401  # with the old secret dropped, what only it could find is gone
