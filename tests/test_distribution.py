"""server.json is valid for the MCP registry and agrees with the package."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from kupe_mcp import __version__

ROOT = Path(__file__).parent.parent


def test_server_json_validates_against_the_vendored_registry_schema() -> None:
    schema = json.loads((ROOT / "tests" / "server.schema.json").read_text())
    server = json.loads((ROOT / "server.json").read_text())
    jsonschema.validate(server, schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def test_server_json_versions_equal_the_package_version() -> None:
    server = json.loads((ROOT / "server.json").read_text())
    assert server["version"] == __version__
    assert {p["version"] for p in server["packages"]} == {__version__}


def test_server_json_declares_the_secret_and_plain_settings() -> None:
    env = {e["name"]: e for e in json.loads((ROOT / "server.json").read_text())["packages"][0]["environmentVariables"]}
    assert env["KUPE_API_KEY"]["isSecret"] is True
    assert env["KUPE_BEARER_TOKEN"]["isSecret"] is True
    assert {"KUPE_BASE_URL", "KUPE_TOOLSETS", "KUPE_READ_ONLY"} <= set(env)


def test_readme_carries_the_registry_ownership_line() -> None:
    name = json.loads((ROOT / "server.json").read_text())["name"]
    assert f"<!-- mcp-name: {name} -->" in (ROOT / "README.md").read_text()
