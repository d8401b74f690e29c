"""The tool registry: every tool declared completely, and configuration filters applied in a fixed order."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import SecretStr

from kupe_mcp import toolsets
from kupe_mcp.config import DEFAULT_TOOLSETS, Credentials, Settings
from kupe_mcp.errors import ConfigError
from kupe_mcp.serve.server import VIEW_TOOLSETS, create_server, selected_tools, served_views
from kupe_mcp.toolsets import APP_TOOLS, TOOLSETS, Toolset, validate_registry


def test_registry_declarations_have_unique_snake_case_names_descriptions_and_toolsets() -> None:
    assert validate_registry(TOOLSETS) == []


# Every write tool's (destructive, idempotent), reviewed one by one: a host asks the person before a destructive
# tool and may retry an idempotent one, so a wrong value here is a safety defect, not a typo.
WRITE_TOOLS = {
    "create_agent": (False, False),
    "update_agent": (False, True),
    "delete_agent": (True, True),
    "tune_agent": (False, True),
    "map_phone": (False, True),
    "place_call": (False, False),
    "wait_for_approval": (False, True),
    "upload_knowledge_file": (False, False),
    "delete_knowledge_file": (True, True),
    "attach_knowledge_file": (False, True),
    "detach_knowledge_file": (True, True),
    "create_batch": (False, False),
    "add_batch_recipients": (False, False),
    "start_batch": (True, False),
    "create_http_tool": (False, False),
    "update_http_tool": (False, True),
    "delete_http_tool": (True, True),
    "create_mcp_tool": (False, False),
    "update_mcp_tool": (False, True),
    "delete_mcp_tool": (True, True),
    "attach_tools_to_agent": (False, False),
    "replace_agent_tools": (True, True),
    "detach_tool_from_agent": (True, True),
    "create_analysis_rule": (False, False),
    "update_analysis_rule": (False, True),
    "delete_analysis_rule": (True, True),
    "duplicate_analysis_rule": (False, False),
    "set_agent_post_analysis": (False, True),
    "set_agent_analysis_rules": (True, True),
    "set_agent_webhook": (False, True),
    "rotate_webhook_secret": (True, False),
    "test_agent_webhook": (False, False),
    "grant_wallet_credits": (True, False),
    "set_wallet_cap": (False, True),
    "adjust_wallet": (True, False),
    "set_org_business_model": (False, True),
    "set_org_commission": (False, True),
    "set_org_markup": (False, True),
    "update_feature_flags": (False, True),
    "create_api_key": (False, False),
    "rename_api_key": (False, True),
    "revoke_api_key": (True, True),
}


def test_every_write_tool_declares_the_reviewed_destructive_and_idempotent_values() -> None:
    writes = {s.name: (s.destructive, s.idempotent) for t in TOOLSETS for s in t.tools if not s.read_only}
    assert writes == WRITE_TOOLS


def test_the_approval_cards_button_is_a_local_idempotent_non_destructive_app_only_write() -> None:
    (button,) = APP_TOOLS.tools
    assert button.name == "answer_call_approval"
    assert (button.read_only, button.destructive, button.idempotent, button.open_world) == (False, False, True, False)
    assert button.meta == {"ui": {"resourceUri": "ui://kupe/approval-card.html", "visibility": ["app"]}}


def test_every_read_only_tool_is_annotated_non_destructive_and_idempotent() -> None:
    reads = [s for t in TOOLSETS for s in t.tools if s.read_only]
    assert len(reads) + len(WRITE_TOOLS) == sum(len(t.tools) for t in TOOLSETS)
    for spec in reads:
        a = spec.annotations
        assert (a.read_only_hint, a.destructive_hint, a.idempotent_hint) == (True, False, True), spec.name


def test_a_write_tool_that_leaves_out_destructive_or_idempotent_is_refused_at_declaration() -> None:
    toolset = Toolset("scratch", "Tools declared only by this test.")

    async def erase(ctx: object) -> None:
        """Erase something, to see that the registry insists on the write tool's hints."""

    with pytest.raises(TypeError, match="destructive= and idempotent="):
        toolset.tool(title="Erase", read_only=False, idempotent=True)(erase)
    with pytest.raises(TypeError, match="destructive= and idempotent="):
        toolset.tool(title="Erase", read_only=False, destructive=True)(erase)
    with pytest.raises(TypeError, match="takes no destructive="):
        toolset.tool(title="Erase", read_only=True, destructive=False)(erase)
    assert toolset.tools == []


def test_default_toolsets_are_the_documented_five() -> None:
    assert [t.name for t in TOOLSETS if t.default] == ["account", "agents", "phone", "calls", "knowledge"]
    assert {s.toolset for s in selected_tools(Settings())} == {"account", "agents", "phone", "calls", "knowledge"}


