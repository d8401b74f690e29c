"""Schemathesis hooks for the sandbox-vs-spec run (loaded through ``SCHEMATHESIS_HOOKS``).

Kupe's OpenAPI file documents error statuses unevenly: many operations list only ``200``
although every route answers FastAPI's generic errors (``{"detail": ...}``, see the spec's
preamble). ``documented_status`` therefore accepts those generic statuses everywhere and
holds every other status to what the operation documents; it replaces schemathesis's
``status_code_conformance``, which would flag each generic 401/404/422 as undocumented.
So a 409 where the spec says 400 (an active agent), or a 500 anywhere it is not listed, fails.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.core.failures import Failure

# Missing/invalid credentials, RBAC, unknown id, wrong method, request validation (400 or FastAPI's 422).
GENERIC_ERRORS = frozenset({400, 401, 403, 404, 405, 422})


def _allowed(codes: list[str]) -> set[int]:
    allowed: set[int] = set()
    for code in codes:
        if code.isdigit():
            allowed.add(int(code))
        elif len(code) == 3 and code[0].isdigit() and code[1:].upper() == "XX":
            allowed.update(range(int(code[0]) * 100, int(code[0]) * 100 + 100))
    return allowed


@schemathesis.check
def documented_status(ctx: Any, response: Any, case: Any) -> bool | None:
    """The status is documented for the operation, or one of FastAPI's generic errors."""
    codes = [str(c) for c in case.operation.responses.status_codes]
    if "default" in codes or response.status_code in GENERIC_ERRORS or response.status_code in _allowed(codes):
        return None
    raise Failure(
        operation=case.operation.label,
        title="Undocumented status code",
        message=f"Received: {response.status_code}\nDocumented: {', '.join(codes)} (+ generic 400/401/403/404/405/422)",
    )
