"""Asking the person: the confirmation resolvers and how their answer is read.

The tool has a parameter ``Annotated[ElicitationResult[ConfirmCall], Resolve(ask_…)]`` (not
in the input schema). Its resolver depends on the subject resolver, so it asks about exactly
the subject the body will gate. When a person must confirm and the client can elicit, it
returns ``Elicit(question, ConfirmCall)``: the SDK asks (a standalone request on 2025-11-25,
an ``InputRequiredResult`` round on 2026-07-28) and injects the outcome. Otherwise it returns
``NotAsked`` and the gate decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit, Resolve
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field

from kupe_mcp.errors import KupeError
from kupe_mcp.safety.preview import question
from kupe_mcp.safety.subjects import Subject, batch_subject, call_subject

__all__ = [
    "INPUT_REQUIRED_VERSION",
    "ConfirmCall",
    "NotAsked",
    "accepted",
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
    """Whether an in-band answer approves: the client can be asked and KUPE_APPROVAL_PROOF=client. With
    ``passkey`` no in-band yes counts; the person is brought to the approval page instead."""
    from kupe_mcp.safety.context import settings_of

    return can_elicit(ctx) and settings_of(ctx).proof == "client"


def can_ask_in_body(ctx: Context) -> bool:
    """Whether the tool body itself can ask again (2025-11-25 with a back-channel; 2026-07-28 asks only in rounds)."""
    return _form_elicitation(ctx) and not _input_required(ctx) and bool(ctx.session.can_send_request)


def outcome(confirmation: ElicitationResult[ConfirmCall]) -> ElicitationResult[ConfirmCall] | None:
    """The person's answer, or None when the resolver asked nobody (it returned NotAsked, injected as accepted)."""
    if isinstance(confirmation, AcceptedElicitation) and isinstance(confirmation.data, NotAsked):
        return None
    return confirmation


def declined(answer: ElicitationResult[ConfirmCall] | None) -> str | None:
    """Why nothing may be dialled after the person was asked, or None when they were not asked or said yes."""
    if answer is None:
        return None
    if answer.action == "decline":
        return "The person declined"
    if answer.action == "cancel":
        return "The person dismissed the confirmation"
    data = answer.data if isinstance(answer, AcceptedElicitation) else None
    if isinstance(data, ConfirmCall) and not data.confirm:
        return "The person did not tick confirm"
    return None


def not_asked() -> ElicitationResult[ConfirmCall]:
    """What the SDK injects when a confirmation resolver returned ``NotAsked`` (for callers that dial without
    running the resolvers: wait_for_approval redeeming an approval)."""
    return AcceptedElicitation.model_construct(data=NotAsked())  # type: ignore[arg-type]


def accepted(answer: ElicitationResult[ConfirmCall] | None) -> bool:
    return isinstance(answer, AcceptedElicitation) and isinstance(answer.data, ConfirmCall) and answer.data.confirm


async def _ask(
    ctx: Context, subject: Subject | None, dry_run: bool, token: str | None
) -> Elicit[ConfirmCall] | NotAsked:
    if subject is None:  # a retry answered from its idempotency_key: nothing to ask about
        return NotAsked()
    if dry_run or token is not None or not asks_in_band(ctx) or not subject.plan.needs_confirmation:
        return NotAsked()
    try:
        return Elicit(await question(ctx, subject), ConfirmCall)
    except KupeError as exc:
        raise ToolError(str(exc)) from exc


async def ask_to_place_call(
    ctx: Context,
    subject: Annotated[Subject | None, Resolve(call_subject)],
    dry_run: bool,
    confirmation_token: str | None,
) -> Elicit[ConfirmCall] | NotAsked:
    """place_call's confirmation resolver: ask about the subject when every rule passed and one must confirm."""
    return await _ask(ctx, subject, dry_run, confirmation_token)


async def ask_to_start_batch(
    ctx: Context,
    subject: Annotated[Subject | None, Resolve(batch_subject)],
    dry_run: bool,
    confirmation_token: str | None,
) -> Elicit[ConfirmCall] | NotAsked:
    """start_batch's confirmation resolver: the batch's waiting rows were read and checked by its subject."""
    return await _ask(ctx, subject, dry_run, confirmation_token)
