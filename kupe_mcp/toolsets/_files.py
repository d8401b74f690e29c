"""Reading local files for upload, confined to allowed roots and to the types Kupe accepts.

A model can ask for any path; only files under the configured roots (default: the
working directory) are read, after resolving symlinks and ``..``, only if Kupe supports
their type (judged by name before a byte is read), and only up to a size limit. Kupe's
list of supported formats is fetched once per server and cached (``FormatsCache``); while
it cannot be read, nothing is uploaded (fail closed: an unchecked type is never sent).
A refusal is a KupeError sentence, so it reaches the model as isError.
"""

from __future__ import annotations

import logging
import mimetypes
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

import anyio

from kupe_mcp.errors import KupeAPIError, KupeError
from kupe_mcp.text.untrusted import quoted

if TYPE_CHECKING:
    from kupe_mcp.client import KupeClient

__all__ = ["FileRefused", "FormatsCache", "UploadFormats", "check_type", "confine", "read_upload"]

logger = logging.getLogger("kupe_mcp.toolsets._files")

_EXTENSION_KEYS = ("extensions", "supported_extensions", "file_extensions", "formats", "supported_formats", "types")
_MIME_KEYS = ("mime_types", "supported_mime_types", "content_types", "mimetypes")


class FileRefused(KupeError):
    """A local file may not be read for upload (outside the roots, unsupported type, too big, not a file)."""


@dataclass(frozen=True)
class UploadFormats:
    """The file types Kupe's knowledge base accepts: extensions (``.md``) and MIME types."""

    extensions: frozenset[str]
    mime_types: frozenset[str]

    @classmethod
    def parse(cls, payload: Any) -> UploadFormats | None:
        """Read Kupe's supported-formats answer liberally; None when it names no type at all."""
        if isinstance(payload, dict) and isinstance(payload.get("data"), dict | list):
            payload = payload["data"]
        found: list[str] = []
        if isinstance(payload, list):
            found += _strings(payload)
        elif isinstance(payload, dict):
            for key in (*_EXTENSION_KEYS, *_MIME_KEYS):
                value = payload.get(key)
                found += _strings(value if isinstance(value, list) else [])
        mimes = frozenset(s.lower() for s in found if "/" in s)
        exts = frozenset("." + s.lower().lstrip(".") for s in found if "/" not in s and s.strip("."))
        return cls(exts, mimes) if exts or mimes else None

    def accepts(self, filename: str) -> bool:
        ext = PurePath(filename).suffix.lower()
        if ext and ext in self.extensions:
            return True
        mime = mimetypes.guess_type(filename)[0]
        return bool(mime and mime.lower() in self.mime_types)

    def named(self) -> str:
        return ", ".join(sorted(self.extensions) or sorted(self.mime_types))


def _strings(values: Iterable[Any]) -> list[str]:
    """Type names from a list of strings or of ``{extension, mime_type}`` objects."""
    out: list[str] = []
    for value in values:
        if isinstance(value, str) and value.strip():
            out.append(value.strip())
        elif isinstance(value, dict):
            out += [v.strip() for v in value.values() if isinstance(v, str) and ("/" in v or v.startswith("."))]
    return out


def check_type(filename: str, formats: UploadFormats | None) -> None:
    """Refuse a file name whose type Kupe does not accept (``None``: a caller that checks no type, e.g. a CSV)."""
    if formats is not None and not formats.accepts(filename):
        raise FileRefused(
            f"{quoted(filename)} is not a file type Kupe's knowledge base accepts: use one of {formats.named()}."
        )


class FormatsCache:
    """Kupe's supported upload formats, fetched on first use and kept for the life of the server."""

    def __init__(self) -> None:
        self._formats: UploadFormats | None = None
        self._lock = anyio.Lock()

    async def get(self, client: KupeClient) -> UploadFormats:
        """The formats; FileRefused (nothing uploaded) while Kupe's list cannot be read or names no type.

        Fails closed: a type nobody has checked is never sent. A failure is not kept, so the next upload asks again.
        """
        if self._formats is not None:
            return self._formats
        async with self._lock:
            if self._formats is not None:
                return self._formats
            try:
                formats = UploadFormats.parse((await client.supported_file_formats()).to_json())
            except KupeAPIError as exc:
                logger.warning("Could not read Kupe's supported formats, refusing the upload: %s", exc)
                raise FileRefused(
                    f"Kupe's list of accepted file types could not be read (HTTP {exc.status}), so nothing was "
                    "uploaded: try again in a minute."
                ) from None
            except KupeError as exc:
                logger.warning("Could not read Kupe's supported formats, refusing the upload: %s", exc)
                raise FileRefused(
                    "Kupe's list of accepted file types could not be read (Kupe did not answer), so nothing was "
                    "uploaded: try again in a minute."
                ) from None
            if formats is None:
                logger.warning("Kupe's supported-formats answer names no file type, refusing the upload")
                raise FileRefused(
                    "Kupe's list of accepted file types names none, so nothing was uploaded: read "
                    "kupe://files/supported-formats and try again later."
                )
            self._formats = formats
            return formats


def confine(path: str, roots: tuple[str, ...]) -> Path:
    """The real path of ``path`` if it is a file under one of ``roots`` (symlinks and ``..`` resolved)."""
    allowed = [Path(r).expanduser().resolve() for r in (roots or (os.getcwd(),))]
    target = Path(path).expanduser()
    if not target.is_absolute():
        target = allowed[0] / target
    real = target.resolve()
    if not any(real == root or real.is_relative_to(root) for root in allowed):
        where = ", ".join(str(r) for r in allowed)
        raise FileRefused(
            f"{quoted(path)} is outside the folders kupe-app-mcp may read ({where}): move it there, "
            "set KUPE_UPLOAD_ROOTS, or pass the text as content."
        )
    if not real.is_file():
        raise FileRefused(f"{quoted(path)} is not a readable file: check the path.")
    return real


def read_upload(
    path: str, roots: tuple[str, ...], max_bytes: int, formats: UploadFormats | None = None
) -> tuple[str, bytes]:
    """The file's name and bytes, if it lies under one of ``roots``, is of a type Kupe accepts and is small enough."""
    real = confine(path, roots)
    check_type(real.name, formats)
    size = real.stat().st_size
    if size > max_bytes:
        raise FileRefused(
            f"{quoted(path)} is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB upload limit (KUPE_MAX_UPLOAD_MB)."
        )
    return real.name, real.read_bytes()
