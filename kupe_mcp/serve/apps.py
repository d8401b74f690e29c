"""The views registry: the MCP Apps pages kupe-app-mcp serves, and the one bridge script they share.

Tools name their page with ``view=`` (``kupe_mcp.toolsets._apps``); this module says what each
page is (its file, name, title and description) and builds the Apps extension that serves them.
Each page's own script speaks to the host through ``kupeView`` from ``views/bridge.js``, spliced in
where the page says ``<!-- kupe:bridge -->`` when the resource is read (likewise the shared style,
``views/base.css``, at ``<!-- kupe:base -->``, and the document's opening, ``views/head.html``, at
``<!-- kupe:head -->``): one copy of each, and no page file is opened until a host asks for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from typing import TYPE_CHECKING

from mcp.server.mcpserver.resources import Resource

from kupe_mcp.toolsets._apps import APPROVAL_CARD, BATCH_PROGRESS, CALL_CARD, USAGE_CHART

if TYPE_CHECKING:
    from mcp.server.apps import Apps

__all__ = ["PAGES", "SHARED", "Page", "apps", "page_html"]

HEAD_MARK = "<!-- kupe:head -->"
BRIDGE_MARK = "<!-- kupe:bridge -->"
BASE_MARK = "<!-- kupe:base -->"
# What every page shares, by the mark it stands at: the file in kupe_mcp/serve/views and how it is wrapped.
SHARED = {
    HEAD_MARK: ("head.html", "{}"),  # doctype, language, charset and viewport; the page's own <title> follows
    BASE_MARK: ("base.css", "<style>\n{}</style>"),  # the host's theme variables, and the page's base font
    BRIDGE_MARK: ("bridge.js", "<script>\n{}</script>"),  # kupeView: the host protocol
}


@dataclass(frozen=True)
class Page:
    """One view: its ``ui://`` URI and HTML file (in ``kupe_mcp/serve/views``), and how hosts list it."""

    uri: str
    file: str
    name: str
    title: str
    description: str


PAGES = (
    Page(APPROVAL_CARD, "approval_card.html", "approval-card", "Call approval",
         "What place_call or start_batch will dial, with Approve and Decline for the person."),
    Page(CALL_CARD, "call_card.html", "call-card", "Call",
         "A call's status steps, elapsed time, summary, analysis and transcript (as text bubbles)."),
    Page(BATCH_PROGRESS, "batch_progress.html", "batch-progress", "Campaign progress",
         "A campaign's recipients per call state as counts and a bar, and the failed calls with their reasons."),
    Page(USAGE_CHART, "usage_chart.html", "usage-chart", "Usage cost",
         "Spending per service and per period as a small inline SVG chart (USD)."),
)  # fmt: skip


def page_html(file: str) -> str:
    """The page as a host gets it: its own markup, style and script, with each shared piece spliced in once."""
    views = files("kupe_mcp.serve") / "views"
    html = (views / file).read_text(encoding="utf-8")
    for mark, (shared, wrap) in SHARED.items():
        if html.count(mark) != 1:
            raise ValueError(f"{file} must say {mark} exactly once, where {shared} goes.")
        html = html.replace(mark, wrap.format((views / shared).read_text(encoding="utf-8")))
    return html


class _PageResource(Resource):
    """A view's ``ui://`` resource, read from its file (with the bridge) each time a host asks."""

    file: str

    async def read(self) -> str:
        return page_html(self.file)


def apps() -> Apps:
    """The MCP Apps extension serving every page (self-contained: no remote scripts, styles or connections)."""
    from mcp.server.apps import APP_MIME_TYPE, Apps, ResourceCsp

    extension = Apps()
    csp = ResourceCsp(connect_domains=[], resource_domains=[]).model_dump(by_alias=True, exclude_none=True)
    for page in PAGES:
        extension.add_resource(
            _PageResource(
                uri=page.uri,
                name=page.name,
                title=page.title,
                description=page.description,
                mime_type=APP_MIME_TYPE,
                meta={"ui": {"csp": csp, "prefersBorder": True}},
                file=page.file,
            )
        )
    return extension
