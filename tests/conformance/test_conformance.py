"""The MCP conformance suite (`@modelcontextprotocol/conformance`, npm) against `kupe-app-mcp --sandbox` over HTTP.

`make test` installs Node 22 and the suite into `.tools/` and sets KUPE_NODE_TOOLS; plain `pytest` without it skips.
Every scenario's checks are read from the suite's own `checks.json` files and compared with
`expected-failures.json`: a required scenario must pass, an unlisted failure fails the test, and so does an
expected failure that starts passing (the file must stay honest).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests._node import node_binary
from tests.e2e.test_cli import Served

TOOLS = os.environ.get("KUPE_NODE_TOOLS")
pytestmark = pytest.mark.skipif(not TOOLS, reason="KUPE_NODE_TOOLS is unset (make test sets it)")

BASELINE = json.loads((Path(__file__).parent / "expected-failures.json").read_text())
REQUIRED: list[str] = BASELINE["required"]
NOT_APPLICABLE: dict[str, str] = BASELINE["not_applicable"]
EXPECTED_FAILURES: dict[str, str] = BASELINE["expected_failures"]


def outcome(checks: list[dict[str, Any]]) -> str:
    """``pass`` (some SUCCESS, no FAILURE), ``fail`` (any FAILURE) or ``empty`` (only warnings/info)."""
    statuses = {c["status"] for c in checks}
    if "FAILURE" in statuses:
        return "fail"
    return "pass" if "SUCCESS" in statuses else "empty"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Run the whole server suite once; scenario name -> its checks."""
    tools = Path(str(TOOLS))
    node = node_binary(tools)
    suite = tools / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
    assert suite.exists(), f"{suite} is missing: run make node-tools"
    out = tmp_path_factory.mktemp("conformance")
    # The suite's own baseline format, a list of scenarios that may fail; it counts a lone warning as a failure.
    baseline = out / "baseline.yml"
    may_fail = [*EXPECTED_FAILURES, "server-sse-multiple-streams"]
    baseline.write_text("server:\n" + "".join(f"  - {name}\n" for name in may_fail))
    with Served("--sandbox", "--transport", "http") as served:
        done = subprocess.run(  # noqa: S603
            [
                str(node), str(suite), "server",
                "--url", f"http://127.0.0.1:{served.port}/mcp",
                "--suite", "all",
                "--expected-failures", str(baseline),
                "-o", str(out / "results"),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )  # fmt: skip
    by_scenario: dict[str, list[dict[str, Any]]] = {}
    for checks_file in sorted((out / "results").glob("server-*/checks.json")):
        name = checks_file.parent.name.removeprefix("server-").rsplit("-", 6)[0]
        by_scenario[name] = json.loads(checks_file.read_text())
    assert by_scenario, f"the suite wrote no results (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
    # With the baseline, the suite itself exits 0 only when nothing unexpected happened.
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return by_scenario


def test_every_scenario_of_the_suite_is_classified_exactly_once(results: dict[str, list[dict[str, Any]]]) -> None:
    classified = [*REQUIRED, *NOT_APPLICABLE, *EXPECTED_FAILURES]
    assert len(classified) == len(set(classified))
    assert set(results) == set(classified)


@pytest.mark.parametrize("scenario", REQUIRED)
def test_required_scenario_passes(results: dict[str, list[dict[str, Any]]], scenario: str) -> None:
    checks = results[scenario]
    assert outcome(checks) == "pass", json.dumps(checks, indent=1)


def test_expected_failures_still_fail_so_the_baseline_stays_honest(
    results: dict[str, list[dict[str, Any]]],
) -> None:
    now_passing = {name for name in EXPECTED_FAILURES if outcome(results[name]) != "fail"}
    assert not now_passing, f"remove these from expected-failures.json: {sorted(now_passing)}"


@pytest.mark.parametrize("scenario", ["tools-call-simple-text", "tools-call-error"])
def test_tools_call_scenarios_pass_only_on_our_unknown_tool_error_and_are_not_counted(
    results: dict[str, list[dict[str, Any]]], scenario: str
) -> None:
    (check,) = results[scenario]
    result = check["details"]["result"]
    assert result["isError"] is True
    assert result["content"][0]["text"].startswith("Unknown tool: test_")


def test_sse_multiple_streams_checks_nothing_on_a_stateless_server(
    results: dict[str, list[dict[str, Any]]],
) -> None:
    checks = results["server-sse-multiple-streams"]
    assert outcome(checks) == "empty", json.dumps(checks, indent=1)
    assert all("session" in c["id"] for c in checks)
