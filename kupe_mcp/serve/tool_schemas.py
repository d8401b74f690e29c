"""Every tool's input and output schema, stored with the package, so the first ``tools/list`` builds no models.

The SDK builds a pydantic argument model, a result model and both JSON Schemas for each tool it registers:
most of the first ``tools/list``'s cost, and none of it needed to answer it. ``tool_schemas.json`` holds those
schemas as the SDK makes them (before ``serve.schema`` compacts them), written by ``make schemas``
(``python -m kupe_mcp.serve.tool_schemas``). A tool listed from it is a ``StoredTool``: its models are built
the first time it is called. tests/unit/serve/test_tool_schemas.py fails when a tool's schema no longer matches
the stored one, and a tool missing from the file, or a file written by another SDK version, is registered the
SDK's way.
"""

from __future__ import annotations

import inspect
import json
import logging
import sys
from functools import cached_property
from importlib import metadata
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver.tools.base import Tool
from pydantic import PrivateAttr

if TYPE_CHECKING:
    from mcp.server.mcpserver import Context

    from kupe_mcp.toolsets import ToolSpec

__all__ = ["StoredTool", "build_store", "stored_schemas"]

logger = logging.getLogger("kupe_mcp")

STORE_FILE = "tool_schemas.json"


def _sdk_version() -> str:
    return metadata.version("mcp")


def stored_schemas() -> dict[str, dict[str, Any]]:
    """Tool name -> ``{"input": ..., "output": ...}`` from the stored file; empty when it is missing or was
    written for another SDK version (whose schemas may differ)."""
    try:
        data = json.loads((files("kupe_mcp.serve") / STORE_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    if data.get("sdk") != _sdk_version():
        return {}
    tools: dict[str, dict[str, Any]] = data.get("tools") or {}
    return tools


def sdk_tool(spec: ToolSpec) -> Tool:
    """The SDK's own registration of one tool (models and schemas built now)."""
    return Tool.from_function(
        spec.fn,
        name=spec.name,
        title=spec.title,
        description=spec.description,
        annotations=spec.annotations,
        meta=spec.meta,
    )


class StoredTool(Tool):
    """A tool listed from its stored schemas; the SDK's models for it (``fn_metadata``, left unset until then) are
    built on its first call."""

    _spec: ToolSpec | None = PrivateAttr(default=None)
    _output: dict[str, Any] | None = PrivateAttr(default=None)
    _built: bool = PrivateAttr(default=False)

    @classmethod
    def of(cls, spec: ToolSpec, schemas: dict[str, Any]) -> StoredTool:
        tool = cls.model_construct(  # type: ignore[call-arg]  # fn_metadata: built on the first call
            fn=spec.fn,
            name=spec.name,
            title=spec.title,
            description=spec.description,
            parameters=schemas["input"],
            is_async=inspect.iscoroutinefunction(spec.fn),  # _build sets the SDK's own verdict
            context_kwarg=None,
            resolved_params={},
            resolver_plans={},
            annotations=spec.annotations,
            icons=None,
            meta=spec.meta,
        )
        tool._spec = spec
        tool._output = schemas.get("output")
        return tool

    @cached_property
    def output_schema(self) -> dict[str, Any] | None:
        return self._output

    def _build(self) -> None:
        """Build what the SDK builds at registration; warn (once) when the stored schemas have drifted."""
        assert self._spec is not None, "a StoredTool is made by StoredTool.of"
        real = sdk_tool(self._spec)
        self.fn_metadata = real.fn_metadata
        self.is_async = real.is_async
        self.context_kwarg = real.context_kwarg
        self.resolved_params = real.resolved_params
        self.resolver_plans = real.resolver_plans
        self._built = True
        if real.parameters != self.parameters or real.output_schema != self._output:
            logger.warning("The stored schemas of %s are out of date: run `make schemas`.", self.name)

    async def run(self, arguments: dict[str, Any], context: Context[Any, Any], convert_result: bool = False) -> Any:
        if not self._built:
            self._build()
        return await super().run(arguments, context, convert_result=convert_result)


def build_store() -> dict[str, Any]:
    """The stored file's content: every declared tool (all toolsets and the views' buttons), as the SDK builds it."""
    from kupe_mcp import toolsets

    specs = [*(spec for toolset in toolsets.TOOLSETS for spec in toolset.tools), *toolsets.APP_TOOLS.tools]
    tools = {}
    for spec in sorted(specs, key=lambda s: s.name):
        tool = sdk_tool(spec)
        tools[spec.name] = {"input": tool.parameters, "output": tool.output_schema}
    return {"sdk": _sdk_version(), "tools": tools}


def main() -> None:
    """``python -m kupe_mcp.serve.tool_schemas``: rewrite the stored file next to this module."""
    from pathlib import Path

    path = Path(__file__).with_name(STORE_FILE)
    path.write_text(json.dumps(build_store(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {path}\n")


if __name__ == "__main__":
    main()
