"""Every tool, driven through a real MCP client on Kupe's answers as Kupe may send them (tests/fuzz/_answers.py).

Each tool is called with arguments that succeed on the sandbox's plain answers, then again for each kind of
spec-valid variant of every answer it reads (unknown fields, whole numbers as floats, nulls in maps, envelope
keys beside ``data``, list envelopes with their total, fields the spec declares, the spec's examples). A tool
fails when a variant makes it crash, return an error its plain run did not, emit structured content that
breaks its own outputSchema, or lose a field its plain result carried. The count of failing tools is 0 in
every toolset. Objects a call consumes (an agent to delete, a batch to start) are made afresh for each call.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
import jsonschema
import mcp_types as types
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from mcp.client import Client
from pydantic import SecretStr

from kupe_mcp.client import KupeClient
from kupe_mcp.config import Credentials, Settings
from kupe_mcp.sandbox import DEMO_BEARER_TOKEN, SandboxSettings, create_app
from kupe_mcp.sandbox import _seed as seed
from kupe_mcp.serve.server import create_server
from kupe_mcp.toolsets import TOOLSETS, select_tools
from tests._mcp import HTTP_TOOL, MCP_TOOL, say_yes
from tests._report import report
from tests.conftest import SANDBOX_URL
from tests.fuzz._answers import KINDS, LOSSLESS, vary

SPECS = select_tools(TOOLSETS, enabled=("all",), api_key_auth=False)
TOOLSET_OF = {spec.name: spec.toolset for spec in SPECS}
RULE = {"name": "Callback wanted", "prompt": "Callback?", "output_schema": {"type": "object", "properties": {}}}
VALUES = {"name": "Grace", "appointment_date": "Monday"}  # the demo agent's prompt uses both
RECIPIENTS = [{"phone_number": "+14155550199", "variables": VALUES}]
BATCH = {"phone_number_id": seed.IN_PHONE_ID, "agent_id": seed.DEMO_AGENT_ID, "variable_names": sorted(VALUES)}
AGENT, RULE_ID, USER, ORG = seed.DEMO_AGENT_ID, seed.DEMO_RULE_ID, seed.DEMO_USER_ID, seed.DEMO_ORG_ID

# Arguments per tool (or a list of argument sets, each run); "{name}" is made by MAKERS before each call
# (afresh when the call consumes it).
ARGS: dict[str, dict[str, Any] | list[dict[str, Any]]] = {
    "whoami": {},
    "get_credit_balance": {},
    "create_agent": {"name": "Varied", "system_prompt": "You are brief.", "welcome_message": "Hello."},
    "delete_agent": {"agent_id": "{new_agent}", "force": True},
    "get_agent": {"agent_id": AGENT},
    "list_agents": {},
    "list_providers": [{"kind": kind} for kind in ("all", "model", "stt", "tts", "vad", "noise")],
    "list_voices": {},
    "update_agent": {"agent_id": "{new_agent}", "system_prompt": "Be kind.", "force_update": True},
    "tune_agent": {"agent_id": "{new_agent}", "recording_enabled": True, "force_update": True},
    "get_phone_mapping": [{"phone_number_id": seed.IN_PHONE_ID}, {"agent_id": AGENT}],
    "list_phone_numbers": {},
    "map_phone": {"phone_number_id": seed.US_PHONE_ID, "agent_id": "{new_agent}"},
    "get_call_analytics": [{"page": 1, "page_size": 20}, {"page": 2, "page_size": 20}, {"request_id": "{call}"}],
    "get_call_transcript": {"request_id": "{call}"},
    "list_call_approvals": {},
    "place_call": {"phone_number": "{number}", "agent_id": AGENT, "variable_values": VALUES},
    "wait_for_call": {"request_id": "{call}", "timeout_s": 5},
    "attach_knowledge_file": {"agent_id": AGENT, "file_id": "{new_file}"},
    "delete_knowledge_file": {"file_id": "{new_file}"},
    "detach_knowledge_file": {"agent_id": AGENT, "file_id": "{attached_file}"},
    "get_knowledge_file": {"file_id": "{file}"},
    "list_agent_knowledge_files": {"agent_id": AGENT},
    "list_knowledge_files": {},
    "search_knowledge": {"agent_id": AGENT, "query": "refunds"},
    "upload_knowledge_file": {"content": "Refunds take 7 days.", "filename": "refunds.txt", "agent_id": AGENT},
    "add_batch_recipients": {"batch_id": "{new_batch}", "recipients": RECIPIENTS},
    "create_batch": {"name": "Varied", **BATCH},
    "get_batch": {"batch_id": "{batch}"},
    "list_batch_recipients": {"batch_id": "{batch}"},
    "list_batches": {},
    "start_batch": {"batch_id": "{new_filled_batch}"},
    "wait_for_batch": {"batch_id": "{batch}", "timeout_s": 5},
    "attach_tools_to_agent": {"agent_id": AGENT, "tools": [{"tool_id": "{http_tool}"}]},
    "create_http_tool": {"definition": HTTP_TOOL},
    "create_mcp_tool": {"definition": MCP_TOOL},
    "delete_http_tool": {"tool_id": "{new_http_tool}"},
    "delete_mcp_tool": {"tool_id": "{new_mcp_tool}"},
    "detach_tool_from_agent": {"agent_id": AGENT, "tool_id": "{attached_tool}"},
    "get_http_tool": {"tool_id": "{http_tool}"},
    "get_mcp_tool": {"tool_id": "{mcp_tool}"},
    "list_agent_tools": {"agent_id": AGENT},
    "list_http_tools": {},
    "list_mcp_tools": {},
    "replace_agent_tools": {"agent_id": "{new_agent}", "tools": [{"tool_id": "{http_tool}"}], "force_update": True},
    "update_http_tool": {"tool_id": "{http_tool}", "definition": {**HTTP_TOOL, "method": "POST"}},
    "update_mcp_tool": {"tool_id": "{mcp_tool}", "definition": MCP_TOOL},
    "create_analysis_rule": {"definition": RULE},
    "delete_analysis_rule": {"rule_id": "{new_rule}"},
    "duplicate_analysis_rule": {"rule_id": RULE_ID},
    "get_agent_post_analysis": {"agent_id": AGENT},
    "get_analysis_rule": {"rule_id": RULE_ID},
    "list_agent_analysis_rules": {"agent_id": AGENT},
    "list_analysis_rules": {},
    "set_agent_analysis_rules": {"agent_id": "{new_agent}", "rule_ids": [RULE_ID]},
    "set_agent_post_analysis": {"agent_id": AGENT, "config": {"prompt": "Summarise the call."}},
    "update_analysis_rule": {"rule_id": "{new_rule}", "definition": {"name": "Renamed"}},
    "get_agent_webhook": {"agent_id": AGENT},
    "list_webhooks": {},
    "rotate_webhook_secret": {"agent_id": AGENT},
    "set_agent_webhook": {"agent_id": AGENT, "config": {"outgoing": {"url": "https://crm.example.com/k"}}},
    "test_agent_webhook": {"agent_id": "{hooked_agent}"},
    "export_call_logs": {"request_id": "{call}"},
    "export_usage": {"from_date": "2020-01-01", "to_date": "2099-12-31"},
    "get_session_cost": {"session_id": "{session}"},
    "get_usage_overview": {},
    "get_usage_summary": {},
    "get_wallet": {},
    "list_usage_records": {},
    "adjust_wallet": {"wallet_id": "{wallet}", "amount_usd": 1.0, "reason": "Correction"},
    "check_api_key_exists": {"user_id": USER},
    "create_api_key": {"name": "varied"},
    "get_earnings": {},
    "get_earnings_breakdown": {},
    "get_feature_flags": {"user_id": USER},
    "get_my_feature_flags": {},
    "get_org_earnings": {"org_id": ORG},
    "get_wallet_ledger": {"wallet_id": "{wallet}"},
    "grant_wallet_credits": {"wallet_id": "{wallet}", "amount_usd": 1.0},
    "list_api_keys": {},
    "list_org_member_wallets": {"org_id": ORG},
    "list_org_wallets": {},
    "list_user_wallets": {},
    "list_users": {},
    "rename_api_key": {"key_id": "{new_key}", "name": "renamed"},
    "revoke_api_key": {"key_id": "{new_key}"},
    "set_org_business_model": {"org_id": ORG, "org_type": "channel_partner"},
    "set_org_commission": {"org_id": ORG, "commission_percentage": 10},
    "set_org_markup": {"org_id": ORG, "markup_percentage": 5, "currency": "USD"},
    "set_wallet_cap": {"wallet_id": "{wallet}", "monthly_cap_usd": 100},
    "update_feature_flags": {"user_id": USER, "flags": {"outbound": True}},
}
# Tools whose result never holds a Kupe answer until a person acts: driven, but they fail the same way plain.
NOT_EXERCISED = {"wait_for_approval": {"approval_id": "unknownapproval", "timeout_s": 1}}


class Varying(httpx2.AsyncBaseTransport):
    """The sandbox, with each 2xx JSON answer replaced by its variant ``kind`` (None: the plain answer)."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner
        self.kind: str | None = None
        self.varied: Counter[str] = Counter()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.inner.handle_async_request(request)
        if self.kind is None or not 200 <= response.status_code < 300:
            return response
        raw = await response.aread()
        if "json" not in response.headers.get("content-type", "") or not raw.strip():
            return response
        body, changed = vary(self.kind, request.method, request.url.path, json.loads(raw))
        if changed:
            self.varied[f"{self.kind}: {request.method} {request.url.path}"] += 1
        headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-encoding")}
        return httpx2.Response(response.status_code, headers=headers, json=body, request=request)


