"""The MCP conformance suite (`@modelcontextprotocol/conformance`, npm) against `kupe-app-mcp` over streamable HTTP.

`make test` installs Node 22 and the suite (pinned in the Makefile) into `.tools/` and sets KUPE_NODE_TOOLS; plain
`pytest` without it skips. The suite runs every server scenario of a revision at that revision's wire, so it runs
twice per server: `--spec-version 2025-11-25` (the initialize handshake) and `--spec-version 2026-07-28`
(stateless, per-request `_meta`). Both run against two servers: `--sandbox`, and the real-key path (an API key,
with Kupe's API served by the sandbox over loopback at KUPE_BASE_URL), which is what a user's server runs.

Every scenario's checks are read from the suite's own `checks.json` files and judged against
`expected-failures.json`: a required scenario must have no failing check, an expected failure must still fail (the
file must stay honest), a not-applicable one must not fail, every warning must be explained, and every scenario
the suite ran must be classified. An entry `scenario@wire` applies to that wire only; `scenario:check-id` to one
check of a scenario that must otherwise pass. Extension scenarios (tasks, skills) are outside both revisions and
are not run: this server offers neither extension (tested below).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client

from kupe_mcp.sandbox import DEMO_API_KEY, SandboxServer, SandboxSettings
from tests._node import node_binary
from tests.conformance import TOOLS, serving, suite_script
from tests.conftest import ServerFactory

pytestmark = pytest.mark.skipif(not TOOLS, reason="KUPE_NODE_TOOLS is unset (make test sets it)")

BASELINE = json.loads((Path(__file__).parent / "expected-failures.json").read_text())
REQUIRED: list[str] = BASELINE["required"]
NOT_APPLICABLE: dict[str, str] = BASELINE["not_applicable"]
EXPECTED_FAILURES: dict[str, str] = BASELINE["expected_failures"]
WARNINGS: dict[str, str] = BASELINE["warnings"]

WIRES = ("2025-11-25", "2026-07-28")
PATHS = ("sandbox", "real-key")
RUNS = [(path, wire) for path in PATHS for wire in WIRES]
Checks = list[dict[str, Any]]


def outcome(checks: Checks) -> str:
    """``pass`` (some SUCCESS, no FAILURE), ``fail`` (any FAILURE) or ``empty`` (only warnings/info)."""
    statuses = {c["status"] for c in checks}
    if "FAILURE" in statuses:
        return "fail"
    return "pass" if "SUCCESS" in statuses else "empty"


def classify(scenario: str, wire: str) -> str | None:
    """``required``, ``not_applicable`` or ``expected_failure`` for this scenario at this wire (None: unclassified)."""
    for key in (f"{scenario}@{wire}", scenario):
        if key in REQUIRED:
            return "required"
        if key in NOT_APPLICABLE:
            return "not_applicable"
        if key in EXPECTED_FAILURES:
            return "expected_failure"
    return None


def excused_checks(scenario: str) -> set[str]:
    """The check ids of a required scenario that are expected to fail (``scenario:check-id`` entries)."""
    return {key.split(":", 1)[1] for key in EXPECTED_FAILURES if key.split(":", 1)[0] == scenario and ":" in key}


def run_suite(url: str, wire: str, out: Path) -> dict[str, Checks]:
    """Every server scenario of ``wire`` against ``url``; scenario name -> its checks."""
    tools = Path(str(TOOLS))
    done = subprocess.run(  # noqa: S603
        [
            str(node_binary(tools)), str(suite_script(tools)), "server",
            "--url", url, "--suite", "all", "--spec-version", wire, "-o", str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    by_scenario: dict[str, Checks] = {}
    for checks_file in sorted(out.glob("server-*/checks.json")):
        name = checks_file.parent.name.removeprefix("server-").rsplit("-", 6)[0]
        by_scenario[name] = json.loads(checks_file.read_text())
    # Exit 1 only says some scenario failed; the tests below judge which. Anything else is the suite breaking.
    report = f"exit {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr}"
    assert done.returncode in (0, 1), report
    assert by_scenario, report
    return by_scenario


@dataclass
class Runs:
    """(path, wire) -> scenario -> checks, for both servers at both wires, and each server's log."""

    by_run: dict[tuple[str, str], dict[str, Checks]]
    logs: dict[str, Path]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    out = tmp_path_factory.mktemp("conformance")
    by_run: dict[tuple[str, str], dict[str, Checks]] = {}
    logs = {path: out / f"{path}.log" for path in PATHS}
    with SandboxServer(SandboxSettings(call_step_s=0)) as kupe_api:
        servers: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
            "sandbox": (("--sandbox",), {}),
            "real-key": ((), {"KUPE_BASE_URL": kupe_api.base_url, "KUPE_API_KEY": DEMO_API_KEY}),
        }
        for path, (args, env) in servers.items():
            with serving(logs[path], *args, **env) as url:
                for wire in WIRES:
                    by_run[(path, wire)] = run_suite(url, wire, out / f"{path}-{wire}")
    return Runs(by_run, logs)


