"""The settings table is the one declaration: parsing, errors, flags, README and server.json all follow it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from kupe_mcp.__main__ import _parse, _parser
from kupe_mcp.config import SETTINGS, TOOL_VARIABLES, Credentials, Setting, Settings, unknown_variables
from kupe_mcp.dist.docs import (
    SETTINGS_BEGIN,
    SETTINGS_END,
    render_environment_variables,
    render_settings_table,
)
from kupe_mcp.errors import ConfigError

ROOT = Path(__file__).parent.parent
FIELD_ROWS = [row for row in SETTINGS if row.field]
ENV_ROWS = [row for row in SETTINGS if row.env]

# Fields that are not settings a person sets (derived or fixed in code).
NOT_SETTINGS = {"credentials", "connect_timeout_s", "calling_hours_advisory"}

# A value each reader must refuse.
BAD: dict[str, str] = {
    "url": "ftp://example.com",
    "bool": "sometimes",
    "int": "lots",
    "float": "five",
    "hours": "9 to 5",
    "prefixes": "+91,919876543210",
    "region": "India",
    "choice": "loudest",
}


def _model_field(path: str) -> Any:
    model: type[BaseModel] = Settings
    *parents, last = path.split(".")
    for part in parents:
        annotation = model.model_fields[part].annotation
        assert isinstance(annotation, type)
        assert issubclass(annotation, BaseModel)
        model = annotation
    return model.model_fields[last]


def test_every_settings_field_has_exactly_one_row() -> None:
    fields = {row.field for row in FIELD_ROWS}
    expected = (set(Settings.model_fields) - NOT_SETTINGS) | {f"credentials.{f}" for f in Credentials.model_fields}
    assert fields == expected
    assert len(FIELD_ROWS) == len(fields)
    names = [row.name for row in SETTINGS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("row", [r for r in FIELD_ROWS if r.default], ids=lambda r: r.name)
def test_a_rows_default_is_the_settings_fields_default(row: Setting) -> None:
    assert row.field is not None
    assert row.read(row.default) == _model_field(row.field).default


@pytest.mark.parametrize("row", [r for r in ENV_ROWS if r.kind in BAD], ids=lambda r: r.name)
def test_a_bad_variable_is_one_sentence_naming_it_and_how_to_fix_it(row: Setting) -> None:
    assert row.env is not None
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({row.env: BAD[row.kind]})
    message = str(caught.value)
    assert message.startswith(f"{row.env}={BAD[row.kind]!r} is not ")
    assert message.endswith(".")
    assert ": use " in message
    assert message.replace("e.g. ", "").count(". ") == 0


def test_an_out_of_range_value_names_the_variable_and_the_limit() -> None:
    with pytest.raises(ConfigError, match=r"^KUPE_TIMEOUT_S='0' is not allowed: input should be greater than 0\.$"):
        Settings.from_env({"KUPE_TIMEOUT_S": "0"})


def test_a_flag_wins_over_its_variable_and_its_errors_name_the_flag() -> None:
    settings = Settings.from_env({"KUPE_TOOLSETS": "agents", "KUPE_READ_ONLY": "0"}, cli={"toolsets": "calls, phone"})
    assert settings.toolsets == ("calls", "phone")
    assert settings.read_only is False
    assert Settings.from_env({"KUPE_READ_ONLY": "0"}, cli={"read_only": True}).read_only is True
    with pytest.raises(ConfigError, match=r"^--log-level='loud' is not one of the choices"):
        Settings.from_env({"KUPE_LOG_LEVEL": "DEBUG"}, cli={"log_level": "loud"})


def test_an_empty_variable_counts_as_unset_so_confirmation_stays_on() -> None:
    assert Settings.from_env({"KUPE_CONFIRM_CALLS": ""}).confirm_calls is True
    assert Settings.from_env({"KUPE_CONFIRM_CALLS": " "}).confirm_calls is True


def test_credentials_and_the_sandbox_switch_come_from_their_rows() -> None:
    settings = Settings.from_env({"KUPE_API_KEY": " k1 ", "KUPE_SANDBOX": "yes", "KUPE_LOG_LEVEL": "debug"})
    assert settings.credentials.api_key is not None
    assert settings.credentials.api_key.get_secret_value() == "k1"
    assert settings.sandbox is True
    assert settings.log_level == "DEBUG"


def test_serve_help_lists_every_flag_with_its_variable() -> None:
    (sub,) = (a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    serve = sub.choices["serve"]
    text = " ".join(serve.format_help().split())
    for row in SETTINGS:
        if row.flag:
            assert row.flag in text
            if row.env:
                assert f"env {row.env}" in text


def test_serve_help_lists_every_setting_with_its_variable_flag_default_and_meaning() -> None:
    (sub,) = (a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    text = sub.choices["serve"].format_help()
    settings = " ".join(text.split("settings (environment variable")[1].split())
    for row in SETTINGS:
        names = ", ".join(n for n in (row.env, row.flag) if n)
        assert names in settings, row.name
        default = (row.shown_default or row.default).replace("`", "").split(" ")[0]
        if default and default != "—":
            assert f"{names} (default: {default}" in settings, row.name
        assert " ".join(row.plain_meaning.split()) in settings, row.name


def test_the_top_level_help_says_how_to_pass_the_api_key(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parse(["--help"])
    text = capsys.readouterr().out
    assert "KUPE_API_KEY=<key> kupe-app-mcp" in text
    assert "serve --help` lists every setting" in text


def test_a_misspelt_variable_is_named_with_the_setting_it_is_closest_to() -> None:
    assert unknown_variables({"KUPE_TOOLSET": "all", "KUPE_TOOLSETS": "all", "HOME": "/root"}) == [
        "KUPE_TOOLSET is not a kupe-app-mcp setting and is ignored: did you mean KUPE_TOOLSETS?"
    ]
    assert unknown_variables({"KUPE_FROBNICATE": "1"}) == [
        "KUPE_FROBNICATE is not a kupe-app-mcp setting and is ignored: `kupe-app-mcp serve --help` lists every setting."
    ]


def test_settings_and_the_test_tools_variables_are_not_warned_about() -> None:
    environ = {row.env: "x" for row in SETTINGS if row.env} | dict.fromkeys(TOOL_VARIABLES, "/x")
    assert unknown_variables(environ) == []


def test_every_kupe_variable_the_project_reads_is_a_setting_or_a_test_tools_variable() -> None:
    import re

    read = set()
    for path in [ROOT / "Makefile", *(ROOT / "kupe_mcp").rglob("*.py"), ROOT / "tests" / "_node.py"]:
        read |= set(re.findall(r"\bKUPE_[A-Z_]+[A-Z]\b", path.read_text()))
    assert read
    assert read <= {row.env for row in SETTINGS if row.env} | set(TOOL_VARIABLES)
    assert set(TOOL_VARIABLES) <= read  # each exception is still used


def test_cli_only_options_parse_with_their_rows_defaults() -> None:
    args = _parse([])
    assert (args.transport, args.host, args.port) == ("stdio", "127.0.0.1", 8765)
    assert _parse(["--port", "9000", "--transport", "http"]).port == 9000


def test_readme_settings_table_is_generated_from_the_table() -> None:
    text = (ROOT / "README.md").read_text()
    current = text.split(SETTINGS_BEGIN)[1].split(SETTINGS_END)[0].strip()
    assert current == render_settings_table().strip(), (
        "README settings table is stale: run python -m kupe_mcp.dist.docs"
    )


def test_server_json_lists_every_variable_from_the_table_with_secrets_marked() -> None:
    server = json.loads((ROOT / "server.json").read_text())
    for package in server["packages"]:
        assert package["environmentVariables"] == render_environment_variables(), "run python -m kupe_mcp.dist.docs"
    listed = {e["name"]: e for e in render_environment_variables()}
    assert set(listed) == {row.env for row in ENV_ROWS}
    assert {name for name, e in listed.items() if e["isSecret"]} == {
        "KUPE_API_KEY",
        "KUPE_BEARER_TOKEN",
        "KUPE_MCP_TOKEN",
        "KUPE_STATE_SECRET",
        "KUPE_STATE_SECRET_PREVIOUS",
    }


def test_a_row_with_its_own_reader_gets_its_own_sentence() -> None:
    row = Setting(
        "KUPE_X",
        None,
        "int",
        "a cap, or off",
        reader=lambda raw: None if raw.strip().lower() == "off" else int(raw),
        expects="a whole number or off",
        example="e.g. 500, or off",
    )
    assert row.read("off") is None
    assert row.read("7") == 7
    with pytest.raises(ConfigError, match=r"^KUPE_X='lots' is not a whole number or off: use e.g\. 500, or off\.$"):
        row.read("lots")


def _at_least_16(raw: str) -> SecretStr:
    if len(raw.strip()) < 16:
        raise ValueError("too short")
    return SecretStr(raw.strip())


def test_a_bad_secret_is_named_but_never_repeated() -> None:
    row = Setting("KUPE_S", None, "secret", "a secret", reader=_at_least_16, expects="16 characters or more")
    assert row.read("0123456789abcdef").get_secret_value() == "0123456789abcdef"
    with pytest.raises(ConfigError) as caught:
        row.read("hunter2-hunter2")
    assert str(caught.value) == "KUPE_S is not 16 characters or more."
    assert "hunter2" not in str(caught.value)
