"""Every line a person pastes from the README either comes from the code ``install --print`` uses or is parsed here.

The "By hand" section is generated from ``kupe_mcp.dist.install.by_hand`` (``python -m kupe_mcp.dist.docs``). Each
``kupe-app-mcp`` command line in the README goes through the CLI's own parser, each ``make`` line names a Makefile
target, and each ``claude mcp add`` line through a model of how Claude Code's option parser (commander) reads it.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from kupe_mcp.__main__ import _parse
from kupe_mcp.dist.docs import INSTALL_BEGIN, INSTALL_END
from kupe_mcp.dist.install import Entry, by_hand, claude_code_add, claude_code_add_http

from .test_install import _args, _run

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()

# `claude mcp add`'s options: True where commander reads any number of values (`--env <env...>`).
CLAUDE_OPTIONS = {
    "-s": False,
    "--scope": False,
    "-t": False,
    "--transport": False,
    "-e": True,
    "--env": True,
    "-H": True,
    "--header": True,
}


def claude_mcp_add(argv: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Options and operands of ``claude mcp add …`` as commander reads them.

    A variadic option given as ``--env VALUE`` keeps taking the words after it until the next option; given as
    ``--env=VALUE`` it takes that one value. Everything after ``--`` is an operand.
    """
    assert argv[:3] == ["claude", "mcp", "add"], argv
    words = argv[3:]
    options: dict[str, list[str]] = {}
    operands: list[str] = []
    variadic: str | None = None
    while words:
        word = words.pop(0)
        if word == "--":
            operands += words
            break
        if variadic and not word.startswith("-"):
            options[variadic].append(word)
            continue
        variadic = None
        name, eq, value = word.partition("=")
        if word.startswith("-") and name in CLAUDE_OPTIONS:
            option = name.lstrip("-")
            if eq:
                options.setdefault(option, []).append(value)
                continue
            options.setdefault(option, []).append(words.pop(0))
            variadic = option if CLAUDE_OPTIONS[name] else None
            continue
        assert not word.startswith("-"), f"claude mcp add has no option {word}"
        operands.append(word)
    return options, operands


def command_lines(text: str) -> list[str]:
    """Lines of ``sh`` code blocks and inline code spans: what a person copies."""
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        lines += [line for line in block.splitlines() if line.strip()]
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    lines += re.findall(r"`([^`\n]+)`", prose)
    return lines


def words_of(line: str, program: str) -> list[str] | None:
    """The words after ``program`` in a shell line (comments and a trailing ``&`` dropped), or None."""
    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        return None
    for i, word in enumerate(words):
        if word == program or word.endswith("/" + program):
            rest = words[i + 1 :]
            return rest[: rest.index("&")] if "&" in rest else rest
    return None


def test_the_readme_by_hand_section_is_what_install_generates() -> None:
    current = README.split(INSTALL_BEGIN)[1].split(INSTALL_END)[0]
    assert current.strip() == by_hand().strip(), "README client entries are stale: run python -m kupe_mcp.dist.docs"


def test_the_old_readme_claude_code_line_loses_its_name_in_the_model_of_claudes_parser() -> None:
    old = "claude mcp add --scope user --env KUPE_API_KEY=<key> kupe -- /path/kupe-app-mcp"
    options, operands = claude_mcp_add(shlex.split(old))
    assert options["env"] == ["KUPE_API_KEY=<key>", "kupe"]
    assert operands == ["/path/kupe-app-mcp"]  # name "/path/kupe-app-mcp", no commandOrUrl: Claude Code refuses


def test_every_claude_mcp_add_line_in_the_readme_keeps_its_name_and_command() -> None:
    lines = [line for line in command_lines(README) if line.startswith("claude mcp add")]
    # stdio with a key (install), HTTP with a key in the environment, HTTP with OAuth sign-in
    assert len(lines) == 3
    for line in lines:
        options, operands = claude_mcp_add(shlex.split(line))
        assert operands[0] == "kupe", line
        assert operands[1].startswith(("/", "http://")), line
        assert all(re.fullmatch(r"[A-Z_]+=.+", value) for value in options.get("env", [])), line


def test_the_claude_code_lines_install_prints_parse_as_claude_reads_them(tmp_path: Path) -> None:
    _, shown = _run(_args("claude-code", tmp_path / "c", "--print"))
    (line,) = [ln.removeprefix("# or: ") for ln in shown.splitlines() if ln.startswith("# or: claude mcp add")]
    options, operands = claude_mcp_add(shlex.split(line))
    assert options["env"] == ["KUPE_API_KEY=<your Kupe API key>"]
    assert operands[0] == "kupe"
    assert operands[1].endswith("kupe-app-mcp")
    http = claude_code_add_http("kupe", "http://127.0.0.1:8765/mcp")
    assert claude_mcp_add(http) == ({"transport": ["http"]}, ["kupe", "http://127.0.0.1:8765/mcp"])
    two = Entry("/bin/kupe-app-mcp", ("--read-only",), {"KUPE_API_KEY": "k", "KUPE_TOOLSETS": "all"})
    assert claude_mcp_add(claude_code_add("kupe", two)) == (
        {"scope": ["user"], "env": ["KUPE_API_KEY=k", "KUPE_TOOLSETS=all"]},
        ["kupe", "/bin/kupe-app-mcp", "--read-only"],
    )


KUPE_LINES = [w for line in command_lines(README) if (w := words_of(line, "kupe-app-mcp")) is not None]


@pytest.mark.parametrize("words", KUPE_LINES, ids=shlex.join)
def test_every_kupe_app_mcp_line_in_the_readme_parses(words: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        _parse(words)
    except SystemExit as exc:  # --help and --version end in exit 0
        if exc.code != 0:
            pytest.fail(f"`kupe-app-mcp {shlex.join(words)}` from the README does not parse: {capsys.readouterr().err}")


def test_the_readme_has_the_kupe_app_mcp_lines_it_is_checked_for() -> None:
    assert ["install", "codex", "--print"] in KUPE_LINES
    assert ["sandbox-api", "--port", "8766"] in KUPE_LINES


def test_every_make_line_in_the_readme_names_a_target() -> None:
    named = [w for line in command_lines(README) if (w := words_of(line, "make")) is not None]
    assert ["run", "PORT=8780"] in named
    for words in named:
        dry = subprocess.run(  # noqa: S603
            ["make", "-n", "-C", str(ROOT), *words],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
            env={k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}},
        )
        assert dry.returncode == 0, (words, dry.stderr)
