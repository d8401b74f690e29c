"""The views registry: every page gets the one shared bridge when read, and a view's buttons come with the view."""

from __future__ import annotations

from importlib.resources import files

import pytest

from kupe_mcp.config import Settings
from kupe_mcp.serve.apps import PAGES, SHARED, apps, page_html
from kupe_mcp.serve.server import selected_tools
from kupe_mcp.toolsets import APP_TOOLS, TOOLSETS, app_tools_for

pytestmark = pytest.mark.anyio

VIEWS = files("kupe_mcp.serve") / "views"


def test_each_page_file_leaves_the_host_protocol_and_theme_to_the_shared_pieces() -> None:
    assert "ui/initialize" in (VIEWS / "bridge.js").read_text(encoding="utf-8")
    for page in PAGES:
        own = (VIEWS / page.file).read_text(encoding="utf-8")
        assert all(own.count(mark) == 1 for mark in SHARED), page.file
        assert "--color-background-primary" not in own, page.file
        assert "postMessage" not in own, page.file
        assert "ui/initialize" not in own, page.file


def test_a_read_page_carries_each_shared_piece_once_and_the_bridge_ahead_of_its_own_script() -> None:
    bridge = (VIEWS / "bridge.js").read_text(encoding="utf-8")
    style = (VIEWS / "base.css").read_text(encoding="utf-8")
    for page in PAGES:
        html = page_html(page.file)
        assert not any(mark in html for mark in SHARED), page.file
        assert (html.count(bridge), html.count(style)) == (1, 1), page.file
        assert html.index(style) < html.index("</head>"), page.file
        assert html.index(bridge) < html.index('kupeView("'), page.file


async def test_the_extension_serves_every_page_as_an_app_resource_with_no_remote_origins() -> None:
    served = {binding.resource.uri: binding.resource for binding in apps().resources()}
    assert set(served) == {page.uri for page in PAGES}
    for page in PAGES:
        resource = served[page.uri]
        assert resource.mime_type == "text/html;profile=mcp-app"
        assert resource.meta == {"ui": {"csp": {"connectDomains": [], "resourceDomains": []}, "prefersBorder": True}}
        assert await resource.read() == page_html(page.file)


def test_every_declared_view_is_a_page_the_registry_serves() -> None:
    views = {spec.view for t in (*TOOLSETS, APP_TOOLS) for spec in t.tools if spec.view is not None}
    assert views == {page.uri for page in PAGES}


def test_the_approval_cards_button_is_served_only_with_a_tool_that_shows_the_card() -> None:
    def buttons(**settings: object) -> list[str]:
        return [s.name for s in app_tools_for(APP_TOOLS, selected_tools(Settings(**settings)))]

    assert buttons() == ["answer_call_approval"]  # place_call is a default tool
    assert buttons(exclude_tools=("place_call",)) == []  # campaigns (start_batch) is not on by default
    assert buttons(toolsets=("campaigns",)) == ["answer_call_approval"]
    assert buttons(toolsets=("all",), read_only=True) == []
