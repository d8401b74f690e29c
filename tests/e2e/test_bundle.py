"""The Claude Desktop bundle: a valid MCPB 0.4 manifest, packed and unpacked by ``mcpb``, and a server starting from it.

``make test`` installs ``@anthropic-ai/mcpb`` into ``.tools/mcpb`` and sets KUPE_MCPB; without it the mcpb checks
skip (the manifest checks that need no Node still run).
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from kupe_mcp.config import SETTINGS, Settings
from kupe_mcp.dist.bundle import BUNDLE_SETTINGS, PACKAGE_FILES, build, bundle_files, manifest
from tests._node import node_binary, node_env

TOOLS = os.environ.get("KUPE_NODE_TOOLS")
MCPB = os.environ.get("KUPE_MCPB") or (f"{TOOLS}/mcpb" if TOOLS else None)  # the npm prefix holding mcpb
needs_mcpb = pytest.mark.skipif(not MCPB, reason="KUPE_MCPB / KUPE_NODE_TOOLS are unset (make test sets them)")


def _substituted(value: object) -> str:
    """How the host turns a user_config value into text (booleans as true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)  # noqa: S603, S607


def _checkout(root: Path) -> None:
    """A small project: tracked package files, then what a developer leaves lying around."""
    for name, text in {
        "pyproject.toml": "[project]\nname = 'x'\n",
        "README.md": "# x\n",
        "kupe_mcp/__init__.py": "",
        "kupe_mcp/py.typed": "",
        "kupe_mcp/views/card.html": "<p>card</p>",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "x")
    (root / "kupe_mcp" / ".env.local").write_text("KUPE_API_KEY=kupe_sk_TESTSECRET_untracked\n")
    (root / "kupe_mcp" / "notes.md").write_text("my notes\n")
    (root / "kupe_mcp" / "scratch.py").write_text("print('not yet added')\n")
    (root / "kupe_mcp" / "__pycache__").mkdir()
    (root / "kupe_mcp" / "__pycache__" / "x.pyc").write_bytes(b"\0")


TRACKED = ["README.md", "kupe_mcp/__init__.py", "kupe_mcp/py.typed", "kupe_mcp/views/card.html", "pyproject.toml"]


