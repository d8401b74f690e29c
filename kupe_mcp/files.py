"""Reading local files for upload, confined to allowed roots.

A model can ask for any path; only files under the configured roots (default: the
working directory) are read, after resolving symlinks and ``..``, and only up to a
size limit. A refusal is a KupeError sentence, so it reaches the model as isError.
"""

from __future__ import annotations

import os
from pathlib import Path

from kupe_mcp.errors import KupeError

__all__ = ["FileRefused", "read_upload"]


class FileRefused(KupeError):
    """A local file may not be read for upload (outside the roots, too big, not a file)."""


def read_upload(path: str, roots: tuple[str, ...], max_bytes: int) -> tuple[str, bytes]:
    """The file's name and bytes, if it lies under one of ``roots`` and is small enough."""
    allowed = [Path(r).expanduser().resolve() for r in (roots or (os.getcwd(),))]
    target = Path(path).expanduser()
    if not target.is_absolute():
        target = allowed[0] / target
    real = target.resolve()
    if not any(real == root or real.is_relative_to(root) for root in allowed):
        where = ", ".join(str(r) for r in allowed)
        raise FileRefused(
            f"{path} is outside the folders kupe-mcp may read ({where}): move it there, "
            "set KUPE_UPLOAD_ROOTS, or pass the text as content."
        )
    if not real.is_file():
        raise FileRefused(f"{path} is not a readable file: check the path.")
    size = real.stat().st_size
    if size > max_bytes:
        raise FileRefused(
            f"{path} is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB upload limit (KUPE_MAX_UPLOAD_MB)."
        )
    return real.name, real.read_bytes()