@pytest.fixture(scope="module")
def results(runs: Runs) -> dict[tuple[str, str], dict[str, Checks]]:
    return runs.by_run


def test_every_scenario_run_is_classified_and_every_entry_names_a_scenario_that_ran(
    results: dict[tuple[str, str], dict[str, Checks]],
) -> None:
    unclassified = sorted(
        f"{name}@{wire} ({path})"
        for (path, wire), scenarios in results.items()
        for name in scenarios
        if classify(name, wire) is None
    )
    assert not unclassified, "classify these in expected-failures.json"
    ran = {name for scenarios in results.values() for name in scenarios}
    ran_at = {f"{name}@{wire}" for (_, wire), scenarios in results.items() for name in scenarios}
    entries = [*REQUIRED, *NOT_APPLICABLE, *EXPECTED_FAILURES, *WARNINGS]
    stale = [e for e in entries if e.split(":", 1)[0] not in ran and e.split(":", 1)[0] not in ran_at]
    assert not stale, f"these entries name no scenario the suite ran: {stale}"
    plain = [e for e in [*REQUIRED, *NOT_APPLICABLE, *EXPECTED_FAILURES] if ":" not in e]
    assert len(plain) == len(set(plain))


@pytest.mark.parametrize(("path", "wire"), RUNS)
def test_required_scenarios_pass(results: dict[tuple[str, str], dict[str, Checks]], path: str, wire: str) -> None:
    failing = {}
    for name, checks in results[(path, wire)].items():
        if classify(name, wire) != "required":
            continue
        excused = excused_checks(name)
        kept = [c for c in checks if c["id"] not in excused]
        if outcome(kept) != "pass":
            failing[name] = [c for c in kept if c["status"] != "SUCCESS"]
    assert not failing, json.dumps(failing, indent=1)[:6000]


@pytest.mark.parametrize(("path", "wire"), RUNS)
def test_expected_failures_still_fail_so_the_baseline_stays_honest(
    results: dict[tuple[str, str], dict[str, Checks]], path: str, wire: str
) -> None:
    scenarios = results[(path, wire)]
    now_passing = [
        name
        for name, checks in scenarios.items()
        if classify(name, wire) == "expected_failure" and outcome(checks) != "fail"
    ]
    for key in EXPECTED_FAILURES:
        name, _, check_id = key.partition(":")
        if check_id and name in scenarios:
            statuses = {c["status"] for c in scenarios[name] if c["id"] == check_id}
            if statuses != {"FAILURE"}:
                now_passing.append(key)
    assert not now_passing, f"remove these from expected-failures.json: {sorted(now_passing)}"


@pytest.mark.parametrize(("path", "wire"), RUNS)
def test_not_applicable_scenarios_do_not_fail(
    results: dict[tuple[str, str], dict[str, Checks]], path: str, wire: str
) -> None:
    failing = [
        name
        for name, checks in results[(path, wire)].items()
        if classify(name, wire) == "not_applicable" and outcome(checks) == "fail"
    ]
    assert not failing, "these now fail: classify them again"


@pytest.mark.parametrize(("path", "wire"), RUNS)
def test_every_warning_of_a_scenario_counted_as_passing_is_explained(
    results: dict[tuple[str, str], dict[str, Checks]], path: str, wire: str
) -> None:
    unexplained = sorted(
        {
            f"{name}:{c['id']}"
            for name, checks in results[(path, wire)].items()
            if classify(name, wire) == "required"
            for c in checks
            if c["status"] == "WARNING" and f"{name}:{c['id']}" not in WARNINGS
        }
    )
    assert not unexplained, "explain these under 'warnings' in expected-failures.json (or fix them)"


@pytest.mark.parametrize(("path", "wire"), RUNS)
@pytest.mark.parametrize("scenario", ["tools-call-simple-text", "tools-call-error"])
def test_tools_call_scenarios_pass_only_on_our_unknown_tool_error_and_are_not_counted(
    results: dict[tuple[str, str], dict[str, Checks]], path: str, wire: str, scenario: str
) -> None:
    (check,) = [c for c in results[(path, wire)][scenario] if c["id"] == scenario]
    result = check["details"]["result"]
    assert result["isError"] is True
    assert result["content"][0]["text"].startswith("Unknown tool: test_")


@pytest.mark.parametrize("path", PATHS)
def test_the_server_logged_no_traceback_during_the_suite(runs: Runs, path: str) -> None:
    text = runs.logs[path].read_text(errors="replace")
    assert "Traceback" not in text, text[-3000:]


@pytest.mark.anyio
async def test_the_server_offers_neither_extension_whose_scenarios_are_not_run(make_server: ServerFactory) -> None:
    """Tasks (SEP-2663) and skills (SEP-2640) scenarios test servers that offer those extensions; this one offers
    only MCP Apps (extensions are declared on 2026-07-28, where those scenarios run)."""
    async with Client(make_server(), mode="auto") as mcp:
        offered = set(mcp.server_capabilities.extensions or {})
    assert offered == {"io.modelcontextprotocol/ui"}