@dataclass
class Harness:
    portal: BlockingPortal
    mcp: Client
    transport: Varying
    tools: dict[str, types.Tool]
    numbers: Iterator[str]
    made: dict[str, str] = field(default_factory=dict)
    failures: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    stats: Counter[str] = field(default_factory=Counter)

    def call(self, tool: str, args: dict[str, Any], kind: str | None) -> types.CallToolResult:
        self.transport.kind = kind
        try:
            result: types.CallToolResult = self.portal.call(self.mcp.call_tool, tool, args)
            return result
        finally:
            self.transport.kind = None

    def plain(self, tool: str, **args: Any) -> dict[str, Any]:
        result = self.call(tool, args, None)
        assert not result.is_error, (tool, result.content)
        assert isinstance(result.structured_content, dict), (tool, result.content)
        return result.structured_content


def _numbers() -> Iterator[str]:
    for i in range(1000):  # the sandbox's carrier rejects numbers ending in 0000: these end in 17
        yield f"+9198451{i:03d}17"


Maker = Callable[[Harness], str]
_SHARED = {"batch", "file", "http_tool", "mcp_tool", "call", "session", "wallet", "hooked_agent"}


def _new_agent(h: Harness) -> str:
    return str(h.plain("create_agent", name="Made for a variant")["agent"]["id"])


