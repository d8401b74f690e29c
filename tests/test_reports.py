"""``make bench`` and ``make eval`` are README promises: their smoke runs go through the Makefile's own recipes.

Each runs every step of the real command with a few requests (``BENCH_FLAGS=--smoke``, ``EVAL_FLAGS=--smoke``) into a
temporary report, so a renamed flag, a tool outside every toolset or a step that no longer parses fails here rather
than on a fresh clone. The smoke eval scores by word overlap instead of the WordLlama model, so ``make test`` needs no
``.[eval]`` extra; the model only changes the figures, not the code that listed, grouped and reported them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STAMPS = (".venv/.installed", ".venv/.installed-eval")


def make(*args: str) -> subprocess.CompletedProcess[str]:
    """``make`` in the checkout with this interpreter's environment, its install steps taken as done."""
    if shutil.which("make") is None:
        pytest.fail("make is not installed: the README's commands need it (apt-get install make)")
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    skip = [f"--old-file={stamp}" for stamp in STAMPS]
    return subprocess.run(  # noqa: S603
        ["make", "--no-print-directory", "-C", str(ROOT), *skip, *args, f"BIN={Path(sys.executable).parent}"],  # noqa: S607
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def test_make_bench_and_make_eval_write_every_section_of_a_report_and_leave_benchmarks_md_alone(
    tmp_path: Path,
) -> None:
    committed = (ROOT / "BENCHMARKS.md").read_bytes()
    report = tmp_path / "report.md"
    report.write_text("# old report\n\n<!-- eval:begin -->\nold eval\n<!-- eval:end -->\n")

    done = make("bench", "eval", f"REPORT={report}", "BENCH_FLAGS=--smoke", "EVAL_FLAGS=--smoke")

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    text = report.read_text()
    assert text.startswith("# kupe-app-mcp benchmarks\n")
    for section in ("state", "replicas", "eval"):
        assert text.count(f"<!-- {section}:begin -->") == 1, section
        assert text.count(f"<!-- {section}:end -->") == 1, section
    assert "**Smoke run**" in text
    assert "old eval" not in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]
    assert (ROOT / "BENCHMARKS.md").read_bytes() == committed


def test_a_make_bench_step_that_fails_leaves_the_report_as_it_was(tmp_path: Path) -> None:
    report = tmp_path / "report.md"
    report.write_text("# the report before\n")

    done = make("bench", f"REPORT={report}", "BENCH_FLAGS=--no-such-flag")

    assert done.returncode != 0
    assert "unrecognized arguments: --no-such-flag" in done.stderr
    assert report.read_text() == "# the report before\n"
