"""The SDK's private API is used in one module, and an SDK upgrade that changes it fails here, by name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kupe_mcp.serve import _sdk

ROOT = Path(__file__).parent.parent
PRIVATE = re.compile(
    r"\._(tool_manager|resource_manager|prompt_manager|lowlevel_server|handle_[a-z_]+|subscriptions)\b"
)


def test_every_private_hook_still_works_in_the_installed_sdk() -> None:
    problems = _sdk.check_hooks()
    assert not problems, "MCP SDK private hooks changed (see kupe_mcp/serve/_sdk.py): " + "; ".join(problems)


@pytest.mark.parametrize("hook", _sdk.HOOKS)
def test_each_hook_is_named_in_the_check(hook: str) -> None:
    """A new hook added to HOOKS without a check would make the check above vacuous."""
    source = Path(_sdk.__file__).read_text()
    check = source[source.index("def check_hooks") :]
    assert hook.split(".")[1] in check


def test_a_changed_hook_is_reported_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """What an SDK upgrade that renamed the handler would look like: the check names it."""
    from mcp.server.mcpserver import MCPServer

    monkeypatch.delattr(MCPServer, "_handle_list_resources")
    problems = _sdk.check_hooks()
    assert any("MCPServer._handle_list_resources" in p for p in problems), problems


def test_no_module_but_sdk_py_reaches_into_the_sdks_private_api() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for base in ("kupe_mcp", "tests")
        for path in sorted((ROOT / base).rglob("*.py"))
        if path.name != "_sdk.py" and path != Path(__file__)
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if PRIVATE.search(line)
    ]
    assert not offenders, f"use kupe_mcp.serve._sdk instead of the SDK's private API at {offenders}"
