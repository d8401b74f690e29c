"""A scripted fake Kupe for ``httpx2.MockTransport`` and a client wired to it (no network)."""

from __future__ import annotations

import email.parser
import email.policy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
from pydantic import SecretStr

from kupe_mcp.client import KupeClient
from kupe_mcp.config import Credentials

BASE_URL = "https://api.kupe.test"
# Distinctive values, so a leak is found by a plain substring search.
API_KEY = "kupe_sk_TESTSECRET_7f3a9c1e"
BEARER_TOKEN = "eyJhbGciOiJIUzI1NiJ9.TESTSESSION.c2lnbmF0dXJl"

CREDENTIALS = {
    "api_key": Credentials(api_key=SecretStr(API_KEY)),
    "bearer": Credentials(bearer_token=SecretStr(BEARER_TOKEN)),
}

Reply = httpx2.Response | Exception


class FakeKupe:
    """Records every request and answers from a script; the last reply repeats."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = replies or (httpx2.Response(200, json={}),)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        reply = self.replies[min(len(self.requests), len(self.replies)) - 1]
        if isinstance(reply, Exception):
            raise reply
        return reply


class Sleeps(list[float]):
    """Stands in for ``anyio.sleep``: records each back-off instead of waiting."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@asynccontextmanager
async def kupe_client(
    fake: FakeKupe, *, credentials: Credentials | None = None, sleep: Sleeps | None = None
) -> AsyncIterator[KupeClient]:
    client = KupeClient(
        base_url=BASE_URL,
        credentials=credentials or CREDENTIALS["api_key"],
        transport=httpx2.MockTransport(fake),
        sleep=sleep if sleep is not None else Sleeps(),
    )
    try:
        yield client
    finally:
        await client.aclose()


def raw_path(request: httpx2.Request) -> str:
    """The path exactly as sent on the wire (percent-encoding kept)."""
    return request.url.raw_path.split(b"?", 1)[0].decode("ascii")


def query_of(request: httpx2.Request) -> dict[str, str]:
    items = request.url.params.multi_items()
    query = dict(items)
    assert len(query) == len(items), f"repeated query parameter in {items}"
    return query


def multipart_parts(request: httpx2.Request) -> dict[str, tuple[str | None, str, bytes]]:
    """``{field name: (filename, content type, content)}`` of a multipart/form-data request."""
    ctype = request.headers["content-type"]
    assert ctype.startswith("multipart/form-data"), ctype
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + request.content
    )
    parts: dict[str, tuple[str | None, str, bytes]] = {}
    for part in message.iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        payload: Any = part.get_payload(decode=True)
        parts[name] = (part.get_filename(), part.get_content_type(), bytes(payload))
    return parts


CALL_OK = {
    "status": "success",
    "request_id": "req-1",
    "call_session_id": "sess-1",
    "user_id": "user-1",
    "telephony_provider": "pstn",
    "target_number": "+15551234567",
}
"""create_call's documented success answer."""
