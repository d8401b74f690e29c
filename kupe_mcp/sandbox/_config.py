"""Sandbox credentials and tunables.

The credentials are fixed, well-known strings on purpose: the sandbox is a local
emulator with no real account behind it, and demos, docs and tests all need to
paste the same key.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

DEMO_API_KEY = "kupe_sbx_demo_0000000000000000"
LIMITED_API_KEY = "kupe_sbx_limited_000000000000000"
NO_CREDIT_API_KEY = "kupe_sbx_nocredit_0000000000000"
# Shaped like a real Supabase session JWT (header.payload.signature): kupe-app-mcp tells a Bearer
# session from a Bearer API key by that shape.
DEMO_BEARER_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJrdXBlLXNhbmRib3gtZGVtbyJ9.c2J4X3Nlc3Npb25fZGVtbw"  # noqa: S105

ALL_FAULT_KINDS: tuple[str, ...] = ("500", "429", "503", "html", "stall", "reset")


@dataclass
class SandboxSettings:
    """Knobs for one sandbox instance; mutable at runtime (tests flip ``fault_rate``)."""

    db_path: str = ":memory:"
    """``:memory:`` (default) or a file path, so state survives restarts."""
    call_step_s: float = 2.0
    """Seconds per call status step; ``0`` completes a placed call immediately."""
    fault_rate: float = 0.0
    """Fraction of ``/api/**`` requests answered with an injected fault (never ``/health``)."""
    fault_kinds: tuple[str, ...] = ALL_FAULT_KINDS
    stall_s: float = 40.0
    """How long a ``stall`` fault sleeps; longer than a typical client read timeout."""
    seed: int | None = None
    """Seed for the fault RNG so fault sequences are reproducible."""
    clock: Callable[[], float] = time.time
    """Wall clock in epoch seconds; inject a fake one to move calls along without sleeping."""
