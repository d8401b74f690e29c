"""``kupe-app-mcp install <client>`` on temp copies of each client's config file."""

from __future__ import annotations

import argparse
import io
import json
import os
import tomllib
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from kupe_mcp.__main__ import _parse, main
from kupe_mcp.dist.install import CLIENTS, KEY_PLACEHOLDER, entry_command, run_install
from kupe_mcp.errors import ConfigError

KEY = "kupe_live_0123456789abcdef"

# A realistic existing file per client, with entries and settings that must survive.
EXISTING: dict[str, str] = {
    "claude-desktop": json.dumps(
        {"mcpServers": {"files": {"command": "npx", "args": ["-y", "fs"]}}, "globalShortcut": "Ctrl+Space"}
    ),
    "claude-code": json.dumps(
        {
            "numStartups": 3,
            "projects": {"/src/x": {"mcpServers": {"local": {"type": "stdio", "command": "x"}}}},
            "mcpServers": {"github": {"type": "http", "url": "https://api.example/mcp"}},
        }
    ),
    "cursor": json.dumps({"mcpServers": {"db": {"url": "http://127.0.0.1:9000/mcp"}}}),
    "vscode": json.dumps(
        {
            "servers": {"other": {"type": "stdio", "command": "other"}},
            "inputs": [{"type": "promptString", "id": "other-token", "description": "t", "password": True}],
        }
    ),
    "codex": (
        '# my codex settings\nmodel = "o4"\n\n[mcp_servers.docs]\ncommand = "npx"  # keep me\nargs = ["-y", "docs"]\n\n'
        '[profiles.fast]\nmodel = "mini"\n'
    ),
}
OTHER_ENTRY = {"claude-desktop": "files", "claude-code": "github", "cursor": "db", "vscode": "other", "codex": "docs"}


def _args(client: str, path: Path, *extra: str) -> argparse.Namespace:
    return _parse(["install", client, "--config", str(path), *extra])


def _load(client: str, path: Path) -> dict[str, Any]:
    text = path.read_text()
    loaded: dict[str, Any] = tomllib.loads(text) if client == "codex" else json.loads(text)
    return loaded


def _servers(client: str, data: dict[str, Any]) -> dict[str, Any]:
    servers: dict[str, Any] = data[CLIENTS[client].servers_key]
    return servers


def _run(args: argparse.Namespace, environ: dict[str, str] | None = None) -> tuple[int, str]:
    out = io.StringIO()
    status = run_install(args, environ={"KUPE_API_KEY": KEY} if environ is None else environ, out=out)
    return status, out.getvalue()


