"""A name the server does not have (prompt, resource, template, tool) is the caller's mistake: -32602 (an isError
result for a tool) that names it and lists what exists, in both protocol generations; never -32603 and a traceback.

The HTTP tests send the 2026-07-28 wire by hand, as the conformance suite does, to see the status code too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx2
import mcp_types as types
import pytest
from mcp.client import Client
from mcp.server.apps import EXTENSION_ID
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, MISSING_REQUIRED_CLIENT_CAPABILITY
from pydantic import SecretStr

from kupe_mcp._loopback import LoopbackServer
from kupe_mcp.config import Settings
from kupe_mcp.sandbox import DEMO_API_KEY, SandboxServer, SandboxSettings
from kupe_mcp.serve.server import build_client, create_server
from kupe_mcp.serve.transports import http_app
from tests._mcp import fail

pytestmark = pytest.mark.anyio

PROMPTS = "design_voice_agent, review_call, plan_campaign"
TEMPLATES = "kupe://agents/{agent_id}, kupe://calls/{request_id}, kupe://calls/{request_id}/transcript"


async def refused(request: Any) -> types.ErrorData:
    with pytest.raises(MCPError) as caught:
        await request
    return caught.value.error


async def test_an_unknown_prompt_is_invalid_params_naming_it_and_the_prompts_there_are(
    mcp: Client, caplog: pytest.LogCaptureFixture
) -> None:
    error = await refused(mcp.get_prompt("test_simple_prompt", {}))
    assert error.code == INVALID_PARAMS
    assert error.message == f"Unknown prompt: test_simple_prompt. The prompts are {PROMPTS}."
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_prompt_without_its_required_argument_or_with_a_stray_one_is_invalid_params_naming_its_arguments(
    mcp: Client,
) -> None:
    missing = await refused(mcp.get_prompt("plan_campaign", {"goal": "remind patients"}))
    stray = await refused(mcp.get_prompt("design_voice_agent", {"goal": "book visits", "tone": "warm"}))
    assert (missing.code, missing.message) == (
        INVALID_PARAMS,
        "Prompt plan_campaign needs agent_id: its arguments are agent_id, goal.",
    )
    assert (stray.code, stray.message) == (
        INVALID_PARAMS,
        "Prompt design_voice_agent has no argument tone: its arguments are goal, language.",
    )


async def test_completion_for_an_unknown_prompt_or_template_is_invalid_params_naming_the_ones_there_are(
    mcp: Client,
) -> None:
    argument = {"name": "agent_id", "value": ""}
    prompt = await refused(mcp.complete(types.PromptReference(type="ref/prompt", name="nope"), argument))
    template = types.ResourceTemplateReference(type="ref/resource", uri="kupe://agent/{agent_id}")
    resource = await refused(mcp.complete(template, argument))
    assert (prompt.code, prompt.message) == (INVALID_PARAMS, f"Unknown prompt: nope. The prompts are {PROMPTS}.")
    assert resource.code == INVALID_PARAMS
    assert resource.message.startswith(
        f"Unknown resource template: kupe://agent/{{agent_id}}. The resource templates are {TEMPLATES}"
    )


async def test_completion_of_an_argument_that_has_no_suggestions_is_an_empty_list(mcp: Client) -> None:
    ref = types.PromptReference(type="ref/prompt", name="design_voice_agent")
    done = await mcp.complete(ref, {"name": "goal", "value": "bo"})
    assert done.completion.values == []


async def test_an_unknown_resource_is_invalid_params_naming_it_and_listing_the_resources_and_templates(
    mcp: Client,
) -> None:
    error = await refused(mcp.read_resource("test://static-text"))
    assert error.code == INVALID_PARAMS
    assert error.data == {"uri": "test://static-text"}
    assert error.message.startswith("Unknown resource: test://static-text. The resources are kupe://catalog/providers")
    assert TEMPLATES in error.message


async def test_an_unknown_tool_names_the_tools_there_are_but_not_the_cards_own(mcp: Client) -> None:
    text = await fail(mcp, "test_simple_text")
    assert text.startswith("Unknown tool: test_simple_text. The tools are get_credit_balance, whoami, ")
    assert "place_call" in text
    assert "answer_call_approval" not in text


# -- the 2026-07-28 wire over HTTP: the status code goes with the JSON-RPC error ---------------------------------

MODERN = "2026-07-28"


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """kupe-app-mcp with a key over loopback HTTP, talking to the sandbox over its own socket."""
    with SandboxServer(SandboxSettings(call_step_s=0)) as sandbox:
        config = Settings(
            base_url=sandbox.base_url, credentials={"api_key": SecretStr(DEMO_API_KEY)}, toolsets=("all",)
        )
        server = create_server(config, build_client(config))
        with LoopbackServer(http_app(server, config, host="127.0.0.1", multi_tenant=False), lifespan="on") as srv:
            yield f"{srv.base_url}/mcp"


async def post_modern(url: str, method: str, params: dict[str, Any], name: str) -> httpx2.Response:
    """One stateless request with the envelope 2026-07-28 requires (headers and the reserved ``_meta`` keys)."""
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "0"},
    }
    headers = {
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
        "mcp-protocol-version": MODERN,
        "mcp-method": method,
        "mcp-name": name,
    }
    body = {"jsonrpc": "2.0", "id": 7, "method": method, "params": {**params, "_meta": meta}}
    async with httpx2.AsyncClient(timeout=30) as http:
        return await http.post(url, json=body, headers=headers)


async def test_an_unknown_prompt_over_http_is_a_400_with_invalid_params(served: str) -> None:
    response = await post_modern(served, "prompts/get", {"name": "test_simple_prompt"}, "test_simple_prompt")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == INVALID_PARAMS


async def test_the_card_tool_without_mcp_apps_over_http_is_a_400_missing_client_capability(served: str) -> None:
    args = {"approval_id": "a" * 16, "secret": "s" * 32, "approve": True}
    response = await post_modern(
        served, "tools/call", {"name": "answer_call_approval", "arguments": args}, "answer_call_approval"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == MISSING_REQUIRED_CLIENT_CAPABILITY
    assert error["data"] == {"requiredCapabilities": {"extensions": {EXTENSION_ID: {}}}}
