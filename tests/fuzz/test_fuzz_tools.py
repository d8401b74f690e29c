"""Every tool, fuzzed from its own ``inputSchema``: valid arguments and near-misses, through an in-memory client.

The server holds every toolset and a super_admin Bearer session (so the admin tools are served too) on a fresh
sandbox. For every call: no protocol error, no unhandled exception (the SDK's bare "Error executing tool X" or
kupe-app-mcp's "internal error ... (ref ...)"), every tool publishes an output schema with named fields
and every success's structuredContent validates against it; and a near-miss is
refused without any write (non-GET request) reaching the sandbox. Examples are derandomized for CI stability.
"""

from __future__ import annotations

import inspect
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
import jsonschema
import mcp_types as types
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp.client import Client
from pydantic import SecretStr

from kupe_mcp.client import KupeClient
from kupe_mcp.config import Credentials, Settings
from kupe_mcp.sandbox import DEMO_BEARER_TOKEN, Sandbox, SandboxSettings, create_app
from kupe_mcp.sandbox import _seed as seed
from kupe_mcp.serve.server import create_server
from kupe_mcp.toolsets import TOOLSETS, select_tools
from tests._report import report
from tests.conftest import SANDBOX_URL
from tests.fuzz._schema import FORMATS, json_types, near_miss, valid

EXAMPLES = 20  # per tool and kind: about 3,300 calls in all
SPECS = select_tools(TOOLSETS, enabled=("all",), api_key_auth=False)
TOOL_NAMES = [t.name for t in SPECS]
# Tools that take arguments (besides the MCP context): only those can be called one mistake away from valid.
WITH_ARGUMENTS = [t.name for t in SPECS if set(inspect.signature(t.fn).parameters) - {"ctx"}]
SEED_IDS = [
    seed.DEMO_USER_ID, seed.DEMO_ORG_ID, seed.DEMO_AGENT_ID, seed.DEMO_RULE_ID, seed.IN_PHONE_ID, seed.US_PHONE_ID,
]  # fmt: skip
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


class ErrorRecords(logging.Handler):
    """Error-level log records (an exception the SDK or kupe-app-mcp logged while answering)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Harness:
    portal: BlockingPortal
    mcp: Client
    sandbox: Sandbox
    tools: dict[str, types.Tool]
    errors: ErrorRecords
    stats: Counter[str] = field(default_factory=Counter)

    def call(self, tool: str, args: dict[str, Any]) -> tuple[types.CallToolResult, list[str]]:
        """Call ``tool``; return its result and the methods of the requests it sent to the sandbox."""
        before = len(self.sandbox.request_log)
        result = self.portal.call(self.mcp.call_tool, tool, args)
        return result, [method for method, _ in self.sandbox.request_log[before:]]


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    app = create_app(SandboxSettings(call_step_s=0))
    kupe = KupeClient(
        base_url=SANDBOX_URL,
        credentials=Credentials(bearer_token=SecretStr(DEMO_BEARER_TOKEN)),
        transport=httpx2.ASGITransport(app=app),
    )
    server = create_server(Settings(toolsets=("all",)), kupe)
    errors = ErrorRecords()
    logging.getLogger().addHandler(errors)
    try:
        with start_blocking_portal("asyncio") as portal, portal.wrap_async_context_manager(Client(server)) as mcp:
            tools = {t.name: t for t in portal.call(mcp.list_tools).tools}
            h = Harness(portal, mcp, app.state.sandbox, tools, errors)
            yield h
            report(
                "Fuzzing every tool's inputSchema (tests/fuzz)",
                ", ".join(f"{k}: {v}" for k, v in sorted(h.stats.items())),
            )
    finally:
        logging.getLogger().removeHandler(errors)
        app.state.sandbox.store.close()


def unhandled(result: types.CallToolResult, tool: str) -> str | None:
    """Why ``result`` shows an unhandled exception, or None."""
    text = "".join(getattr(c, "text", "") for c in result.content)
    if not result.is_error:
        return None
    if text.strip() in (f"Error executing tool {tool}", f"Error executing tool {tool}:"):
        return f"bare SDK error: {text!r}"
    if "internal error" in text or "Traceback" in text:
        return f"internal error: {text!r}"
    return None


def check_common(h: Harness, tool: str, args: dict[str, Any], result: types.CallToolResult) -> None:
    assert unhandled(result, tool) is None, (tool, args, unhandled(result, tool))
    assert not h.errors.records, (tool, args, [r.getMessage() for r in h.errors.records])
    if not result.is_error:
        assert isinstance(result.structured_content, dict), (tool, args, result.content)
        schema = h.tools[tool].output_schema
        assert schema is not None, f"{tool} publishes no output schema"
        assert schema.get("properties"), f"{tool} publishes an output schema without fields"
        jsonschema.validate(result.structured_content, schema, cls=jsonschema.Draft202012Validator)
        h.stats["outputs validated"] += 1


def checker(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema, format_checker=FORMATS)


def can_miss(schema: dict[str, Any]) -> bool:
    """Whether arguments can be one mistake away: some argument has a type (or a required argument exists)."""
    every = {"string", "number", "integer", "boolean", "array", "object", "null"}
    props: dict[str, Any] = schema.get("properties", {})
    return bool(schema.get("required")) or any(json_types(s, schema) != every for s in props.values())


def test_the_fuzzer_covers_every_served_tool(harness: Harness) -> None:
    # answer_call_approval is the approval card's app-only button (it needs the card's secret), not a toolset tool.
    assert set(harness.tools) - {"answer_call_approval"} == set(TOOL_NAMES)
    assert {"adjust_wallet", "place_call", "start_batch", "update_feature_flags"} <= set(TOOL_NAMES)


@pytest.mark.parametrize("tool", TOOL_NAMES)
@FUZZ
@given(data=st.data())
def test_valid_arguments_get_a_result_or_an_actionable_error(harness: Harness, tool: str, data: st.DataObject) -> None:
    schema = harness.tools[tool].input_schema
    args = data.draw(valid(schema, ids=SEED_IDS), label="arguments")
    assert checker(schema).is_valid(args), f"the generator drew invalid arguments: {args}"
    result, _ = harness.call(tool, args)
    check_common(harness, tool, args, result)
    harness.stats["valid calls"] += 1
    harness.stats["valid: isError" if result.is_error else "valid: success"] += 1


@pytest.mark.parametrize("tool", WITH_ARGUMENTS)
@FUZZ
@given(data=st.data())
def test_near_miss_arguments_are_refused_before_any_write(harness: Harness, tool: str, data: st.DataObject) -> None:
    schema = harness.tools[tool].input_schema
    assert can_miss(schema), f"{tool} takes no argument that can be wrong"
    args = data.draw(near_miss(schema), label="arguments")
    assert not checker(schema).is_valid(args), f"the generator drew valid arguments: {args}"
    result, methods = harness.call(tool, args)
    check_common(harness, tool, args, result)
    assert result.is_error, (tool, args, result.structured_content)
    writes = [m for m in methods if m != "GET"]
    assert not writes, (tool, args, writes)
    harness.stats["near-miss calls"] += 1


def test_a_number_for_a_date_time_argument_is_refused_before_any_write(harness: Harness) -> None:
    args = {"wallet_id": seed.DEMO_USER_ID, "amount_usd": 1.0, "expires_at": 7}
    assert not checker(harness.tools["grant_wallet_credits"].input_schema).is_valid(args)
    result, methods = harness.call("grant_wallet_credits", args)
    assert result.is_error
    assert methods == [] or set(methods) == {"GET"}