def test_the_bundle_packs_only_what_git_tracks(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    root.mkdir()
    _checkout(root)

    out = build(tmp_path / "bundle", root)

    packed = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert packed == sorted(["manifest.json", *TRACKED])


def test_outside_a_git_checkout_only_the_packages_own_kinds_of_file_are_packed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "archive"
    root.mkdir()
    _checkout(root)
    shutil.rmtree(root / ".git")

    files, from_git = bundle_files(root)

    assert from_git is False
    assert files == sorted([*TRACKED, "kupe_mcp/scratch.py"])  # a .py is package-shaped; notes and dot-files are not
    build(tmp_path / "bundle", root)
    assert f"{root} is not a git checkout" in capsys.readouterr().err


def test_the_fallback_kinds_of_file_cover_everything_git_tracks_in_the_package() -> None:
    files, from_git = bundle_files()
    assert from_git is True
    package = [name for name in files if name.startswith("kupe_mcp/")]
    assert any(name.endswith(".html") for name in package)
    assert all(any(fnmatch.fnmatch(Path(name).name, p) for p in PACKAGE_FILES) for name in package)


def test_the_manifest_is_0_4_uv_with_the_api_key_sensitive() -> None:
    data = manifest()
    assert data["manifest_version"] == "0.4"
    assert data["server"]["type"] == "uv"
    options = data["user_config"]
    assert options["api_key"]["sensitive"] is True
    assert [k for k, o in options.items() if o.get("sensitive")] == ["api_key"]
    assert {"api_key", "sandbox", "toolsets", "calling_hours", "max_calls_per_hour"} <= set(options)


def test_every_bundle_option_has_a_default_that_starts_a_valid_server() -> None:
    """An unset option would reach the server as the literal ``${user_config.x}``; the defaults must parse."""
    data = manifest()
    env = data["server"]["mcp_config"]["env"]
    assert set(env) == {name for name, _, _ in BUNDLE_SETTINGS} <= {row.env for row in SETTINGS}
    resolved = {}
    for name, template in env.items():
        key = template.removeprefix("${user_config.").removesuffix("}")
        resolved[name] = _substituted(data["user_config"][key]["default"])
    assert Settings.from_env(resolved) == Settings()


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """validate -> pack -> unpack with mcpb; yields the unpacked folder and the mcp_config the host would run."""
    tools = Path(str(TOOLS or MCPB))
    prefix = Path(str(MCPB))
    mcpb = prefix / "node_modules" / ".bin" / "mcpb"
    assert mcpb.exists(), f"{mcpb} is missing: run make node-tools"
    env = node_env(tools)
    work = tmp_path_factory.mktemp("bundle")
    stage = build(work / "stage")

    def run(*args: str) -> str:
        done = subprocess.run([str(mcpb), *args], env=env, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603
        assert done.returncode == 0, f"mcpb {args[0]} failed: {done.stdout}{done.stderr}"
        return done.stdout + done.stderr

    assert "passes" in run("validate", str(stage / "manifest.json"))
    bundle = work / "kupe-app-mcp.mcpb"
    run("pack", str(stage), str(bundle))
    target = work / "unpacked"
    run("unpack", str(bundle), str(target))
    # The host's own substitution (mcpb's getMcpConfigForManifest), with the sandbox switched on.
    script = (
        "const m = await import(process.argv[1]);"
        "const fs = await import('node:fs');"
        "const manifest = JSON.parse(fs.readFileSync(process.argv[2] + '/manifest.json', 'utf8'));"
        "const config = await m.getMcpConfigForManifest({manifest, extensionPath: process.argv[2], systemDirs: {},"
        " userConfig: {sandbox: true}, pathSeparator: '/'});"
        "console.log(JSON.stringify(config));"
    )
    library = prefix / "node_modules" / "@anthropic-ai" / "mcpb" / "dist" / "node.js"
    done = subprocess.run(  # noqa: S603
        [str(node_binary(tools)), "--input-type=module", "-e", script,
         str(library), str(target)],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    config: dict[str, Any] = json.loads(done.stdout)
    # What runs must be the unpacked copy, not this checkout.
    where = subprocess.run(
        [sys.executable, "-c", "import kupe_mcp; print(kupe_mcp.__file__)"],
        cwd=target, env=_server_env(config), capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert Path(where.stdout.strip()).is_relative_to(target)
    return target, config


def _server_env(config: dict[str, Any]) -> dict[str, str]:
    env: dict[str, str] = {k: v for k, v in os.environ.items() if not k.startswith("KUPE_")}
    return env | dict(config["env"])


@needs_mcpb
def test_the_unpacked_bundle_runs_the_kupe_app_mcp_script_of_its_own_pyproject(
    unpacked: tuple[Path, dict[str, Any]],
) -> None:
    target, config = unpacked
    assert config["command"] == "uv"
    assert config["args"] == ["run", "--directory", str(target), "kupe-app-mcp"]
    project = tomllib.loads((target / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["kupe-app-mcp"] == "kupe_mcp.__main__:main"
    assert (target / manifest()["server"]["entry_point"]).is_file()
    assert config["env"]["KUPE_SANDBOX"] == "true"
    assert config["env"]["KUPE_API_KEY"] == ""


@needs_mcpb
@pytest.mark.anyio
async def test_the_server_starts_from_the_unpacked_bundle(
    unpacked: tuple[Path, dict[str, Any]], client_mode: str
) -> None:
    """``uv run`` would install the same dependencies this venv has; run the unpacked source with them."""
    target, config = unpacked
    params = StdioServerParameters(command=sys.executable, args=["-m", "kupe_mcp"], env=_server_env(config), cwd=target)
    async with Client(params, mode=client_mode) as mcp:
        result = await mcp.call_tool("whoami", {})
    assert not result.is_error, result.content
