"""The suite's secret scanner: every log record and every captured stdout/stderr of every test is searched for
the credentials the tests use (README "Secrets and logs": a leak fails the test that caused it).

Cheap by design: one compiled pattern, run once per log record (on the already-formatted message) and once
per test report over its captured output; no formatting of records nobody logged.
"""

from __future__ import annotations

import logging
import re

from kupe_mcp.sandbox import DEMO_API_KEY, DEMO_BEARER_TOKEN, LIMITED_API_KEY, NO_CREDIT_API_KEY

__all__ = ["LEAK", "SecretScanner"]

# Test-only secrets carry the marker TESTSECRET; the sandbox's public demo credentials are the ones the
# servers under test hold; kupe_sbx_ + 32 hex digits is a key the sandbox made for create_api_key.
LEAK = re.compile(
    "|".join(
        [
            "TESTSECRET",
            r"kupe_sbx_[0-9a-f]{32}",
            *(re.escape(s) for s in (DEMO_API_KEY, LIMITED_API_KEY, NO_CREDIT_API_KEY, DEMO_BEARER_TOKEN)),
        ]
    )
)


class SecretScanner(logging.Handler):
    """Collects every log record (any logger, any level) whose text holds a known test secret."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            texts = [record.getMessage(), record.exc_text or "", record.stack_info or ""]
        except Exception:
            return
        for text in texts:
            found = LEAK.search(text)
            if found:
                self.leaks.append(
                    f"{record.name} {record.levelname}: ...{text[max(0, found.start() - 60) : found.start()]}"
                )

    def take(self) -> list[str]:
        leaks, self.leaks = self.leaks, []
        return leaks