def test_admin_toolset_is_never_on_by_default() -> None:
    (admin,) = [t for t in TOOLSETS if t.name == "admin"]
    assert (admin.default, admin.bearer_only) == (False, True)
    assert "admin" not in {s.toolset for s in selected_tools(Settings())}


def test_read_only_mode_keeps_only_tools_annotated_read_only_whatever_else_is_configured() -> None:
    tools = selected_tools(Settings(toolsets=("all",), read_only=True))
    assert tools
    assert all(spec.read_only for spec in tools)
    assert "place_call" not in {s.name for s in tools}
    assert "get_agent" in {s.name for s in tools}


def test_selected_tools_are_sorted_by_toolset_then_name() -> None:
    tools = selected_tools(Settings(toolsets=("all",)))
    order = [t.name for t in TOOLSETS]
    keys = [(order.index(s.toolset), s.name) for s in tools]
    assert keys == sorted(keys)


def test_exclude_tools_removes_the_named_tools() -> None:
    names = {s.name for s in selected_tools(Settings(exclude_tools=("place_call", "delete_agent")))}
    assert "place_call" not in names
    assert "delete_agent" not in names
    assert "get_agent" in names


def test_unknown_toolset_stops_start_up_listing_the_valid_ones() -> None:
    with pytest.raises(ConfigError) as err:
        selected_tools(Settings(toolsets=("agents", "nope")))
    assert "nope" in str(err.value)
    assert "knowledge" in str(err.value)


def test_unknown_excluded_tool_stops_start_up_listing_the_valid_ones() -> None:
    with pytest.raises(ConfigError) as err:
        selected_tools(Settings(exclude_tools=("no_such_tool",)))
    assert "no_such_tool" in str(err.value)
    assert "whoami" in str(err.value)


def test_api_key_credentials_leave_the_session_only_admin_toolset_out_of_all() -> None:
    names = {s.toolset for s in selected_tools(Settings(toolsets=("all",)), api_key_auth=True)}
    assert "admin" not in names
    assert "billing" in names
    assert "admin" in {s.toolset for s in selected_tools(Settings(toolsets=("all",)), api_key_auth=False)}


def test_naming_the_admin_toolset_with_an_api_key_stops_start_up() -> None:
    with pytest.raises(ConfigError, match="KUPE_BEARER_TOKEN"):
        selected_tools(Settings(toolsets=("admin",)), api_key_auth=True)


@pytest.mark.anyio
async def test_id_arguments_use_one_name_per_kind_of_id_across_every_tool() -> None:
    settings = Settings(toolsets=("all",), credentials=Credentials(bearer_token=SecretStr("t")))
    tools = await create_server(settings).list_tools()
    ids: dict[str, set[str]] = {}
    for tool in tools:
        for arg, schema in tool.input_schema.get("properties", {}).items():
            if arg.endswith("_id"):
                ids.setdefault(arg, set()).add(tool.name)
            # A phone line, a call, an agent or a batch is always passed under its one name.
            text = str(schema.get("description", ""))
            for source, name in (
                ("list_phone_numbers", "phone_number_id"),
                ("list_batches", "batch_id"),
                ("list_knowledge_files", "file_id"),
            ):
                if source in text and arg.endswith("_id"):
                    assert arg == name, (tool.name, arg)
    assert set(ids) == {
        "agent_id",
        "approval_id",
        "background_noise_id",  # tune_agent: Kupe's own name for a noise-assets id (a catalog entry, not an object)
        "batch_id",
        "file_id",
        "key_id",
        "org_id",
        "phone_number_id",
        "provider_id",
        "request_id",
        "rule_id",
        "session_id",
        "tool_id",
        "user_id",
        "wallet_id",
        "workflow_id",
    }
    assert "create_batch" in ids["phone_number_id"]  # was caller_phone_id


def test_the_static_toolset_names_and_view_table_agree_with_the_registry() -> None:
    assert tuple(t.name for t in TOOLSETS) == toolsets.NAMES
    assert {t.name for t in TOOLSETS if t.bearer_only} == toolsets.BEARER_ONLY
    viewed = {spec.name: spec for t in TOOLSETS for spec in t.tools if spec.view}
    assert {name: (spec.toolset, spec.read_only) for name, spec in viewed.items()} == VIEW_TOOLSETS


@pytest.mark.parametrize(
    "settings",
    [
        Settings(),
        Settings(toolsets=("all",)),
        Settings(toolsets=("all",), read_only=True),
        Settings(toolsets=("campaigns", "billing")),
        Settings(toolsets=("agents",)),
        Settings(toolsets=(" calls ", "")),
    ],
    ids=["default", "all", "all-read-only", "campaigns-billing", "agents", "spaces"],
)
@pytest.mark.parametrize("api_key_auth", [True, False], ids=["api-key", "session"])
def test_the_views_known_without_the_toolset_modules_are_those_the_selection_serves(
    settings: Settings, api_key_auth: bool
) -> None:
    selected = {s.name for s in selected_tools(settings, api_key_auth=api_key_auth) if s.view}
    assert served_views(settings, api_key_auth) == selected