def _new_batch(h: Harness) -> str:
    return str(h.plain("create_batch", name="Made", **BATCH)["id"])


def _new_filled_batch(h: Harness) -> str:
    batch_id = _new_batch(h)
    h.plain(
        "add_batch_recipients", batch_id=batch_id, recipients=[{"phone_number": next(h.numbers), "variables": VALUES}]
    )
    return batch_id


def _new_file(h: Harness) -> str:
    return str(h.plain("upload_knowledge_file", content="Refunds take 7 days.", filename="r.txt")["id"])


def _attached_file(h: Harness) -> str:
    file_id = _new_file(h)
    h.plain("attach_knowledge_file", agent_id=AGENT, file_id=file_id)
    return file_id


def _new_http_tool(h: Harness) -> str:
    return str(h.plain("create_http_tool", definition=HTTP_TOOL)["id"])


def _attached_tool(h: Harness) -> str:
    tool_id = _new_http_tool(h)
    h.plain("attach_tools_to_agent", agent_id=AGENT, tools=[{"tool_id": tool_id}])
    return tool_id


def _call(h: Harness) -> str:
    return str(
        h.plain("place_call", phone_number=next(h.numbers), agent_id=AGENT, variable_values=VALUES)["request_id"]
    )


def _session(h: Harness) -> str:
    rows = h.plain("list_usage_records")["items"]
    return str(rows[0]["session_id"])


def _hooked_agent(h: Harness) -> str:
    agent_id = _new_agent(h)
    h.plain("set_agent_webhook", agent_id=agent_id, config={"outgoing": {"url": "https://crm.example.com/k"}})
    return agent_id


MAKERS: dict[str, Maker] = {
    "new_agent": _new_agent,
    "hooked_agent": _hooked_agent,
    "new_batch": _new_batch,
    "batch": _new_filled_batch,
    "new_filled_batch": _new_filled_batch,
    "new_file": _new_file,
    "file": _new_file,
    "attached_file": _attached_file,
    "new_http_tool": _new_http_tool,
    "http_tool": _new_http_tool,
    "attached_tool": _attached_tool,
    "new_mcp_tool": lambda h: str(h.plain("create_mcp_tool", definition=MCP_TOOL)["id"]),
    "mcp_tool": lambda h: str(h.plain("create_mcp_tool", definition=MCP_TOOL)["id"]),
    "new_rule": lambda h: str(h.plain("create_analysis_rule", definition=RULE)["id"]),
    "new_key": lambda h: str(h.plain("create_api_key", name="made")["id"]),
    "call": _call,
    "session": _session,
    "wallet": lambda h: str(h.plain("get_wallet")["wallet_id"]),
    "number": lambda h: next(h.numbers),
}


