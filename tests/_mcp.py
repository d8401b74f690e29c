"""Calling tools in tests: ``call`` for calls that must succeed, ``fail`` for calls that must be refused.

``say_yes`` is an elicitation callback for a person who confirms every call they are asked about.
"""

from __future__ import annotations

from typing import Any

import mcp_types as types
from mcp.client import Client
from mcp.client.session import ClientRequestContext

# A bare JSON-RPC initialize, for tests that speak streamable HTTP by hand (gates, headers, status codes).
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
}
STREAM_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
# Integration definitions the sandbox accepts: an HTTP tool and an MCP server tool for an agent to use.
HTTP_TOOL = {
    "name": "lookup_order",
    "description": "Look up an order by number.",
    "url": "https://crm.example.com/orders",
    "method": "GET",
    "tool_schema": {"type": "object", "properties": {"order_id": {"type": "string"}}},
}
MCP_TOOL = {"name": "crm", "server_url": "https://mcp.example.com/mcp", "transport": "streamable_http"}


async def call(mcp: Client, tool: str, /, **args: Any) -> dict[str, Any]:
    """Call a tool that must succeed; return its structured content."""
    result = await mcp.call_tool(tool, args)
    assert not result.is_error, result.content
    content = result.structured_content
    assert isinstance(content, dict), result.content
    return content


async def fail(mcp: Client, tool: str, /, **args: Any) -> str:
    """Call a tool that must fail; return its error text."""
    result = await mcp.call_tool(tool, args)
    assert result.is_error, result.structured_content
    text = result.content[0].text  # type: ignore[union-attr]
    assert isinstance(text, str)
    return text


async def new_batch(mcp: Client, name: str, recipients: list[dict[str, Any]] | None = None, **options: Any) -> str:
    """A campaign ``name`` for the demo agent from the demo Indian line, whose recipients give ``name`` and
    ``appointment_date``; ``recipients`` are added when given, and it is not started. Its id."""
    from kupe_mcp.sandbox._seed import DEMO_AGENT_ID, IN_PHONE_ID

    created = await call(
        mcp,
        "create_batch",
        name=name,
        phone_number_id=IN_PHONE_ID,
        agent_id=DEMO_AGENT_ID,
        variable_names=["name", "appointment_date"],
        **options,
    )
    batch_id = created.get("id")
    assert isinstance(batch_id, str), created
    if recipients:
        await call(mcp, "add_batch_recipients", batch_id=batch_id, recipients=recipients)
    return batch_id


async def say_yes(context: ClientRequestContext, params: types.ElicitRequestParams) -> types.ElicitResult:
    """A person who ticks "confirm" on every question (call and batch confirmations), and approves on the page a
    client opens for them (URL elicitation ranks before a form question)."""
    if isinstance(params, types.ElicitRequestURLParams):
        from tests._approvals import answer_page

        await answer_page(params.url, "approve")
        return types.ElicitResult(action="accept")
    return types.ElicitResult(action="accept", content={"confirm": True})


def exception_texts(error: BaseException) -> list[str]:
    """Every text an exception chain can show (str, repr, args, attributes), for secret-leak checks."""
    texts: list[str] = []
    seen: BaseException | None = error
    while seen is not None:
        texts += [str(seen), repr(seen), repr(seen.args), repr(vars(seen))]
        seen = seen.__cause__ or seen.__context__
    return texts


def plain_demo_agent(app: Any) -> None:
    """Strip the sandbox demo agent's {{placeholders}}: for tests about the confirmation flow, not prompt
    variables (which the seeded prompt uses; tests/protocol/test_call_checks.py tests those)."""
    from kupe_mcp.sandbox._seed import DEMO_AGENT_ID

    store = app.state.sandbox.store
    agent = store.get("agent", DEMO_AGENT_ID)
    agent["agent"]["first_response_message"] = "Hello, this is Asha from Sunrise Dental Clinic."
    agent["configurations"]["model_config"]["system_prompt"] = "You are Asha, a friendly appointment assistant."
    store.put("agent", agent)
