"""Between the call tools and ``kupe_mcp.safety.rules``: subjects, asking a person, previews, tokens, the gate.

How a ``place_call`` or ``start_batch`` is confirmed (README "Call safety"), one module each:

* ``_subjects``: the subject resolver builds what will be dialled (a call or a batch), runs
  every rule on it and gives it a digest; the confirmation resolver and the body share it.
* ``_ask``: the confirmation resolver asks the person about that subject, or does not.
* ``_preview``: what the person is shown, outside text quoted so it cannot forge lines.
* ``_gate``: ``decide`` (dry run, decline, token, or a fresh look compared with what was
  approved) and ``Gate.reserve()``, the context that holds the slot around the dial.
* ``_recipients``: add_batch_recipients' CSV rows and the "who" rules per row.
* ``outcomes``: the typed answers both write tools share (placed or started, dry run, approval pending,
  confirmation required, declined, outcome unknown); safety builds them, the toolsets only return them.

State (tokens, slots, approval records) lives in the server's ``kupe_mcp.safety.state`` store.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from kupe_mcp.safety.ask import (
    ConfirmCall,
    NotAsked,
    ask_to_place_call,
    ask_to_start_batch,
    can_elicit,
)
from kupe_mcp.safety.gate import UNKNOWN_REF, Gate, Held, decide
from kupe_mcp.safety.preview import one_line, preview, question, quoted
from kupe_mcp.safety.recipients import RecipientRow, recipients_from_csv, screen_recipients
from kupe_mcp.safety.subjects import (
    Batch,
    CallRequest,
    Subject,
    batch_subject,
    call_subject,
    check_runner,
)

__all__ = [
    "UNKNOWN_REF",
    "Batch",
    "CallRequest",
    "ConfirmCall",
    "ConfirmationToken",
    "DryRun",
    "Gate",
    "Held",
    "NotAsked",
    "RecipientRow",
    "Subject",
    "ask_to_place_call",
    "ask_to_start_batch",
    "batch_subject",
    "call_subject",
    "can_elicit",
    "check_runner",
    "decide",
    "one_line",
    "preview",
    "question",
    "quoted",
    "recipients_from_csv",
    "screen_recipients",
]

DryRun = Annotated[bool, Field(description="Check and preview only; dials nothing.")]
ConfirmationToken = Annotated[str | None, Field(description="From a preview, once the user said yes.")]
