"""``kupe-app-mcp install <client>``: put this server into an MCP client's own config file, in its own format.

Each client keeps its servers in a different file and shape (JSON ``mcpServers``, VS Code's ``servers`` + ``inputs``,
Codex's TOML ``[mcp_servers.NAME]``). The installer changes only this server's entry, leaves every other entry and
setting as it was, writes nothing when the entry is already current, keeps a timestamped backup of a file it changes,
and refuses a file it cannot parse (one sentence, file untouched). JSON files are read as JSONC too (VS Code's and
Cursor's ``//`` comments and trailing commas, through ``json5``) and written back as plain JSON: their comments are
not kept, which ``install`` says, and the backup keeps them. The file and its backups end readable by their owner only
(0600), since they hold API keys; a symlinked file is written through the link, at its target.

The entry runs the server the way it is installed right now: the absolute path of this environment's
``kupe-app-mcp`` executable (works from a checkout, no PyPI release needed), ``uvx --from <checkout>``, or
``uvx kupe-app-mcp`` (needs the PyPI release). The API key comes from ``KUPE_API_KEY`` or a prompt that does not echo;
``--print`` never shows it (a placeholder, or VS Code's own secret input).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from kupe_mcp.errors import ConfigError

__all__ = ["CLIENTS", "Entry", "add_install_parser", "entry_command", "install", "run_install"]

KEY_PLACEHOLDER = "<your Kupe API key>"
VSCODE_INPUT_ID = "kupe-api-key"
Runner = Literal["venv", "uvx-checkout", "uvx"]


@dataclass(frozen=True)
class Entry:
    """What the client must run: a command, its arguments and the environment it needs."""

    command: str
    args: tuple[str, ...]
    env: Mapping[str, str]


# --- where the entry's command comes from ------------------------------------------------------------------------


def checkout_root() -> Path | None:
    """The source checkout this package runs from (an editable install), or None for an installed wheel."""
    root = Path(__file__).resolve().parents[2]  # kupe_mcp/dist/install.py -> the checkout
    return root if (root / "pyproject.toml").is_file() and (root / "kupe_mcp").is_dir() else None


def _venv_executable() -> list[str]:
    """This environment's own ``kupe-app-mcp``, as an absolute path a client can start without any PATH."""
    bindir = Path(sys.executable).parent  # not resolved: a venv's python is a symlink out of the venv
    for name in ("kupe-app-mcp", "kupe-app-mcp.exe"):
        candidate = bindir / name
        if candidate.is_file():
            return [str(candidate.absolute())]
    found = shutil.which("kupe-app-mcp")
    if found:
        return [str(Path(found).absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "kupe_mcp"]


def entry_command(runner: Runner) -> list[str]:
    """The command line (without server flags) that starts this server for a client."""
    if runner == "uvx":
        return ["uvx", "kupe-app-mcp"]
    if runner == "uvx-checkout":
        root = checkout_root()
        if root is None:
            raise ConfigError(
                "--runner uvx-checkout needs kupe-app-mcp installed from a source checkout: use --runner venv."
            )
        return ["uvx", "--from", str(root), "kupe-app-mcp"]
    return _venv_executable()


# --- the clients ---------------------------------------------------------------------------------------------------


def _home() -> Path:
    return Path(os.environ.get("HOME") or Path.home())


def _claude_desktop_path() -> Path:
    if sys.platform == "darwin":
        return _home() / "Library" / "Application Support" / "Claude" / "claude_desktop_config.json"
    if sys.platform == "win32":
        return (
            Path(os.environ.get("APPDATA") or _home() / "AppData" / "Roaming") / "Claude" / "claude_desktop_config.json"
        )
    return Path(os.environ.get("XDG_CONFIG_HOME") or _home() / ".config") / "Claude" / "claude_desktop_config.json"


def _codex_path() -> Path:
    return Path(os.environ.get("CODEX_HOME") or _home() / ".codex") / "config.toml"


@dataclass(frozen=True)
class Client:
    """One MCP client: its config file, its format and how an entry looks in it."""

    name: str
    title: str
    default_path: Callable[[], Path]
    format: Literal["json", "toml"]
    servers_key: str
    shape: Callable[[Entry], dict[str, Any]]
    secret_input: bool = False
    """The client asks the person for the key itself (VS Code ``inputs``): nothing secret is written."""


def _plain(entry: Entry) -> dict[str, Any]:
    out: dict[str, Any] = {"command": entry.command, "args": list(entry.args)}
    if entry.env:
        out["env"] = dict(entry.env)
    return out


def _typed(entry: Entry) -> dict[str, Any]:
    return {"type": "stdio", **_plain(entry)}


CLIENTS: dict[str, Client] = {
    c.name: c
    for c in (
        Client("claude-desktop", "Claude Desktop", _claude_desktop_path, "json", "mcpServers", _plain),
        Client("claude-code", "Claude Code (user scope)", lambda: _home() / ".claude.json", "json", "mcpServers",
               _typed),
        Client("cursor", "Cursor", lambda: _home() / ".cursor" / "mcp.json", "json", "mcpServers", _plain),
        Client("vscode", "VS Code (this workspace)", lambda: Path.cwd() / ".vscode" / "mcp.json", "json", "servers",
               _typed, secret_input=True),
        Client("codex", "Codex", _codex_path, "toml", "mcp_servers", _plain),
    )
}  # fmt: skip

VSCODE_INPUT = {
    "type": "promptString",
    "id": VSCODE_INPUT_ID,
    "description": "Kupe App API key (api.kupe.in)",
    "password": True,
}


# --- reading, merging and writing one file ------------------------------------------------------------------------


def is_plain_json(text: str) -> bool:
    """True when ``text`` is strict JSON: no comments or trailing commas a rewrite would drop."""
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def _parse_json(path: Path, text: str) -> Any:
    """JSON, or JSONC as VS Code and Cursor keep it (comments, trailing commas), read by ``json5``."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    import json5

    try:
        return json5.loads(text)
    except ValueError as exc:
        found = re.match(r"<string>:(\d+) (.+) at column (\d+)$", str(exc))
        where = f"line {found[1]}, column {found[3]}: {found[2]}" if found else str(exc).splitlines()[0]
        raise ConfigError(
            f"{path} is not valid JSON or JSONC ({where}): fix or move it and run install again; nothing was changed."
        ) from None


def _load_json(path: Path, text: str, servers_key: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    data = _parse_json(path, text)
    if not isinstance(data, dict) or not isinstance(data.get(servers_key, {}), dict):
        raise ConfigError(
            f"{path} does not hold a JSON object with a {servers_key!r} object: fix or move it and run install "
            "again; nothing was changed."
        )
    return data


def _merge_json(client: Client, path: Path, text: str, name: str, entry: Entry) -> str:
    data = _load_json(path, text, client.servers_key)
    data.setdefault(client.servers_key, {})[name] = client.shape(entry)
    if client.secret_input:
        inputs = data.get("inputs", [])
        if not isinstance(inputs, list):
            raise ConfigError(
                f"{path} has an 'inputs' that is not a list: fix it and run install again; nothing was changed."
            )
        kept = [i for i in inputs if not (isinstance(i, dict) and i.get("id") == VSCODE_INPUT_ID)]
        data["inputs"] = [*kept, dict(VSCODE_INPUT)]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _merge_toml(client: Client, path: Path, text: str, name: str, entry: Entry) -> str:
    import tomllib

    import tomlkit

    try:
        tomllib.loads(text)
        document = tomlkit.parse(text)
    except (tomllib.TOMLDecodeError, tomlkit.exceptions.ParseError) as exc:
        raise ConfigError(
            f"{path} is not valid TOML ({str(exc).splitlines()[0]}): fix or move it and run install again; "
            "nothing was changed."
        ) from None
    servers = document.get(client.servers_key)
    if servers is None:
        servers = tomlkit.table(is_super_table=True)
        document[client.servers_key] = servers
    elif not isinstance(servers, dict):
        raise ConfigError(
            f"{path} has a {client.servers_key!r} that is not a table: fix it and run install again; "
            "nothing was changed."
        )
    table = tomlkit.table()
    shaped = client.shape(entry)
    table["command"] = shaped["command"]
    table["args"] = shaped["args"]
    if "env" in shaped:
        env = tomlkit.inline_table()
        env.update(shaped["env"])
        table["env"] = env
    if name in servers:
        del servers[name]
    servers[name] = table
    out = tomlkit.dumps(document)
    return out if out.endswith("\n") else out + "\n"


PRIVATE = 0o600
"""Client config files hold API keys (ours and other servers'): the file and every backup end owner-only."""


def _target(path: Path) -> Path:
    """Where ``path``'s bytes live: a symlink's target (written in place, the link kept), else ``path``."""
    return path.resolve() if path.is_symlink() else path


def _private_copy(source: Path, backup: Path) -> None:
    """Copy ``source`` to a new ``backup`` that is owner-only from its first byte."""
    fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(source.read_bytes())
    os.chmod(backup, PRIVATE)  # whatever the umask left


def _write(path: Path, text: str) -> Path | None:
    """Replace ``path``'s content with ``text`` atomically, owner-only; back the old file up first (owner-only too).

    A symlink is followed: its target is replaced and the link stays a link. Returns the backup's path.
    """
    target = _target(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    backup = None
    if target.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        backup = path.with_name(f"{path.name}.{stamp}.bak")
        _private_copy(target, backup)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, PRIVATE)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return backup


@dataclass(frozen=True)
class Outcome:
    path: Path
    changed: bool
    backup: Path | None
    dropped_comments: bool = False
    """The old file was JSONC: its comments (and trailing commas) are only in the backup now."""
    made_private: bool = False
    """The file was readable by others and is owner-only now."""


def check(client: Client, path: Path) -> None:
    """Raise the one-sentence ConfigError if ``path`` exists but cannot take an entry."""
    if path.exists():
        merge = _merge_toml if client.format == "toml" else _merge_json
        merge(client, path, path.read_text(encoding="utf-8"), "kupe-check", Entry("x", (), {}))


def install(client: Client, path: Path, name: str, entry: Entry) -> Outcome:
    """Put ``entry`` under ``name`` in ``path``; nothing is written when it is already there as given."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    merge = _merge_toml if client.format == "toml" else _merge_json
    new = merge(client, path, text, name, entry)
    if text and _same(client, path, text, new):
        target = _target(path)
        wide = bool(target.stat().st_mode & 0o077)
        if wide:
            os.chmod(target, PRIVATE)
        return Outcome(path, changed=False, backup=None, made_private=wide)
    dropped = client.format == "json" and bool(text.strip()) and not is_plain_json(text)
    return Outcome(path, changed=True, backup=_write(path, new), dropped_comments=dropped)


def _same(client: Client, path: Path, old: str, new: str) -> bool:
    if client.format == "toml":
        import tomllib

        return tomllib.loads(old) == tomllib.loads(new)
    return bool(_parse_json(path, old) == json.loads(new))


# --- the command ---------------------------------------------------------------------------------------------------


def add_install_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "install",
        help="add this server to an MCP client's config (claude-desktop, claude-code, cursor, vscode, codex)",
        description="Write this server's entry into an MCP client's own config file, keeping every other entry; "
        "the file is backed up first, and an unchanged entry is not rewritten.",
    )
    parser.add_argument("client", choices=sorted(CLIENTS))
    parser.add_argument("--print", action="store_true", help="show the entry and where it goes; change nothing")
    parser.add_argument("--sandbox", action="store_true", help="a try-it entry on the embedded sandbox (no API key)")
    parser.add_argument("--name", help="the entry's name (default kupe, or kupe-sandbox with --sandbox)")
    parser.add_argument("--config", type=Path, help="the client's config file (default: the client's own location)")
    parser.add_argument(
        "--runner",
        choices=("venv", "uvx-checkout", "uvx"),
        default="venv",
        help="venv: this environment's kupe-app-mcp by absolute path (default); uvx-checkout: uvx --from this "
        "checkout; uvx: uvx kupe-app-mcp (needs the PyPI release)",
    )


def _api_key(environ: Mapping[str, str], ask: Callable[[str], str]) -> str:
    key = environ.get("KUPE_API_KEY", "").strip()
    if key:
        return key
    if not sys.stdin.isatty():
        raise ConfigError("No API key: set KUPE_API_KEY, run install in a terminal to be asked, or use --sandbox.")
    key = ask("Kupe App API key (not shown): ").strip()
    if not key:
        raise ConfigError("No API key was entered: nothing was changed.")
    return key


def run_install(
    args: argparse.Namespace,
    environ: Mapping[str, str] | None = None,
    ask: Callable[[str], str] = getpass.getpass,
    out: Any = None,
) -> int:
    """The ``install`` command; human lines go to stderr, ``--print`` output to stdout."""
    environ = os.environ if environ is None else environ
    out = out or sys.stdout
    client = CLIENTS[args.client]
    name = args.name or ("kupe-sandbox" if args.sandbox else "kupe")
    command = entry_command(args.runner)
    server_args = [*command[1:], *(["--sandbox"] if args.sandbox else [])]
    path = args.config or client.default_path()

    def entry_with(key: str | None) -> Entry:
        if args.sandbox:
            return Entry(command[0], tuple(server_args), {})
        value = f"${{input:{VSCODE_INPUT_ID}}}" if client.secret_input else key or KEY_PLACEHOLDER
        return Entry(command[0], tuple(server_args), {"KUPE_API_KEY": value})

    if args.print:
        shown = entry_with(None)
        print(f"# {client.title}: {path}", file=out)
        print(_snippet(client, name, shown), file=out)
        if client.name == "claude-code":
            print(f"# or: {shlex.join(claude_code_add(name, shown))}", file=out)
        return 0

    check(client, path)  # refuse a broken file before asking anyone for a key
    key = None if args.sandbox or client.secret_input else _api_key(environ, ask)
    outcome = install(client, path, name, entry_with(key))
    if not outcome.changed:
        private = " (it is now readable by you only: it holds API keys)" if outcome.made_private else ""
        print(f"{client.title}: {name!r} in {path} is already current; nothing else changed{private}.", file=sys.stderr)
    else:
        saved = f" (the previous file is saved as {outcome.backup})" if outcome.backup else ""
        print(f"{client.title}: wrote {name!r} to {path}{saved}. Restart {client.title} to load it.", file=sys.stderr)
        if outcome.dropped_comments:
            print(
                f"{path} had comments or trailing commas (JSONC); install writes plain JSON, so they are only in "
                f"{outcome.backup} now.",
                file=sys.stderr,
            )
        if key:
            print(f"The API key is stored in {path}; keep that file private.", file=sys.stderr)
    return 0


def claude_code_add(name: str, entry: Entry) -> list[str]:
    """``claude mcp add`` for a stdio entry, user scope.

    Claude Code's ``--env`` takes any number of values: ``--env KEY=VALUE kupe -- …`` would read the server's name as a
    second variable and then miss it ("missing required argument"). Each variable is written ``--env=KEY=VALUE``, one
    value, so the name stays the name.
    """
    env = [f"--env={key}={value}" for key, value in entry.env.items()]
    return ["claude", "mcp", "add", "--scope", "user", *env, name, "--", entry.command, *entry.args]


def claude_code_add_http(name: str, url: str) -> list[str]:
    """``claude mcp add`` for a server already serving streamable HTTP at ``url``."""
    return ["claude", "mcp", "add", "--transport", "http", name, url]


def mcp_remote_config(name: str, url: str) -> dict[str, Any]:
    """A stdio-only client's (Claude Desktop's) entry for an HTTP server, through the ``mcp-remote`` bridge."""
    return {"mcpServers": {name: {"command": "npx", "args": ["-y", "mcp-remote", url]}}}


def by_hand(root: str = "/path/to/kupe-app-mcp", url: str = "http://127.0.0.1:8765/mcp") -> str:
    """The README's "By hand" section: what ``install`` writes for a checkout at ``root``, from the same code.

    ``python -m kupe_mcp.dist.docs`` puts it between its markers in README.md, and a test fails when it is stale.
    """
    command = f"{root}/.venv/bin/kupe-app-mcp"
    keyed = Entry(command, (), {"KUPE_API_KEY": KEY_PLACEHOLDER})
    vscode = Entry(command, (), {"KUPE_API_KEY": f"${{input:{VSCODE_INPUT_ID}}}"})
    http_vscode = {"servers": {"kupe": {"type": "http", "url": url}}}
    inspector = ["npx", "@modelcontextprotocol/inspector", ".venv/bin/kupe-app-mcp", "--sandbox"]
    fence = "```"
    return "\n".join(
        [
            f"What `install` writes, for a checkout at `{root}` (run `make .venv/.installed` there first). Replace",
            f"`{KEY_PLACEHOLDER}` with your key, or let `install` ask for it.",
            "",
            "**Claude Desktop** and **Cursor**:",
            "",
            f"{fence}json",
            _snippet(CLIENTS["claude-desktop"], "kupe", keyed),
            fence,
            "",
            "**Claude Code** (the second line over HTTP, while `make run` serves):",
            "",
            f"{fence}sh",
            shlex.join(claude_code_add("kupe", keyed)),
            shlex.join(claude_code_add_http("kupe", url)),
            fence,
            "",
            "**VS Code** (`.vscode/mcp.json`; VS Code asks for the key itself):",
            "",
            f"{fence}json",
            _snippet(CLIENTS["vscode"], "kupe", vscode),
            fence,
            "",
            f"For HTTP: `{json.dumps(http_vscode)}`.",
            "",
            "**Codex** (`~/.codex/config.toml`):",
            "",
            f"{fence}toml",
            _snippet(CLIENTS["codex"], "kupe", keyed),
            fence,
            "",
            '`--runner uvx` writes `"command": "uvx", "args": ["kupe-app-mcp"]` instead of the absolute path, once the',
            "package is on PyPI.",
            "",
            f"**MCP Inspector**: `{shlex.join(inspector)}`, or connect it to",
            f'`{url}` with transport "Streamable HTTP" while `make run` is serving.',
            "",
        ]
    )


def _snippet(client: Client, name: str, entry: Entry) -> str:
    """The entry alone, as it would appear in the client's file."""
    if client.format == "toml":
        return _merge_toml(client, Path("-"), "", name, entry).strip()
    return _merge_json(client, Path("-"), "", name, entry).strip()
