"""The per-app sandbox state object (``app.state.sandbox``)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime

from ._config import SandboxSettings
from ._store import Store

# Deterministic namespace so seeded ids are stable across runs and restarts.
SANDBOX_NS = uuid.uuid5(uuid.NAMESPACE_URL, "https://sandbox.kupe.local/")


def stable_id(name: str) -> str:
    """A uuid5 derived from ``name``: seeded objects get the same id on every run."""
    return str(uuid.uuid5(SANDBOX_NS, name))


def new_id() -> str:
    return str(uuid.uuid4())


def iso(ts: float) -> str:
    """Epoch seconds -> ISO 8601 UTC, the timestamp format Kupe returns."""
    return datetime.fromtimestamp(ts, UTC).isoformat()


class Sandbox:
    """Everything one emulated Kupe deployment knows: settings, database and observability counters."""

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self.store = Store(settings.db_path)
        self.request_log: list[tuple[str, str]] = []
        self.faults_injected = 0
        self.rng = random.Random(settings.seed)

    def now(self) -> float:
        return self.settings.clock()

    def now_iso(self) -> str:
        return iso(self.now())
