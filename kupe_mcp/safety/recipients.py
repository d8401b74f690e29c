"""add_batch_recipients' side of call safety: rows from a CSV, and the "who" rules applied to each row."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError

from kupe_mcp.errors import CallRefused
from kupe_mcp.safety.rules import CallGuards
from kupe_mcp.text.untrusted import quoted

__all__ = ["MAX_CSV_ROWS", "RecipientRow", "recipients_from_csv", "screen_recipients"]

MAX_CSV_ROWS = 5000
_PHONE_COLUMNS = ("to_phonenumber", "phone_number", "phone", "number")


@dataclass(frozen=True)
class RecipientRow:
    """One submitted recipient: where it came from (for the rejection report), its number and variables."""

    row: int
    phone_number: str
    variables: dict[str, Any]


def recipients_from_csv(name: str, data: bytes) -> list[RecipientRow]:
    """Rows of a recipients CSV: a phone column (to_phonenumber, phone_number, phone or number), the rest variables.

    Raises ToolError when the file is not such a CSV.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ToolError(f"{quoted(name)} is not UTF-8 text: save it as a UTF-8 CSV and try again.") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = {c.strip().lower(): c for c in reader.fieldnames or [] if c}
    phone = next((columns[c] for c in _PHONE_COLUMNS if c in columns), None)
    if phone is None:
        raise ToolError(
            f"{quoted(name)} has no phone column: name one to_phonenumber (or phone_number), one column per variable."
        )
    rows: list[RecipientRow] = []
    for index, record in enumerate(reader, start=2):
        if len(rows) >= MAX_CSV_ROWS:
            raise ToolError(f"{quoted(name)} has more than {MAX_CSV_ROWS} rows: split it into several files.")
        variables = {
            k.strip(): v.strip() for k, v in record.items() if k and k != phone and isinstance(v, str) and v.strip()
        }
        rows.append(RecipientRow(index, str(record.get(phone) or ""), variables))
    return rows


def screen_recipients(
    guards: CallGuards, rows: list[RecipientRow], *, batch_id: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Kupe upsert items for the rows whose numbers may be called, and the rejected rows with reasons.

    Checks what §1 of the rules checks (valid, dialable, not premium-rate or emergency,
    block and allow lists) and refuses duplicates; calling hours are checked when the batch
    starts. Raises CallRefused when no row is left, so nothing is sent.
    """
    accepted: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for row in rows:
        try:
            dest = guards.destination(row.phone_number)
        except CallRefused as exc:
            rejected.append({"row": row.row, "phone_number": row.phone_number, "reason": str(exc)})
            continue
        if dest.e164 in seen:
            reason = f"{dest.e164} is already in row {seen[dest.e164]}; each person is called once."
            rejected.append({"row": row.row, "phone_number": row.phone_number, "reason": reason})
            continue
        seen[dest.e164] = row.row
        accepted.append({"to_phonenumber": dest.e164, "variable_values": dict(row.variables)})
    if not accepted:
        reasons = "; ".join(f"row {r['row']}: {r['reason'].rstrip('.')}" for r in rejected[:3])
        raise CallRefused(
            f"Refused to add recipients to batch {batch_id}: none of the {len(rows)} rows may be called "
            f"({reasons}); fix the numbers and try again."
        )
    return accepted, rejected