def resolve(h: Harness, value: Any) -> Any:
    """Arguments with each "{name}" made: shared objects once, consumed ones for every call."""
    if isinstance(value, dict):
        return {k: resolve(h, v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(h, v) for v in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        name = value[1:-1]
        if name in _SHARED:
            if name not in h.made:
                h.made[name] = MAKERS[name](h)
            return h.made[name]
        return MAKERS[name](h)
    return value


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    app = create_app(SandboxSettings(call_step_s=0))
    transport = Varying(httpx2.ASGITransport(app=app))
    kupe = KupeClient(
        base_url=SANDBOX_URL, credentials=Credentials(bearer_token=SecretStr(DEMO_BEARER_TOKEN)), transport=transport
    )
    settings = Settings(
        toolsets=("all",),
        calling_hours="off",
        max_calls_per_hour=10_000,
        repeat_window_s=0,
        approval_proof="client",  # say_yes answers in-band; passkeys have their own tests
    )
    try:
        with (
            start_blocking_portal("asyncio") as portal,
            portal.wrap_async_context_manager(
                Client(create_server(settings, kupe), elicitation_callback=say_yes)
            ) as mcp,
        ):
            tools = {t.name: t for t in portal.call(mcp.list_tools).tools}
            h = Harness(portal, mcp, transport, tools, _numbers())
            yield h
            failing = {toolset: len(names) for toolset, names in sorted(h.failures.items())}
            report(
                "Tools on Kupe's answers as Kupe may send them (tests/fuzz/test_answers.py)",
                ", ".join(f"{k}: {v}" for k, v in sorted(h.stats.items()))
                + f"; answers varied: {sum(transport.varied.values())} ("
                + ", ".join(f"{kind} {n}" for kind, n in sorted(_per_kind(transport.varied).items()))
                + ")"
                + f"; failing tools per toolset: {failing or 0}",
            )
    finally:
        app.state.sandbox.store.close()


def _per_kind(varied: Counter[str]) -> Counter[str]:
    kinds: Counter[str] = Counter()
    for key, n in varied.items():
        kinds[key.split(":", 1)[0]] += n
    return kinds


def paths(value: Any, prefix: str = "") -> set[str]:
    """The paths of a result's non-null values, containers included (list positions folded): "did a field go"."""
    found = {prefix}
    if isinstance(value, dict):
        for k, v in value.items():
            if v is not None:
                found |= paths(v, f"{prefix}.{k}")
    elif isinstance(value, list):
        for v in value:
            found |= paths(v, f"{prefix}[]")
    return found


def problems(h: Harness, tool: str, plain: types.CallToolResult, varied: types.CallToolResult, kind: str) -> list[str]:
    text = "".join(getattr(c, "text", "") for c in varied.content)
    found = []
    if varied.is_error:
        bare = text.strip() in (f"Error executing tool {tool}", f"Error executing tool {tool}:")
        if "internal error" in text or "Traceback" in text or bare:
            found.append(f"{kind}: crashed: {text[:300]}")
        elif not plain.is_error:
            found.append(f"{kind}: an error its plain run did not give: {text[:300]}")
        return found
    schema = h.tools[tool].output_schema
    assert schema is not None, f"{tool} publishes no output schema"
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(varied.structured_content), key=str)
    if errors:
        found.append(f"{kind}: structured content breaks the outputSchema: {errors[0].message[:300]}")
    if kind in LOSSLESS and not plain.is_error:
        lost = paths(plain.structured_content) - paths(varied.structured_content)
        if lost:
            found.append(f"{kind}: lost {sorted(lost)[:5]}")
    return found


def test_every_served_tool_has_arguments_here(harness: Harness) -> None:
    assert set(harness.tools) - {"answer_call_approval"} == set(ARGS) | set(NOT_EXERCISED)


@pytest.mark.parametrize("tool", sorted(ARGS) + sorted(NOT_EXERCISED))
def test_the_tool_reads_every_spec_valid_variant_of_kupes_answers(harness: Harness, tool: str) -> None:
    h = harness
    chosen = ARGS.get(tool, NOT_EXERCISED.get(tool))
    assert chosen is not None
    found: list[str] = []
    for template in chosen if isinstance(chosen, list) else [chosen]:
        for kind in KINDS:
            plain = h.call(tool, resolve(h, template), None)
            if tool not in NOT_EXERCISED:
                assert not plain.is_error, (tool, plain.content)  # the comparison needs a plain result
            varied = h.call(tool, resolve(h, template), kind)
            found += problems(h, tool, plain, varied, kind)
            h.stats["calls"] += 2
    h.stats["tools"] += 1
    if found:
        h.failures[TOOLSET_OF.get(tool, "?")].append(tool)
    assert not found, (tool, found)
