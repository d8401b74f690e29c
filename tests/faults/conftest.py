"""Print the figures this directory's tests collect in the terminal summary (see tests/_report.py)."""

from tests._report import pytest_terminal_summary

__all__ = ["pytest_terminal_summary"]