def _backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.*.bak"))


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_install_adds_the_entry_and_keeps_every_other_entry(client: str, tmp_path: Path) -> None:
    path = tmp_path / ("config.toml" if client == "codex" else "config.json")
    path.write_text(EXISTING[client])
    before = _load(client, path)

    assert _run(_args(client, path))[0] == 0

    after = _load(client, path)
    servers = _servers(client, after)
    assert servers[OTHER_ENTRY[client]] == _servers(client, before)[OTHER_ENTRY[client]]
    assert {k: v for k, v in after.items() if k not in {CLIENTS[client].servers_key, "inputs"}} == {
        k: v for k, v in before.items() if k not in {CLIENTS[client].servers_key, "inputs"}
    }
    entry = servers["kupe"]
    assert entry["command"] == entry_command("venv")[0]
    assert Path(entry["command"]).is_absolute()
    expected_key = "${input:kupe-api-key}" if client == "vscode" else KEY
    assert entry["env"] == {"KUPE_API_KEY": expected_key}
    (backup,) = _backups(path)
    assert backup.read_text() == EXISTING[client]


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_installing_twice_changes_nothing_the_second_time(client: str, tmp_path: Path) -> None:
    path = tmp_path / "cfg"
    path.write_text(EXISTING[client])
    _run(_args(client, path))
    first = path.read_bytes()
    _run(_args(client, path))
    assert path.read_bytes() == first
    assert len(_backups(path)) == 1


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_a_malformed_file_is_refused_in_one_sentence_and_left_untouched(
    client: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cfg"
    broken = '[mcp_servers.docs\ncommand = "npx"\n' if client == "codex" else '{"mcpServers": {"a": 1},,}'
    path.write_text(broken)
    status = main(["install", client, "--config", str(path)])
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(path) in err
    assert err.endswith("nothing was changed.")
    assert path.read_text() == broken
    assert _backups(path) == []


def test_a_json_file_whose_servers_are_not_an_object_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cfg.json"
    path.write_text('{"mcpServers": ["a"]}')
    with pytest.raises(Exception, match=r"does not hold a JSON object with a 'mcpServers' object"):
        _run(_args("cursor", path))
    assert path.read_text() == '{"mcpServers": ["a"]}'


def test_codex_keeps_comments_and_other_tables_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(EXISTING["codex"])
    _run(_args("codex", path))
    text = path.read_text()
    assert text.startswith(EXISTING["codex"].split("[profiles.fast]")[0].rstrip("\n"))
    assert 'command = "npx"  # keep me' in text
    assert '[profiles.fast]\nmodel = "mini"' in text
    assert tomllib.loads(text)["mcp_servers"]["kupe"]["env"] == {"KUPE_API_KEY": KEY}


def test_vscode_gets_its_secret_input_once_and_no_key_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(EXISTING["vscode"])
    _run(_args("vscode", path), environ={})  # no key needed: VS Code asks the person
    _run(_args("vscode", path), environ={"KUPE_API_KEY": KEY})
    data = json.loads(path.read_text())
    assert [i["id"] for i in data["inputs"]] == ["other-token", "kupe-api-key"]
    assert data["inputs"][1]["password"] is True
    assert KEY not in path.read_text()


def test_a_new_file_is_created_private_with_its_folders(tmp_path: Path) -> None:
    path = tmp_path / "Claude" / "claude_desktop_config.json"
    _run(_args("claude-desktop", path))
    assert json.loads(path.read_text())["mcpServers"]["kupe"]["env"]["KUPE_API_KEY"] == KEY
    assert path.stat().st_mode & 0o777 == 0o600
    assert _backups(path) == []


VSCODE_JSONC = """{
  // my servers
  "servers": {
    "other": { "type": "stdio", "command": "other", }, /* kept */
  },
}
"""


def test_vscode_reads_jsonc_and_says_its_comments_are_only_in_the_backup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(VSCODE_JSONC)

    assert main(["install", "vscode", "--config", str(path)]) == 0

    data = json.loads(path.read_text())
    assert data["servers"]["other"] == {"type": "stdio", "command": "other"}
    assert data["servers"]["kupe"]["env"] == {"KUPE_API_KEY": "${input:kupe-api-key}"}
    (backup,) = _backups(path)
    assert backup.read_text() == VSCODE_JSONC
    err = capsys.readouterr().err
    assert (
        f"{path} had comments or trailing commas (JSONC); install writes plain JSON, so they are only in {backup}"
        in err
    )
    assert main(["install", "vscode", "--config", str(path)]) == 0  # now plain JSON and current: nothing to say
    assert "comments" not in capsys.readouterr().err
    assert len(_backups(path)) == 1


def test_a_jsonc_file_that_is_still_broken_is_refused_with_its_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text('{\n  // servers\n  "servers": {"a": }\n}\n')
    with pytest.raises(ConfigError, match=r"is not valid JSON or JSONC \(line 3, column 20: Unexpected \"}\"\)"):
        _run(_args("vscode", path))


def test_a_file_others_could_read_and_its_backup_end_readable_by_the_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(EXISTING["claude-desktop"])
    path.chmod(0o644)

    _run(_args("claude-desktop", path))

    assert path.stat().st_mode & 0o777 == 0o600
    (backup,) = _backups(path)
    assert backup.stat().st_mode & 0o777 == 0o600


def test_an_unchanged_entry_in_a_file_others_could_read_is_made_private(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mcp.json"
    _run(_args("cursor", path))
    path.chmod(0o644)

    _run(_args("cursor", path))

    assert path.stat().st_mode & 0o777 == 0o600
    assert "it is now readable by you only" in capsys.readouterr().err
    assert _backups(path) == []


def test_a_symlinked_config_is_written_at_its_target_and_stays_a_link(tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    target = dotfiles / "cursor-mcp.json"
    target.write_text(EXISTING["cursor"])
    target.chmod(0o644)
    link = tmp_path / ".cursor" / "mcp.json"
    link.parent.mkdir()
    link.symlink_to(target)

    _run(_args("cursor", link))

    assert link.is_symlink()
    assert link.resolve() == target
    assert json.loads(target.read_text())["mcpServers"]["kupe"]["env"] == {"KUPE_API_KEY": KEY}
    assert target.stat().st_mode & 0o777 == 0o600
    (backup,) = _backups(link)
    assert not backup.is_symlink()
    assert backup.read_text() == EXISTING["cursor"]
    assert backup.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in dotfiles.iterdir()) == ["cursor-mcp.json"]  # no temp file left behind


def test_the_key_is_asked_for_without_echo_when_not_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return f" {KEY} "

    path = tmp_path / "mcp.json"
    assert run_install(_args("cursor", path), environ={}, ask=ask, out=io.StringIO()) == 0
    assert len(asked) == 1
    assert json.loads(path.read_text())["mcpServers"]["kupe"]["env"]["KUPE_API_KEY"] == KEY
    captured = capsys.readouterr()
    assert KEY not in captured.out + captured.err


def test_without_a_key_or_a_terminal_install_refuses_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    path = tmp_path / "mcp.json"
    with pytest.raises(Exception, match="set KUPE_API_KEY"):
        run_install(_args("cursor", path), environ={}, out=io.StringIO())
    assert not path.exists()


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_print_shows_the_entry_without_the_key_and_writes_nothing(client: str, tmp_path: Path) -> None:
    path = tmp_path / "cfg"
    status, shown = _run(_args(client, path, "--print"))
    assert status == 0
    assert KEY not in shown
    assert not path.exists()
    body = "\n".join(line for line in shown.splitlines() if not line.startswith("#"))
    data: dict[str, Any] = tomllib.loads(body) if client == "codex" else json.loads(body)
    entry = _servers(client, data)["kupe"]
    assert entry["env"]["KUPE_API_KEY"] == ("${input:kupe-api-key}" if client == "vscode" else KEY_PLACEHOLDER)


def test_print_for_claude_code_also_gives_the_claude_mcp_add_line(tmp_path: Path) -> None:
    _, shown = _run(_args("claude-code", tmp_path / "c", "--print"))
    (line,) = [ln for ln in shown.splitlines() if ln.startswith("# or: claude mcp add")]
    assert "--scope user" in line
    assert f"-- {entry_command('venv')[0]}" in line


def test_sandbox_entry_has_no_key_and_its_own_name(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    _run(_args("cursor", path), environ={"KUPE_API_KEY": KEY})
    _run(_args("cursor", path, "--sandbox"), environ={})
    servers = json.loads(path.read_text())["mcpServers"]
    assert servers["kupe-sandbox"]["args"][-1] == "--sandbox"
    assert "env" not in servers["kupe-sandbox"]
    assert servers["kupe"]["env"]["KUPE_API_KEY"] == KEY


def test_runner_choices_give_the_checkout_or_the_pypi_command() -> None:
    checkout = entry_command("uvx-checkout")
    assert checkout[:2] == ["uvx", "--from"]
    assert (Path(checkout[2]) / "pyproject.toml").is_file()
    assert checkout[3] == "kupe-app-mcp"
    assert entry_command("uvx") == ["uvx", "kupe-app-mcp"]


def test_default_paths_are_each_clients_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("CODEX_HOME", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.platform", "darwin")
    assert CLIENTS["claude-desktop"].default_path() == (
        tmp_path / "Library" / "Application Support" / "Claude" / "claude_desktop_config.json"
    )
    monkeypatch.setattr("sys.platform", "linux")
    assert CLIENTS["claude-desktop"].default_path() == tmp_path / ".config" / "Claude" / "claude_desktop_config.json"
    assert CLIENTS["claude-code"].default_path() == tmp_path / ".claude.json"
    assert CLIENTS["cursor"].default_path() == tmp_path / ".cursor" / "mcp.json"
    assert CLIENTS["vscode"].default_path() == tmp_path / ".vscode" / "mcp.json"
    assert CLIENTS["codex"].default_path() == tmp_path / ".codex" / "config.toml"


@pytest.mark.anyio
async def test_the_written_entry_starts_a_working_server(tmp_path: Path, client_mode: str) -> None:
    """The entry a client would run really serves MCP: start it as the client would and list tools."""
    path = tmp_path / "claude_desktop_config.json"
    _run(_args("claude-desktop", path, "--sandbox"), environ={})
    entry = json.loads(path.read_text())["mcpServers"]["kupe-sandbox"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUPE_")}
    params = StdioServerParameters(command=entry["command"], args=entry["args"], env=env)
    async with Client(params, mode=client_mode) as mcp:
        result = await mcp.call_tool("whoami", {})
    assert not result.is_error, result.content
