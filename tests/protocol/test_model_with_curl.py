"""The model with curl: under KUPE_APPROVAL_PROOF=passkey, nothing the model can see or send approves a dial.

The model reads everything it is shown (the tool result with its ``_meta``, as if the host leaked it,
``list_call_approvals``, ``kupe://approvals/{id}``), opens every page it can name with a cookie jar, posts every form
on them with same-origin headers, asks the page for a passkey challenge and answers it with a forged assertion, and
calls ``answer_call_approval`` with every value it saw. The tenant has a passkey enrolled (so the passkey path is
live). On stdio (the loopback page listener) and on HTTP, on both protocol generations, through the link, URL
elicitation and card channels: nothing is dialled.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx2
import mcp_types as types
import pytest
from mcp.client import Client
from mcp.client.extension import advertise
from mcp.client.session import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.shared.exceptions import MCPError
from mcp_types import MISSING_REQUIRED_CLIENT_CAPABILITY

from kupe_mcp.safety.clock import utc_now
from kupe_mcp.safety.passkeys import Passkey
from kupe_mcp.sandbox import DEMO_API_KEY
from tests._approvals import URL_ONLY, declared_elicitation, origin
from tests._safety import ADA_CALL, Served, calls_on

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

URL = re.compile(r"https?://[^\s'\"\\<>]+")
HIDDEN = re.compile(r"name='([^']+)' value='([^']*)'")


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture(params=["stdio", "http"])
async def setup(request: pytest.FixtureRequest) -> AsyncIterator[Served]:
    async with calls_on(request.param, approval_proof="passkey", elicitation_timeout_s=1) as served:
        yield served


async def enrol_someone(setup: Served) -> str:
    """The person enrolled a passkey (its private key is in their authenticator, nowhere here)."""
    desk = setup.server.runtime.approvals
    assert desk.passkeys is not None
    assert desk.check_key is not None
    tenant = await desk.check_key(DEMO_API_KEY)
    assert tenant is not None
    key_id = b64(secrets.token_bytes(32))
    passkey = Passkey(
        id=key_id, public_key=b64(secrets.token_bytes(77)), sign_count=0, name="phone", created_at=utc_now()
    )
    await desk.passkeys._save(tenant, [passkey])
    return key_id


async def attack_pages(seen: str, key_id: str) -> None:
    """Everything a model with an HTTP tool can do with the pages it can name."""
    urls = set(URL.findall(seen))
    ids = set(re.findall(r"/approvals/([A-Za-z0-9_-]{8,64})", seen))
    bases = {origin(u) for u in urls}
    pages = urls | {f"{b}/approvals/{i}" for b in bases for i in ids}
    async with httpx2.AsyncClient(timeout=10) as http:
        for page in sorted(pages):
            try:
                await attack_page(http, page, key_id)
            except httpx2.HTTPError:
                continue  # a name in the text that is no server (curl would fail the same way)


async def attack_page(http: httpx2.AsyncClient, page: str, key_id: str) -> None:
    got = await http.get(page)
    fields = dict(HIDDEN.findall(got.text))
    headers = {"origin": origin(page), "referer": page}
    for answer in ("approve", "Approve", "yes"):
        await http.post(page, data={**fields, "answer": answer}, headers=headers)
    challenge = await http.post(f"{page}/passkey/options", json={}, headers=headers)
    is_json = challenge.headers.get("content-type", "").startswith("application/json")
    options = challenge.json() if is_json else {}
    client_data = {"type": "webauthn.get", "challenge": options.get("challenge", ""), "origin": origin(page)}
    forged = {
        "id": key_id,
        "rawId": key_id,
        "type": "public-key",
        "response": {
            "clientDataJSON": b64(json.dumps(client_data).encode()),
            "authenticatorData": b64(secrets.token_bytes(37)),
            "signature": b64(secrets.token_bytes(70)),
        },
    }
    await http.post(f"{page}/passkey", json=forged, headers=headers)


@pytest.fixture
async def exits() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as stack:
        yield stack


@pytest.mark.parametrize("channel", ["link", "url", "card"])
async def test_under_passkey_nothing_the_model_sees_or_sends_dials(
    setup: Served, channel: str, client_mode: str, exits: AsyncExitStack
) -> None:
    key_id = await enrol_someone(setup)
    asked: list[str] = []

    async def model_as_client(context: ClientRequestContext, params: types.ElicitRequestParams) -> types.ElicitResult:
        assert isinstance(params, types.ElicitRequestURLParams)
        asked.append(params.url)  # the client is the model's: it sees the URL and attacks the page itself
        await attack_pages(params.url, key_id)
        return types.ElicitResult(action="accept")

    extensions = [advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})] if channel == "card" else []
    exits.enter_context(declared_elicitation(URL_ONLY if channel == "url" else None))
    if setup.mcp_url is None:
        transport: Any = setup.server
    else:
        http = await exits.enter_async_context(httpx2.AsyncClient(timeout=30))
        transport = streamable_http_client(setup.mcp_url, http_client=http)
    mcp = await exits.enter_async_context(
        Client(
            transport,
            mode=client_mode,
            extensions=extensions,
            elicitation_callback=model_as_client if channel == "url" else None,
        )
    )
    result = await mcp.call_tool("place_call", ADA_CALL)
    assert not result.is_error, result.content
    out = result.structured_content or {}
    approval_id = out["approval_id"]
    listed = await mcp.call_tool("list_call_approvals", {})
    read = await mcp.read_resource(f"kupe://approvals/{approval_id}")
    seen = "\n".join(
        [
            json.dumps(out),
            json.dumps(result.meta or {}),
            *[getattr(c, "text", "") for c in result.content],
            json.dumps(listed.structured_content),
            *[getattr(c, "text", "") for c in read.contents],
            *asked,
        ]
    )
    await attack_pages(seen, key_id)
    values = set(re.findall(r"[A-Za-z0-9_-]{16,128}", seen))
    # A client the server knows negotiated MCP Apps is shown the card's tool and gets its refusals as results; any
    # other is refused before the tool runs (-32021, the extension it lacks).
    card_tool_shown = "answer_call_approval" in {t.name for t in (await mcp.list_tools()).tools}
    for value in sorted(values):
        arguments = {"approval_id": approval_id, "secret": value, "approve": True}
        if card_tool_shown:
            assert (await mcp.call_tool("answer_call_approval", arguments)).is_error
        else:
            with pytest.raises(MCPError) as refused:
                await mcp.call_tool("answer_call_approval", arguments)
            assert refused.value.error.code == MISSING_REQUIRED_CLIENT_CAPABILITY
    again = await mcp.call_tool("place_call", ADA_CALL)
    waited = await mcp.call_tool("wait_for_approval", {"approval_id": approval_id, "timeout_s": 1})

    record = await setup.server.runtime.approvals.store.get(approval_id)
    assert record is not None
    assert record.status == "pending"
    assert (waited.structured_content or {})["status"] == "pending"
    assert (again.structured_content or {}).get("placed") is False
    assert setup.calls_placed() == 0
    # Stateless HTTP on 2025-11-25 knows no client capabilities per request: those runs get (and attack) a link.
    stateless_legacy = setup.mcp_url is not None and client_mode == "legacy"
    expected = {"link": "link", "url": "url", "card": "app"}[channel]
    assert out["channel"] == ("link" if stateless_legacy else expected)
    assert bool(asked) is (channel == "url" and not stateless_legacy)
