"""Figures tests want shown whatever pytest's capture mode: collected here, printed in the terminal summary."""

from __future__ import annotations

from typing import Any

REPORTS: dict[str, str] = {}


def report(title: str, text: str) -> None:
    """Show ``text`` under ``title`` at the end of the run (and print it, for ``-s`` runs)."""
    REPORTS[title] = text
    print(f"\n{title}\n{text}")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Imported by the conftests that use ``report``; the first call prints and empties the collection."""
    while REPORTS:
        title, text = REPORTS.popitem()
        terminalreporter.write_sep("-", title)
        terminalreporter.write_line(text)
