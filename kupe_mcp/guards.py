"""Rules about who may be called, applied before any request reaches Kupe.

This module grows into the calls-safety layer (allow/block lists, calling hours,
confirmation); for now it owns destination parsing.
"""

from __future__ import annotations

import phonenumbers
from mcp.server.mcpserver.exceptions import ToolError

__all__ = ["normalise_destination"]

_REFUSED_TYPES = {
    phonenumbers.PhoneNumberType.PREMIUM_RATE: "a premium-rate number",
    phonenumbers.PhoneNumberType.SHARED_COST: "a shared-cost number",
}


def normalise_destination(raw: str, default_region: str | None = None) -> str:
    """The E.164 form of a number a person typed, or a ToolError saying why it cannot be called."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        raise ToolError(
            f"{raw!r} is not a phone number Kupe can dial: give it in international form, e.g. +919876543210."
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ToolError(f"{raw!r} is not a valid phone number for its country: check the digits.")
    kind = _REFUSED_TYPES.get(phonenumbers.number_type(number))
    if kind:
        raise ToolError(f"{raw!r} is {kind}; kupe-mcp does not place calls to such numbers.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
