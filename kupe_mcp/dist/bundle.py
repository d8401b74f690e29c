"""The Claude Desktop bundle (MCPB manifest 0.4): ``python -m kupe_mcp.dist.bundle DIR`` lays out what mcpb packs.

``make bundle`` runs it, then ``mcpb validate`` and ``mcpb pack`` (npm ``@anthropic-ai/mcpb``) into
``dist/kupe-app-mcp.mcpb``. The bundle is ``server.type: "uv"``: it carries the source and ``pyproject.toml``, and the
host's uv installs Python and the dependencies. ``user_config`` comes from the settings table, so the bundle's
options say what README and ``--help`` say; every option has a default because an unset one would reach the server
as the literal text ``${user_config.NAME}``.

Only what git tracks is packed (``git ls-files``, as the files are in the work tree): an untracked ``.env.local`` or a
note under ``kupe_mcp/`` never ships. Outside a git checkout (a source archive, or no git), the package's own kinds of
file are packed instead (``PACKAGE_FILES``: ``*.py``, ``*.html``, ``*.js``, ``*.css``, ``*.json``, ``py.typed``),
and the build says so.
"""

from __future__ import annotations

import fnmatch
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from kupe_mcp import __version__
from kupe_mcp.config import Setting, setting

__all__ = ["BUNDLE_SETTINGS", "PACKAGE_FILES", "build", "bundle_files", "manifest"]

ROOT = Path(__file__).resolve().parents[2]  # kupe_mcp/dist/bundle.py -> the checkout
TOP_FILES = ("pyproject.toml", "README.md")
PACKAGE_FILES = ("*.py", "*.html", "*.js", "*.css", "*.json", "py.typed")
"""What the package is made of: without git, only these are packed from ``kupe_mcp/``."""

# The settings a Claude Desktop user is offered, by env name; the rest keep their defaults.
BUNDLE_SETTINGS: tuple[tuple[str, str, str], ...] = (
    # (env, user_config key, title)
    ("KUPE_API_KEY", "api_key", "Kupe App API key"),
    ("KUPE_SANDBOX", "sandbox", "Use the embedded sandbox (try it, nothing is dialled)"),
    ("KUPE_TOOLSETS", "toolsets", "Toolsets"),
    ("KUPE_READ_ONLY", "read_only", "Read-only tools only"),
    ("KUPE_ALLOWED_DESTINATIONS", "allowed_destinations", "Numbers that may be called"),
    ("KUPE_BLOCKED_DESTINATIONS", "blocked_destinations", "Numbers never to call"),
    ("KUPE_CALLING_HOURS", "calling_hours", "Calling hours (destination's local time)"),
    ("KUPE_MAX_CALLS_PER_HOUR", "max_calls_per_hour", "Most calls per hour"),
    ("KUPE_DEFAULT_REGION", "default_region", "Default region for numbers without a country code"),
)

_TYPES = {"bool": "boolean", "int": "number", "float": "number"}


def _option(row: Setting, title: str) -> dict[str, Any]:
    kind = _TYPES.get(row.kind, "string")
    option: dict[str, Any] = {"type": kind, "title": title, "description": row.plain_meaning}
    if row.secret:
        option["sensitive"] = True
    if kind == "boolean":
        option["default"] = row.read(row.default) if row.default else False
    elif kind == "number":
        option["default"] = row.read(row.default)
    else:
        option["default"] = row.default
    option["required"] = False
    return option


def manifest() -> dict[str, Any]:
    """The MCPB 0.4 manifest for this version."""
    user_config = {}
    env = {}
    for name, key, title in BUNDLE_SETTINGS:
        row = setting(name)
        user_config[key] = _option(row, title)
        env[name] = f"${{user_config.{key}}}"
    return {
        "manifest_version": "0.4",
        "name": "kupe-app-mcp",
        "display_name": "Kupe voice agents (Kupe App)",
        "version": __version__,
        "description": (
            "Kupe App voice agents (api.kupe.in): agents, phone lines, calls, campaigns, knowledge, analytics."
        ),
        "long_description": (
            "An MCP server for the Kupe App REST API (api.kupe.in), with Kupe App API keys. Not for Kupe Hub: "
            "for Hub, use Kupe's own server. A person approves every call; turn on the sandbox to try it without "
            "an account."
        ),
        "author": {"name": "kupe-app-mcp contributors", "url": "https://github.com/kupe-org/kupe-app-mcp"},
        "repository": {"type": "git", "url": "https://github.com/kupe-org/kupe-app-mcp"},
        "homepage": "https://github.com/kupe-org/kupe-app-mcp",
        "license": "MIT",
        "keywords": ["kupe", "voice-agent", "calls", "mcp"],
        "server": {
            "type": "uv",
            "entry_point": "kupe_mcp/__main__.py",
            "mcp_config": {
                "command": "uv",
                "args": ["run", "--directory", "${__dirname}", "kupe-app-mcp"],
                "env": env,
            },
        },
        "compatibility": {"platforms": ["darwin", "win32", "linux"], "runtimes": {"python": ">=3.11"}},
        "user_config": user_config,
    }


def _tracked(root: Path) -> list[str] | None:
    """The files git tracks under ``root`` (relative paths), or None when ``root`` is not the top of a checkout."""
    try:
        top = subprocess.run(  # noqa: S603
            ["git", "-C", str(root), "rev-parse", "--show-toplevel"],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if Path(top).resolve() != root.resolve():
            return None
        listed = subprocess.run(  # noqa: S603
            ["git", "-C", str(root), "ls-files", "-z", "--", *TOP_FILES, "kupe_mcp"],  # noqa: S607
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return [name for name in listed.decode().split("\0") if name]


def bundle_files(root: Path = ROOT) -> tuple[list[str], bool]:
    """The files to pack (relative to ``root``, sorted) and whether git chose them.

    Tracked files deleted from the work tree are left out; without git, ``PACKAGE_FILES`` under ``kupe_mcp/``.
    """
    tracked = _tracked(root)
    if tracked is not None:
        return sorted(name for name in tracked if (root / name).is_file()), True
    package = [
        path.relative_to(root).as_posix()
        for path in (root / "kupe_mcp").rglob("*")
        if path.is_file()
        and any(fnmatch.fnmatch(path.name, pattern) for pattern in PACKAGE_FILES)
        and not any(part.startswith(".") or part == "__pycache__" for part in path.relative_to(root).parts)
    ]
    return sorted([*(name for name in TOP_FILES if (root / name).is_file()), *package]), False


def build(out: Path, root: Path = ROOT) -> Path:
    """Lay the bundle's files out in ``out`` (emptied first): manifest, pyproject, README and the package."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / "manifest.json").write_text(json.dumps(manifest(), indent=2, ensure_ascii=False) + "\n")
    files, from_git = bundle_files(root)
    if not from_git:
        print(
            f"{root} is not a git checkout: packing pyproject.toml, README.md and kupe_mcp's "
            f"{', '.join(PACKAGE_FILES)} only.",
            file=sys.stderr,
        )
    for name in files:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, out / name)
    return out


if __name__ == "__main__":
    target = build(Path(sys.argv[1] if len(sys.argv) > 1 else "build/mcpb"))
    print(f"bundle files laid out in {target}", file=sys.stderr)
