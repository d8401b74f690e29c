"""Outside text as data, in every place it reaches the model inside text the server writes.

Outside text is anything neither the person nor this server wrote: what callers said, call summaries and post-call
analysis (Kupe's models wrote them from callers' words), agent prompts and names, file and CSV names, CSV cells, the
``detail`` of Kupe's errors. Tool results carry it in JSON strings, which keep it quoted by themselves; where it sits
in our own prose (error sentences, progress, the transcript resource, prompts, the confirmation question), a newline,
a control or format character, a heading or a closing fence could make it read as ours. Three forms keep it in its
quotes:

- ``quoted(value)``: inline, in double quotes, on one line (``one_line`` escapes what could end the line or hide text);
- ``blockquote(text)``: a Markdown block quote whose every line starts ``> ``; no line can leave it;
- ``fenced(text, info)``: a code block whose fence is longer than any run of backticks inside.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

__all__ = ["blockquote", "fenced", "one_line", "quoted"]

# Controls, format characters (bidi overrides, zero-width joiners), surrogates, private use, unassigned, and the
# line and paragraph separators.
_UNSAFE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def one_line(text: str) -> str:
    """``text`` with every control, format and line-separator character escaped: it stays on one line."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif unicodedata.category(ch) in _UNSAFE:
            out.append(_SHORT.get(ch) or f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def quoted(value: Any) -> str:
    """Outside text as data: in double quotes, escaped by ``one_line`` (quotes too)."""
    return '"' + one_line(str(value)).replace('"', '\\"') + '"'


def blockquote(text: str) -> list[str]:
    """``text`` as Markdown block-quote lines: each of its lines (any line break) escaped and prefixed ``> ``.

    A line of outside text can start with ``##`` or ``---``; it is still inside the quote, never a heading of ours.
    """
    return [f"> {one_line(line)}".rstrip() for line in str(text).splitlines()] or [">"]


def fenced(text: str, info: str = "") -> list[str]:
    """``text`` in a fenced code block that nothing inside can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + info, text, fence]