def test_settings_only_the_registry_can_judge_are_left_to_it() -> None:
    assert served_views(Settings(exclude_tools=("place_call",)), False) is None
    assert served_views(Settings(toolsets=("nope",)), False) is None
    assert served_views(Settings(toolsets=("admin",)), True) is None


def run_fresh(script: str) -> str:
    """What ``script`` prints in a fresh interpreter without KUPE_ variables, after building stdio settings ``s``
    (with ``sys``, ``create_server``, ``build_client`` and ``tool_manager`` imported)."""
    prelude = (
        "import sys\n"
        "from kupe_mcp.config import Settings\n"
        "from kupe_mcp.serve.server import build_client, create_server\n"
        "from kupe_mcp.serve._sdk import tool_manager\n"
        "s = Settings.from_env({'KUPE_API_KEY': 'x'})\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUPE_")}
    command = [sys.executable, "-c", prelude + script]
    return subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout  # noqa: S603


def test_the_stdio_server_imports_no_toolset_module_to_start_and_only_the_served_ones_to_list_tools() -> None:
    printed = run_fresh(
        "server = create_server(s, build_client(s))\n"
        "loaded = lambda: sorted(m for m in sys.modules if m.startswith('kupe_mcp.toolsets.') and '._' not in m)\n"
        "print(loaded())\n"
        "tool_manager(server).list_tools()\n"
        "print(loaded())\n"
    )
    before, after = printed.splitlines()
    assert before == "[]"
    assert after == str([f"kupe_mcp.toolsets.{name}" for name in sorted(DEFAULT_TOOLSETS)])


def test_the_call_path_loads_with_the_call_tools_not_when_the_stdio_server_starts() -> None:
    printed = run_fresh(
        "server = create_server(s, build_client(s))\n"
        "path = ['kupe_mcp.safety.' + m for m in ('ask', 'gate', 'outcomes', 'subjects', 'preview', 'idempotency')]\n"
        "print([m for m in path if m in sys.modules])\n"
        "tool_manager(server).list_tools()\n"
        "print([m for m in path if m in sys.modules])\n"
    )
    before, after = printed.splitlines()
    assert before == "[]"
    assert after == str(
        [f"kupe_mcp.safety.{m}" for m in ("ask", "gate", "outcomes", "subjects", "preview", "idempotency")]
    )


def test_answering_initialize_loads_no_call_safety_prompt_resource_or_install_module() -> None:
    printed = run_fresh(
        "import anyio\n"
        "from mcp.client import Client\n"
        "server = create_server(s, build_client(s))\n"
        "async def opening() -> None:\n"
        "    async with Client(server) as mcp:\n"
        "        print(mcp.server_info.name)\n"
        "anyio.run(opening)\n"
        "later = ['kupe_mcp.safety.' + m for m in ('channels', 'page', 'passkeys', 'approvals', 'context')]\n"
        "later += ['kupe_mcp.prompts', 'kupe_mcp.resources', 'kupe_mcp.dist.install', 'kupe_mcp.toolsets._wait']\n"
        "print([m for m in later if m in sys.modules])\n"
    )
    name, loaded = printed.splitlines()
    assert name == "kupe-app-mcp"
    assert loaded == "[]"


def test_a_docstring_wrapped_mid_sentence_becomes_one_line_per_paragraph() -> None:
    from kupe_mcp.toolsets import Toolset

    toolset = Toolset("t", "test")

    @toolset.tool(title="T", read_only=True)
    async def wrapped() -> None:
        """First sentence that the source
        wraps here. Second.

        Another paragraph,
        also wrapped.
        """

    assert toolset.tools[0].description == (
        "First sentence that the source wraps here. Second.\n\nAnother paragraph, also wrapped."
    )


def test_phonenumbers_loads_when_a_number_is_first_checked_not_when_the_server_starts_or_lists_tools() -> None:
    printed = run_fresh(
        "from kupe_mcp.safety import rules as guards\n"
        "tool_manager(create_server(s, build_client(s))).list_tools()\n"
        "print('phonenumbers.phonenumberutil' in sys.modules)\n"
        "print(guards.phonenumbers.is_valid_number(guards.phonenumbers.parse('+919876543210')))\n"
        "print('phonenumbers.phonenumberutil' in sys.modules)\n"
    )
    assert printed.split() == ["False", "True", "True"]
