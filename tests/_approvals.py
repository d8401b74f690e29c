"""Test helpers for approvals: a person answering the approval page over HTTP, and clients declaring channels."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Literal
from urllib.parse import urlsplit

import anyio
import httpx2
import mcp_types as types
from mcp.client import Client
from mcp.client.session import ClientRequestContext, ClientSession, ElicitationFnT

SECRET_FIELD = re.compile(r"name='secret' value='([^']+)'")


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


async def answer_page(url: str, choice: Literal["approve", "decline"]) -> httpx2.Response:
    """What a person's browser does: open the page (getting its cookie), then press a button (a same-origin POST)."""
    async with httpx2.AsyncClient(timeout=10) as http:
        page = await http.get(url)
        assert page.status_code == 200, page.text
        found = SECRET_FIELD.search(page.text)
        assert found is not None, page.text
        return await http.post(
            url,
            data={"secret": found.group(1), "answer": choice},
            headers={"origin": origin(url)},
            follow_redirects=True,
        )


@contextmanager
def declared_elicitation(capability: types.ElicitationCapability | None) -> Iterator[None]:
    """Clients built inside declare exactly ``capability`` for elicitation (the SDK's client declares form and url)."""
    original = ClientSession._build_capabilities

    def build(self: ClientSession, version: str) -> types.ClientCapabilities:
        caps = original(self, version)
        return caps.model_copy(update={"elicitation": capability})

    ClientSession._build_capabilities = build  # type: ignore[method-assign]
    try:
        yield
    finally:
        ClientSession._build_capabilities = original  # type: ignore[method-assign]


URL_ONLY = types.ElicitationCapability(url=types.UrlElicitationCapability())
# A person who fills in forms: the SDK's client declares URL elicitation too, which outranks form elicitation
# (README "Approval channels"), so tests about in-band confirmation declare form only.
FORM_ONLY = types.ElicitationCapability(form=types.FormElicitationCapability())


def text_of(result: Any) -> str:
    """Everything a model could read of a tool result: its text blocks and structured content."""
    parts = [getattr(c, "text", "") for c in result.content]
    return "\n".join(parts) + repr(result.structured_content)


@asynccontextmanager
async def form_client(target: Any, mode: str, person: ElicitationFnT) -> AsyncIterator[Client]:
    """A client whose ``person`` answers form questions, declaring form elicitation only."""
    with declared_elicitation(FORM_ONLY):
        async with Client(target, mode=mode, elicitation_callback=person) as client:
            yield client


async def approved_by_card(mcp: Client, tool: str, /, **args: Any) -> dict[str, Any]:
    """An MCP Apps host's person pressing Approve on the card (client proof): the dial's own result."""
    first = await mcp.call_tool(tool, args)
    out = first.structured_content or {}
    card = (first.meta or {})["kupe/approval"]
    answered = await mcp.call_tool(
        "answer_call_approval", {"approval_id": card["approval_id"], "secret": card["secret"], "approve": True}
    )
    assert not answered.is_error, answered.content
    done = await mcp.call_tool("wait_for_approval", {"approval_id": out["approval_id"], "timeout_s": 5})
    result = (done.structured_content or {})["result"]
    assert isinstance(result, dict), done.content
    return result


def on_the_page(choice: Literal["approve", "decline"]) -> ElicitationFnT:
    """A person at a client that elicits by URL: they open the page they are sent to and press ``choice`` there."""

    async def person(context: ClientRequestContext, params: types.ElicitRequestParams) -> types.ElicitResult:
        assert isinstance(params, types.ElicitRequestURLParams), params
        await answer_page(params.url, choice)
        return types.ElicitResult(action="accept")

    return person


def answering(action: Literal["decline", "cancel"]) -> ElicitationFnT:
    """A callback that answers every question ``action``, with no content (as if no one was shown it)."""

    async def answer(context: ClientRequestContext, params: types.ElicitRequestParams) -> types.ElicitResult:
        return types.ElicitResult(action=action)

    return answer


async def never_answering(context: ClientRequestContext, params: types.ElicitRequestParams) -> types.ElicitResult:
    """A client that declares elicitation but never shows the question (Claude Desktop's built-in agent)."""
    await anyio.sleep_forever()
    raise AssertionError("unreachable")


class Noting:
    """An elicitation callback that notes every question in ``asked``, then lets ``answer`` reply to it."""

    def __init__(self, answer: ElicitationFnT) -> None:
        self.asked: list[types.ElicitRequestParams] = []
        self.answer = answer

    async def __call__(
        self, context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult | types.ErrorData:
        self.asked.append(params)
        return await self.answer(context, params)
