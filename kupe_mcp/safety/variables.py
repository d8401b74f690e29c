"""Prompt variables and money: checks a call or batch must pass before anything is dialled (pure functions).

Kupe substitutes ``{{name}}`` placeholders in an agent's system prompt and welcome message
with the call's ``variable_values`` (a batch: each row's values for its ``variable_names``).
A placeholder nobody filled is spoken as written ("Hi {{name}}"), so a call or batch whose
values miss one, or spell one differently, is refused with the list of expected names.
A value the prompt does not use is allowed (a CSV may carry extra columns) but named in a
note, unless it looks like a misspelling of a missing one: then the refusal says so.

Nothing here talks to Kupe: callers pass the agent's texts and the values, and get a
``CallRefused`` (one sentence: what, why, what to do) or notes for the preview.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kupe_mcp.errors import CallRefused

__all__ = [
    "agent_placeholders",
    "balance_warning",
    "check_batch_rows",
    "check_call_values",
    "check_variable_names",
    "missing_values",
    "placeholders",
]

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")
_SHOWN_ROWS = 3


def placeholders(*texts: str | None) -> tuple[str, ...]:
    """The ``{{name}}`` placeholders in ``texts``, each once, in order of first use."""
    found: dict[str, None] = {}
    for text in texts:
        for match in _PLACEHOLDER.finditer(text or ""):
            found.setdefault(match.group(1), None)
    return tuple(found)


def agent_placeholders(agent: Mapping[str, Any]) -> tuple[str, ...]:
    """The placeholders of an agent as ``get_agent`` returns it: its system prompt, then its welcome message."""
    row = agent.get("agent")
    configs = agent.get("configurations")
    llm = configs.get("model_config") or configs.get("llm_config") if isinstance(configs, Mapping) else None
    prompt = llm.get("system_prompt") if isinstance(llm, Mapping) else None
    welcome = row.get("first_response_message") if isinstance(row, Mapping) else None
    return placeholders(
        prompt if isinstance(prompt, str) else None,
        welcome if isinstance(welcome, str) else None,
    )


def _filled(values: Mapping[str, Any] | None) -> set[str]:
    """Names given a value: an empty string or null fills nothing."""
    return {k for k, v in (values or {}).items() if v is not None and str(v).strip()}


def _names(names: Iterable[str]) -> str:
    return ", ".join(names)


def _braced(names: Iterable[str]) -> str:
    return ", ".join("{{" + n + "}}" for n in names)


def _misspellings(missing: Sequence[str], given: Iterable[str]) -> list[str]:
    """``'nmae' for name`` for each given name that is close to a missing one."""
    spare = [g for g in given if g not in missing]
    out = []
    for name in missing:
        close = difflib.get_close_matches(name, spare, n=1, cutoff=0.7)
        if close:
            out.append(f"{close[0]!r} for {name}")
    return out


def _unused_note(expected: Sequence[str], given: Iterable[str], where: str) -> list[str]:
    unused = sorted(set(given) - set(expected))
    if not unused:
        return []
    return [f"{where} {_names(unused)}, which the agent's prompt does not use."]


def check_call_values(expected: Sequence[str], values: Mapping[str, Any] | None, *, what: str) -> list[str]:
    """Refuse a call whose ``variable_values`` do not fill every placeholder; notes for values nobody uses.

    ``what`` completes "Refused to …", e.g. "call +919876543210".
    """
    given = _filled(values)
    missing = [name for name in expected if name not in given]
    if missing:
        typo = _misspellings(missing, (values or {}).keys())
        hint = f" (did you mean {'; '.join(typo)}?)" if typo else ""
        raise CallRefused(
            f"Refused to {what}: the agent's prompt uses {_braced(missing)} and variable_values "
            f"gives no value for {_names(missing)}{hint}; pass variable_values with every one of: {_names(expected)}."
        )
    return _unused_note(expected, given, "variable_values also sets")


def check_variable_names(expected: Sequence[str], variable_names: Sequence[str] | None, *, what: str) -> list[str]:
    """Refuse a batch whose ``variable_names`` leave a placeholder out; notes for names nobody uses."""
    declared = list(variable_names or [])
    missing = [name for name in expected if name not in declared]
    if missing:
        typo = _misspellings(missing, declared)
        hint = f" (did you mean {'; '.join(typo)}?)" if typo else ""
        raise CallRefused(
            f"Refused to {what}: the agent's prompt uses {_braced(missing)} but the batch's variable_names "
            f"do not include {'it' if len(missing) == 1 else 'them'}{hint}; "
            f"variable_names must list every one of: {_names(expected)}."
        )
    return _unused_note(expected, declared, "variable_names also lists")


def check_batch_rows(
    expected: Sequence[str], rows: Sequence[tuple[str, Mapping[str, Any] | None]], *, what: str
) -> list[str]:
    """Refuse a batch any of whose rows (``(label, values)``, label e.g. the number) misses a placeholder.

    Names the first few such rows and what each lacks; notes values no row needs.
    """
    if not expected:
        return []
    short: list[str] = []
    extra: set[str] = set()
    for label, values in rows:
        given = _filled(values)
        missing = [name for name in expected if name not in given]
        extra |= given - set(expected)
        if missing:
            typo = _misspellings(missing, (values or {}).keys())
            hint = f", has {'; '.join(typo)}" if typo else ""
            short.append(f"{label} lacks {_names(missing)}{hint}")
    if short:
        more = f" (and {len(short) - _SHOWN_ROWS} more)" if len(short) > _SHOWN_ROWS else ""
        raise CallRefused(
            f"Refused to {what}: {len(short)} of {len(rows)} recipients have no value for a placeholder the agent's "
            f"prompt uses ({'; '.join(short[:_SHOWN_ROWS])}{more}); every row needs {_names(expected)}: "
            "give those recipients the missing values, then try again."
        )
    return _unused_note(expected, extra, "recipients also carry")


def missing_values(expected: Sequence[str], values: Mapping[str, Any] | None) -> str | None:
    """Why one recipient row cannot be called as it is (a placeholder without a value), or None when it can."""
    given = _filled(values)
    missing = [name for name in expected if name not in given]
    if not missing:
        return None
    typo = _misspellings(missing, (values or {}).keys())
    hint = f" (did you mean {'; '.join(typo)}?)" if typo else ""
    return (
        f"It has no value for {_names(missing)}{hint}, which the agent's prompt uses; "
        f"every row needs {_names(expected)}."
    )


def balance_warning(balance_usd: float | None, estimate_usd: float | None) -> str | None:
    """A dry run's warning when the credit balance cannot cover the cost estimate (None when it can or is unknown).

    A balance at or below zero covers no call, estimate or not.
    """
    if balance_usd is None:
        return None
    if balance_usd <= 0:
        return (
            f"The credit balance is ${balance_usd:.2f}: Kupe refuses calls without credit; "
            "top up the wallet in the Kupe dashboard first."
        )
    if estimate_usd is None or estimate_usd <= balance_usd:
        return None
    return (
        f"The credit balance (${balance_usd:.2f}) does not cover the estimated cost (${estimate_usd:.2f}): "
        "calls may be cut off or refused by Kupe once it runs out; top up the wallet in the Kupe dashboard first."
    )
