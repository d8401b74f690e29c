"""Secrets out of every log line, repr and error: one redactor that knows the live secrets.

What it removes (README "Secrets and logs"):

* secrets it was told about (``remember``): the server's own credentials and KUPE_MCP_TOKEN,
  the secret of a key made with ``create_api_key``, confirmation tokens. It keeps only a
  16-byte BLAKE2 digest of each, never the secret: a text is redacted by hashing each run of
  key-like characters in it and looking the digest up;
* the current request's own credentials (``request_credentials``, a context variable set for
  each multi-tenant request, so a tenant's key is known while its request runs and kept nowhere);
* anything shaped like a Kupe API key (``kupe_…``), a session JWT (``eyJ….….…``), or the
  password of a URL (``https://user:password@host``).

``install`` puts it in front of every log record of the process (a log-record factory), so it
holds for every logger and handler, ours, the SDK's, httpx2's and uvicorn's, at every level.
"""

from __future__ import annotations

import contextvars
import hashlib
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

__all__ = ["REDACTED", "install", "redact", "redact_url", "remember", "request_credentials"]

REDACTED = "[redacted]"

# Runs of the characters keys and tokens are made of (base64url, hex, the kupe_ prefix).
_RUN = re.compile(r"[A-Za-z0-9_\-]{12,}")
_SHAPES = re.compile(
    r"kupe_[A-Za-z0-9_\-]{12,}"  # a Kupe API key
    r"|eyJ[A-Za-z0-9_\-]{2,}\.[A-Za-z0-9_\-]{2,}\.[A-Za-z0-9_\-]*"  # a JWT
)
_URL_PASSWORD = re.compile(r"(?<=://)([^/\s:@]*):([^/\s@]+)@")
_MAX_REMEMBERED = 10_000

_lock = threading.Lock()
_digests: OrderedDict[bytes, None] = OrderedDict()

# The secrets of the request being served (multi-tenant HTTP): a tuple of strings, or empty.
request_credentials: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar(
    "kupe_request_credentials", default=()
)


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def remember(*secrets: str | None) -> None:
    """Redact these secrets from now on (only their digests are kept; the oldest go past 10,000)."""
    with _lock:
        for secret in secrets:
            if not secret:
                continue
            for run in _RUN.findall(secret) or ([secret] if len(secret) >= 8 else []):
                _digests[_digest(run)] = None
                _digests.move_to_end(_digest(run))
            while len(_digests) > _MAX_REMEMBERED:
                _digests.popitem(last=False)


def _known(match: re.Match[str]) -> str:
    run = match.group(0)
    return REDACTED if _digest(run) in _digests else run


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` without any secret this process knows of, or that is shaped like one."""
    if not text:
        return text
    for secret in (*request_credentials.get(), *extra):
        if secret and secret in text:
            text = text.replace(secret, REDACTED)
    text = _SHAPES.sub(REDACTED, text)
    text = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}:{REDACTED}@", text)
    if _digests:
        text = _RUN.sub(_known, text)
    return text


def redact_url(url: str) -> str:
    """A URL fit to print: its password (``user:password@``) replaced."""
    return _URL_PASSWORD.sub(lambda m: f"{m.group(1)}:{REDACTED}@", url)


_installed = False


def install() -> None:
    """Redact every log record the process creates from now on (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
        previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _scrub(record)
        return record

    logging.setLogRecordFactory(factory)


def _scrub(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a malformed record: leave it for logging's own error report
        return
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and record.exc_info[1] is not None:
        text = logging.Formatter().formatException(record.exc_info)
        record.exc_text = redact(text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
