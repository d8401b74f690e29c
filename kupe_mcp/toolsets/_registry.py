"""The tool registry: one declaration per tool drives the server, read-only mode, snapshots and the README table.

Each toolset module creates a ``Toolset`` and declares its tools with ``@toolset.tool(...)``.
A declaration carries the four MCP annotations explicitly; read-only mode is derived
from them, never from a hand-kept list (the github-mcp-server rule).

Tool functions take ``ctx: Context`` first and get their Kupe client with
``kupe(ctx)``, so that on multi-tenant HTTP each request uses its own credentials.
The decorator converts failures: a ``KupeError`` becomes an ``isError`` result carrying
its one-sentence message; anything unexpected is logged with its traceback and
answered with a short correlation id, never a bare "Error executing tool".
"""

from __future__ import annotations

import functools
import inspect
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

from kupe_mcp.errors import ConfigError, KupeError

__all__ = ["ToolSpec", "Toolset", "app_tools_for", "select_tools", "unavailable_reason", "validate_registry"]

logger = logging.getLogger("kupe_mcp.tools")

P = ParamSpec("P")
R = TypeVar("R")

_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


@dataclass(frozen=True)
class ToolSpec:
    """One tool as declared: name, toolset, handler, description, its four annotations and its view.

    ``view`` is the ``ui://`` page an MCP Apps host renders the result in (the text result is the
    same for every client); an ``app_only`` tool is one of a view's buttons, hidden from the model.
    """

    name: str
    toolset: str
    fn: Callable[..., Awaitable[Any]]
    title: str
    description: str
    read_only: bool
    destructive: bool
    idempotent: bool
    open_world: bool
    view: str | None = None
    app_only: bool = False

    @property
    def meta(self) -> dict[str, Any] | None:
        """The tool's ``_meta``: the view its result is shown in, and for a view's own buttons, app visibility."""
        if self.view is None:
            return None
        ui: dict[str, Any] = {"resourceUri": self.view}
        if self.app_only:
            ui["visibility"] = ["app"]
        return {"ui": ui}

    @property
    def annotations(self) -> ToolAnnotations:
        # The title is on the tool itself; repeating it here would cost context for nothing.
        return ToolAnnotations(
            read_only_hint=self.read_only,
            destructive_hint=self.destructive,
            idempotent_hint=self.idempotent,
            open_world_hint=self.open_world,
        )


