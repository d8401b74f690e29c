"""The Makefile as a fresh machine meets it: what is missing is said before anything is built."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("goal", ["test", "bundle"])
def test_without_npm_make_says_so_before_building_the_venv_or_running_ruff(goal: str, tmp_path: Path) -> None:
    # A PATH with make and a shell but no npm and no node; a venv and tools folder of the test's own, and a Python
    # that fails at once, so that nothing real would be built even if the check came late.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("make", "sh", "uname"):
        found = shutil.which(tool)
        assert found, f"{tool} is needed to run the Makefile"
        (bin_dir / tool).symlink_to(found)
    done = subprocess.run(  # noqa: S603
        [
            str(bin_dir / "make"),
            "--no-print-directory",
            "-C",
            str(ROOT),
            goal,
            f"VENV={tmp_path / 'venv'}",
            f"TOOLS={tmp_path / 'tools'}",
            "PY=false",
        ],
        env={"PATH": str(bin_dir), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "make test and make bundle need npm" in done.stderr
    assert "first use" not in done.stdout  # the venv was not started
    assert "ruff" not in done.stdout + done.stderr
    assert not (tmp_path / "venv").exists()
