"""The package's floors: each module imports only from its own floor or below (README "Layout").

Imports inside functions count too: a lazy import running back up a floor is still a circle waiting to happen.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "kupe_mcp"

# Floor of each top-level part of kupe_mcp; a module may import from its own floor and those below.
FLOORS = {
    "__init__": 0,
    "config": 0,
    "errors": 0,
    "text": 0,
    "_loopback": 0,
    "client": 1,
    "safety": 2,
    "toolsets": 3,
    "resources": 3,
    "prompts": 3,
    "serve": 4,
    "dist": 5,
    "__main__": 6,
}
SANDBOX_MAY_IMPORT = {"__init__", "config", "errors", "text", "_loopback", "sandbox"}


def _part(module: str) -> str:
    """``kupe_mcp.serve.server`` -> ``serve``; ``kupe_mcp`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> set[str]:
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: ``module`` ends in the file's own name (``__init__`` for a package)
                base = module.split(".")[: -node.level]
                found.add(".".join([*base, node.module] if node.module else base))
            elif node.module:
                found.add(node.module)
    return {name for name in found if name == "kupe_mcp" or name.startswith("kupe_mcp.")}


def test_the_import_reader_sees_absolute_and_relative_imports() -> None:
    assert "kupe_mcp.safety.channels" in _imports(PACKAGE / "toolsets" / "_apps.py")
    assert "kupe_mcp.sandbox._config" in _imports(PACKAGE / "sandbox" / "_seed.py")


def test_every_module_imports_only_from_its_floor_or_below() -> None:
    upward: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = _part(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
        for name in _imports(path):
            there = _part(name)
            if here == "sandbox":
                allowed = there in SANDBOX_MAY_IMPORT
            elif there == "sandbox":  # the demo tour and `kupe-app-mcp sandbox` run it; nothing else knows it
                allowed = here in ("dist", "__main__")
            else:
                allowed = FLOORS[there] <= FLOORS[here]
            if not allowed:
                upward.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    assert upward == []


def test_the_top_level_has_at_most_fifteen_entries() -> None:
    entries = [p.name for p in PACKAGE.iterdir() if p.name != "__pycache__"]
    assert len(entries) <= 15, sorted(entries)


def _module_of(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports, typing-only imports included (a circle drawn only for mypy is
    still two modules that must change together). ``from pkg import name`` counts as importing ``pkg``."""
    modules = {_module_of(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_circle_finder_finds_a_circle_of_three_and_ignores_a_chain() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _circles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_two_modules_import_each_other_even_through_others() -> None:
    # A package's __init__ re-exporting its own modules is a face, not a circle: leave the package's own face out.
    graph = _graph()
    for name, targets in graph.items():
        graph[name] = {t for t in targets if not name.startswith(f"{t}.")}
    assert _circles(graph) == []