@dataclass
class Toolset:
    """A named group of tools that can be switched on with ``--toolsets``."""

    name: str
    description: str
    default: bool = False
    bearer_only: bool = False
    tools: list[ToolSpec] = field(default_factory=list)

    def tool(
        self,
        *,
        title: str,
        read_only: bool,
        destructive: bool | None = None,
        idempotent: bool | None = None,
        open_world: bool = True,
        name: str | None = None,
        view: str | None = None,
        app_only: bool = False,
    ) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
        """Declare a tool. The docstring is its description: say when to use it, what it changes, where ids come from.

        A write tool must say whether it is ``destructive`` and ``idempotent``: a default of
        "not destructive" would tell hosts to skip their confirmation for a tool that deletes.
        A read-only tool is non-destructive and idempotent by definition and passes neither.
        ``view`` names the ``ui://`` page its result is shown in; ``app_only`` makes it a button of
        that page (``kupe_mcp.toolsets._apps``), served only alongside a tool showing the page.
        """

        def decorator(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
            tool_name = name or fn.__name__
            if read_only and (destructive is not None or idempotent is not None):
                raise TypeError(f"{tool_name} is read-only: it takes no destructive= or idempotent=.")
            if not read_only and (destructive is None or idempotent is None):
                raise TypeError(f"{tool_name} changes things: declare both destructive= and idempotent=.")
            if app_only and view is None:
                raise TypeError(f"{tool_name} is app-only: name the view= whose button it is.")
            description = _unwrapped(inspect.cleandoc(fn.__doc__ or ""))
            wrapped = _convert_errors(tool_name, fn)
            self.tools.append(
                ToolSpec(
                    name=tool_name,
                    toolset=self.name,
                    fn=wrapped,
                    title=title,
                    description=description,
                    read_only=read_only,
                    destructive=bool(destructive),
                    idempotent=read_only or bool(idempotent),
                    open_world=open_world,
                    view=view,
                    app_only=app_only,
                )
            )
            return fn

        return decorator


def _unwrapped(doc: str) -> str:
    """A docstring's paragraphs each on one line: where the source wraps a line is formatting, not content.

    A model reads the description, and a client's tool search indexes it: a newline mid-sentence costs a
    byte more and splits what the sentence says.
    """
    return "\n\n".join(" ".join(paragraph.split("\n")) for paragraph in doc.split("\n\n"))


def _convert_errors(name: str, fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Turn Kupe errors into ToolError (their sentence reaches the model) and crashes into a correlation id."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except ToolError:
            raise
        except KupeError as exc:
            raise ToolError(str(exc)) from exc
        except Exception as exc:
            ref = uuid.uuid4().hex[:8]
            logger.exception("Tool %s failed unexpectedly (ref %s)", name, ref)
            raise ToolError(
                f"kupe-app-mcp hit an internal error running {name} (ref {ref}); "
                "the server log has the details. Retrying will not help until it is fixed."
            ) from exc

    return wrapper


def select_tools(
    toolsets: Sequence[Toolset],
    *,
    enabled: Iterable[str],
    read_only: bool = False,
    exclude: Iterable[str] = (),
    api_key_auth: bool = False,
) -> list[ToolSpec]:
    """The tools to serve, in a fixed order: read-only filter, then toolsets, then exclusions; sorted by toolset, name.

    With ``api_key_auth``, Bearer-only toolsets (admin) are left out of ``all`` and refused
    when named: every one of their calls would fail with 403.
    Raises ConfigError naming the valid choices when a toolset or tool name is unknown.
    """
    by_name = {t.name: t for t in toolsets}
    wanted = [s.strip() for s in enabled if s.strip()]
    if "all" in wanted:
        wanted = [t.name for t in toolsets if not (api_key_auth and t.bearer_only)]
    unknown = sorted(set(wanted) - set(by_name))
    if unknown:
        raise ConfigError(f"Unknown toolset {', '.join(unknown)}: choose from {', '.join(by_name)} (or all).")
    session_only = sorted(name for name in wanted if api_key_auth and by_name[name].bearer_only)
    if session_only:
        raise ConfigError(
            f"The {', '.join(session_only)} toolset needs a Kupe session: "
            "set KUPE_BEARER_TOKEN instead of KUPE_API_KEY."
        )
    all_tools = {spec.name for t in toolsets for spec in t.tools}
    excluded = {e.strip() for e in exclude if e.strip()}
    bad = sorted(excluded - all_tools)
    if bad:
        raise ConfigError(
            f"Unknown tool {', '.join(bad)} in --exclude-tools: valid names are {', '.join(sorted(all_tools))}."
        )
    chosen = [
        spec
        for ts in toolsets
        if ts.name in wanted
        for spec in ts.tools
        if (spec.read_only or not read_only) and spec.name not in excluded
    ]
    order = {t.name: i for i, t in enumerate(toolsets)}
    return sorted(chosen, key=lambda s: (order[s.toolset], s.name))


def app_tools_for(app_tools: Toolset, served: Iterable[ToolSpec]) -> list[ToolSpec]:
    """The app-only tools to serve with ``served``: a view's buttons, whenever a served tool shows that view.

    Read-only mode needs no rule of its own: the tools that show a view with buttons change things.
    """
    views = {spec.view for spec in served if spec.view is not None}
    return [spec for spec in app_tools.tools if spec.view in views]


def unavailable_reason(
    toolsets: Sequence[Toolset],
    name: str,
    *,
    enabled: Iterable[str],
    read_only: bool = False,
    exclude: Iterable[str] = (),
    api_key_auth: bool = False,
) -> str | None:
    """Why a tool kupe-app-mcp has is not served here, and how to get it; None when no such tool exists.

    A model that learnt a tool name elsewhere (a README, an earlier session) gets a sentence
    it can act on instead of the SDK's bare "Unknown tool".
    """
    found = next(((ts, spec) for ts in toolsets for spec in ts.tools if spec.name == name), None)
    if found is None:
        return None
    toolset, spec = found
    if name in {e.strip() for e in exclude}:
        return f"{name} is switched off on this server (KUPE_EXCLUDE_TOOLS / --exclude-tools); ask whoever runs it."
    if read_only and not spec.read_only:
        return f"{name} changes things and this server runs read-only (KUPE_READ_ONLY / --read-only)."
    if api_key_auth and toolset.bearer_only:
        return (
            f"{name} is in the {toolset.name} toolset, which needs a Kupe session: "
            "set KUPE_BEARER_TOKEN instead of KUPE_API_KEY and enable it with --toolsets."
        )
    current = [s.strip() for s in enabled if s.strip()]
    wanted = ",".join([*current, toolset.name])
    return (
        f"{name} is in the {toolset.name} toolset, which this server does not enable: "
        f"start it with --toolsets {wanted} (or KUPE_TOOLSETS={wanted})."
    )


def validate_registry(toolsets: Sequence[Toolset]) -> list[str]:
    """Problems with the declarations themselves (used by the registry test)."""
    problems: list[str] = []
    seen: set[str] = set()
    for ts in toolsets:
        for spec in ts.tools:
            if spec.name in seen:
                problems.append(f"duplicate tool name {spec.name}")
            seen.add(spec.name)
            if not _SNAKE.match(spec.name):
                problems.append(f"{spec.name} is not snake_case")
            if len(spec.description) < 40:
                problems.append(f"{spec.name} has no real description")
            if spec.toolset != ts.name:
                problems.append(f"{spec.name} recorded under the wrong toolset")
    return problems
