"""The catalogue is the contract: every entry has a client method and an operation test case."""

from __future__ import annotations

import inspect
from collections import Counter

from kupe_mcp.client import ENDPOINTS, KupeClient

from .test_operations import CASES


def test_every_endpoint_has_a_client_coroutine_of_that_name() -> None:
    missing = [
        e.client_method
        for e in ENDPOINTS
        if not inspect.iscoroutinefunction(getattr(KupeClient, e.client_method, None))
    ]
    assert missing == []


def test_every_endpoint_has_an_operation_case() -> None:
    catalogued = {(e.method, e.path) for e in ENDPOINTS}
    tested = {(op.method, op.template) for op in CASES}
    assert catalogued - tested == set(), "catalogued routes without a test case"
    assert tested - catalogued == set(), "test cases for routes the catalogue does not list"


def test_each_case_calls_the_method_the_catalogue_names_for_its_route() -> None:
    by_route = {(e.method, e.path): e.client_method for e in ENDPOINTS}
    wrong = [op.id for op in CASES if by_route.get((op.method, op.template)) != op.call]
    assert wrong == []


def test_catalogue_has_no_duplicates() -> None:
    for key, what in ((lambda e: (e.method, e.path), "route"), (lambda e: e.client_method, "client method")):
        counts = Counter(key(e) for e in ENDPOINTS)
        assert [k for k, n in counts.items() if n > 1] == [], f"duplicate {what}"


def test_each_route_is_written_once_in_the_server_code() -> None:
    """A path literal appears once per declared method, on its ``@endpoint``, and nowhere else but the sandbox."""
    import re
    from pathlib import Path

    package = Path(__file__).resolve().parents[2] / "kupe_mcp"
    sources = {p: p.read_text() for p in package.rglob("*.py") if "sandbox" not in p.parts}
    declared = Counter(e.path for e in ENDPOINTS)
    for path, methods in declared.items():
        literal = re.compile(r"[\"']" + re.escape(path) + r"[\"']")
        where = Counter({p.name: len(literal.findall(text)) for p, text in sources.items()})
        assert +where == Counter({"_client.py": methods}), path
