"""Asking the person: the confirmation resolvers and how their answer is read.

The tool has a parameter ``Annotated[ElicitationResult[ConfirmCall], Resolve(ask_…)]`` (not
in the input schema). Its resolver depends on the subject resolver, so it asks about exactly
the subject the body will gate. When a person must confirm and form elicitation is this
client's best channel (KUPE_APPROVAL_PROOF=client, and no MCP Apps card or URL elicitation),
it asks: on 2026-07-28 it returns ``Elicit(question, ConfirmCall)`` and the SDK runs an
``InputRequiredResult`` round (client-driven: nothing waits here); on 2025-11-25 it sends the
request itself and waits at most KUPE_ELICITATION_TIMEOUT_S, because real clients declare
elicitation and never answer. No answer, a decline or a cancel reads as ``Unanswered``: the
gate leaves an approval open on the page, since the client may never have shown the question.
Otherwise it returns ``NotAsked`` and the gate decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import anyio
from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit, Resolve
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field, ValidationError

from kupe_mcp.errors import KupeError
from kupe_mcp.safety.channels import client_channel
from kupe_mcp.safety.context import settings_of
from kupe_mcp.safety.preview import question
from kupe_mcp.safety.subjects import Subject, batch_subject, call_subject

__all__ = [
    "INPUT_REQUIRED_VERSION",
    "ConfirmCall",
    "NotAsked",
    "Unanswered",
    "accepted",
    "ask_bounded",
    "ask_to_place_call",
    "ask_to_start_batch",
    "asks_in_band",
    "can_ask_in_body",
    "can_elicit",
    "declined",
    "not_asked",
    "outcome",
]

INPUT_REQUIRED_VERSION = "2026-07-28"  # first protocol revision that elicits through InputRequiredResult rounds


class ConfirmCall(BaseModel):
    """The person's answer to a call or batch confirmation: one tick box."""

    confirm: bool = Field(description="Yes, dial now.")


@dataclass(frozen=True)
class NotAsked:
    """A confirmation resolver's answer when nobody was asked in-band; the gate decides what follows.

    The SDK injects a resolver's plain return value as an ``AcceptedElicitation`` whose
    ``data`` is this object; ``outcome`` tells it apart from a person's yes.
    """


@dataclass(frozen=True)
class Unanswered:
    """The client was asked and no person's yes or no came back: it did not answer in time, or it declined or
    dismissed the question (clients do both without showing it). ``note`` says which, as one clause."""

    note: str


DISMISSED = "The client declined or dismissed the confirmation, possibly without showing it to the person"


def _form_elicitation(ctx: Context) -> bool:
    caps = ctx.client_capabilities
    elicitation = caps.elicitation if caps is not None else None
    return elicitation is not None and not (elicitation.form is None and elicitation.url is not None)


def _input_required(ctx: Context) -> bool:
    version = ctx.protocol_version
    return version is not None and is_version_at_least(version, INPUT_REQUIRED_VERSION)


def can_elicit(ctx: Context) -> bool:
    """Whether the person can be asked in-band: the client declared form elicitation (a bare ``elicitation: {}``
    counts) and the transport can carry the question (2026-07-28 rounds, or a 2025-11-25 session that can send
    requests; stateless HTTP on the old protocol cannot, and gets the token flow instead).
    """
    return _form_elicitation(ctx) and (_input_required(ctx) or bool(ctx.session.can_send_request))


def asks_in_band(ctx: Context) -> bool:
    """Whether the person is asked by form elicitation: KUPE_APPROVAL_PROOF=client, the client can be asked, and it
    offers nothing better (an MCP Apps card, or URL elicitation the transport can carry, come first: README
    "Approval channels"). With ``passkey`` no in-band yes counts; the person is brought to the approval page."""
    return settings_of(ctx).proof == "client" and can_elicit(ctx) and client_channel(ctx) is None


def can_ask_in_body(ctx: Context) -> bool:
    """Whether the tool body itself can ask again (2025-11-25 with a back-channel; 2026-07-28 asks only in rounds)."""
    return _form_elicitation(ctx) and not _input_required(ctx) and bool(ctx.session.can_send_request)


Answer = AcceptedElicitation[ConfirmCall] | Unanswered
"""What came back from asking: a submitted form (ticked or not), or no person's answer at all."""


def outcome(confirmation: ElicitationResult[ConfirmCall]) -> Answer | None:
    """What the resolver's question got back, or None when it asked nobody (it returned NotAsked).

    The SDK injects a resolver's plain return value as accepted, so ``NotAsked`` and ``Unanswered`` are unpacked
    here; a 2026-07-28 round that came back declined or cancelled is ``Unanswered`` too.
    """
    if not isinstance(confirmation, AcceptedElicitation):
        return Unanswered(DISMISSED)
    data = confirmation.data
    if isinstance(data, NotAsked):
        return None
    if isinstance(data, Unanswered):
        return data
    return confirmation


def declined(answer: Answer | None) -> str | None:
    """Why nothing may be dialled after a person submitted the form without ticking confirm; None otherwise.

    Only a submitted form is a person's no: a decline or cancel may come from a client that never showed the
    question, so it is ``Unanswered`` and leaves an approval open instead.
    """
    if isinstance(answer, AcceptedElicitation) and isinstance(answer.data, ConfirmCall) and not answer.data.confirm:
        return "The person did not tick confirm"
    return None


def not_asked() -> ElicitationResult[ConfirmCall]:
    """What the SDK injects when a confirmation resolver returned ``NotAsked`` (for callers that dial without
    running the resolvers: wait_for_approval redeeming an approval)."""
    return AcceptedElicitation.model_construct(data=NotAsked())  # type: ignore[arg-type]


def accepted(answer: Answer | None) -> bool:
    return isinstance(answer, AcceptedElicitation) and isinstance(answer.data, ConfirmCall) and answer.data.confirm


async def ask_bounded(ctx: Context, message: str) -> ConfirmCall | Unanswered:
    """Ask with form elicitation on 2025-11-25, waiting at most KUPE_ELICITATION_TIMEOUT_S for the client.

    A client may declare elicitation and never show it (the call would hang), or decline without showing it;
    either way no person answered, and the caller leaves the approval open on the page.
    """
    timeout = settings_of(ctx).elicitation_timeout_s
    with anyio.move_on_after(timeout) as waited:
        try:
            result = await ctx.elicit(message, ConfirmCall)
        except ValueError as exc:  # accepted with no content, or content that is not the form's
            detail = "an invalid answer" if isinstance(exc, ValidationError) else str(exc).lower()
            raise ToolError(f"The client sent {detail} to the call confirmation; nothing was dialled.") from None
    if waited.cancelled_caught:
        return Unanswered(
            f"The client did not answer the confirmation within {timeout:g} s (KUPE_ELICITATION_TIMEOUT_S)"
        )
    if isinstance(result, AcceptedElicitation):
        return result.data
    return Unanswered(DISMISSED)


async def _ask(
    ctx: Context, subject: Subject | None, dry_run: bool, token: str | None
) -> Elicit[ConfirmCall] | ConfirmCall | Unanswered | NotAsked:
    if subject is None:  # a retry answered from its idempotency_key: nothing to ask about
        return NotAsked()
    if dry_run or token is not None or not asks_in_band(ctx) or not subject.plan.needs_confirmation:
        return NotAsked()
    try:
        message = await question(ctx, subject)
    except KupeError as exc:
        raise ToolError(str(exc)) from exc
    if _input_required(ctx):
        return Elicit(message, ConfirmCall)  # an InputRequiredResult round: the client drives it, nothing waits
    return await ask_bounded(ctx, message)


async def ask_to_place_call(
    ctx: Context,
    subject: Annotated[Subject | None, Resolve(call_subject)],
    dry_run: bool,
    confirmation_token: str | None,
) -> Elicit[ConfirmCall] | ConfirmCall | Unanswered | NotAsked:
    """place_call's confirmation resolver: ask about the subject when every rule passed and one must confirm."""
    return await _ask(ctx, subject, dry_run, confirmation_token)


async def ask_to_start_batch(
    ctx: Context,
    subject: Annotated[Subject | None, Resolve(batch_subject)],
    dry_run: bool,
    confirmation_token: str | None,
) -> Elicit[ConfirmCall] | ConfirmCall | Unanswered | NotAsked:
    """start_batch's confirmation resolver: the batch's waiting rows were read and checked by its subject."""
    return await _ask(ctx, subject, dry_run, confirmation_token)
