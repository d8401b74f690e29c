"""What a write tool answers: one small union of typed outcomes, shared by ``place_call`` and ``start_batch``.

Every answer is exactly one of: dialled (``Placed`` / ``Started``), ``DryRun``, ``ApprovalPending`` (a person
approves on a page, card or client-opened URL), ``ConfirmationRequired`` (KUPE_CONFIRM_FALLBACK=token: the
model brings back a token after the person said yes; nothing is stored for a person to answer, so it is not an
approval pending), ``Declined`` or ``OutcomeUnknown`` (Kupe's answer to an earlier attempt was lost). The
``outcome`` field names which; each variant's other fields are required wherever the value is always there, so
a client reads one shape per outcome instead of nineteen optional fields.

The gate and the approval channels build the shared variants, which say nothing about the tool; ``call_outcome``
and ``batch_outcome`` are the one place an answer gets its tool's side: ``placed: false`` for a call,
``batch_id`` + ``started: false`` for a batch (the keys clients have always read). The same validation reads an
idempotency record back, and one that no longer reads as an outcome is reported as unknown, never dialled again.

Written strictly, read leniently: the dialled variants take only the fields of Kupe's answer that are named
here as the outcome, so an odd extra field in that answer never turns a call that rings into a failure; Kupe's
whole answer, unknown fields included, is kept beside them under ``kupe``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, TypeAdapter, ValidationError
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

__all__ = [
    "Answer",
    "ApprovalPending",
    "BatchOutcome",
    "CallOutcome",
    "ConfirmationRequired",
    "Declined",
    "DryRun",
    "OutcomeUnknown",
    "Placed",
    "Recorded",
    "Started",
    "batch_outcome",
    "call_outcome",
    "must_replay",
    "recorded",
    "unknown",
]


class _Outcome(BaseModel):
    """A variant: unknown fields are dropped on the way in (an odd field in Kupe's answer fails nothing)."""

    model_config = ConfigDict(extra="ignore")


class DryRun(_Outcome):
    """Checks passed and what would be dialled, with money; nothing was dialled."""

    outcome: Literal["dry_run"] = "dry_run"
    dry_run: Literal[True] = True
    checks: Literal["passed"] = "passed"
    preview: dict[str, Any]
    confirmation: str
    calls_left_this_hour: int
    estimate_basis: str
    credit_balance_usd: float | None = None
    credit_balance_note: str | None = None
    estimated_cost_usd: float | None = None
    balance_warning: str | None = None


class ApprovalPending(_Outcome):
    """A person approves on a page, card or client-opened URL; wait_for_approval (or a repeat) dials it after."""

    outcome: Literal["approval_pending"] = "approval_pending"
    approval_required: Literal[True] = True
    approval_id: str
    channel: Literal["url", "app", "link"]
    expires_in_s: int
    preview: dict[str, Any]
    next: str
    approval_url: str | None = None
    note: str | None = None
    passkey: str | None = None


class ConfirmationRequired(_Outcome):
    """KUPE_CONFIRM_FALLBACK=token: show the preview; only after the person's yes, repeat with the token."""

    outcome: Literal["confirmation_required"] = "confirmation_required"
    confirmation_required: Literal[True] = True
    preview: dict[str, Any]
    confirmation_token: str
    expires_in_s: int
    next: str


class Declined(_Outcome):
    """A person said no (or nobody approved in time): not an error, so the model does not "fix" and retry it."""

    outcome: Literal["declined"] = "declined"
    declined: Literal[True] = True
    reason: str


class OutcomeUnknown(_Outcome):
    """An earlier attempt with this idempotency_key may have dialled; it is not dialled again."""

    outcome: Literal["outcome_unknown"] = "outcome_unknown"
    outcome_unknown: Literal[True] = True
    reason: str


Answer = DryRun | ApprovalPending | ConfirmationRequired | Declined | OutcomeUnknown
"""What the gate answers instead of dialling: the same for a call and a batch."""


class Placed(_Outcome):
    """The call is ringing. Kupe's answer may lack an id (its schema requires none): the call still rang."""

    outcome: Literal["placed"] = "placed"
    placed: Literal[True] = True
    next: str
    request_id: str | None = None
    call_session_id: str | None = None
    status: str | None = None
    variable_values_applied: bool | None = None
    """Only when variable_values were sent: true when Kupe showed them back, false when it showed otherwise."""
    variable_values_note: str | None = None
    kupe: dict[str, Any] | None = None
    """Kupe's answer as it came, fields this server does not name included (read leniently, kept, never judged)."""


class Started(_Outcome):
    """The campaign is dialling its list."""

    outcome: Literal["started"] = "started"
    started: Literal[True] = True
    batch_id: str
    message: str | None = None
    kupe: dict[str, Any] | None = None
    """Kupe's acknowledgement as it came, fields this server does not name included."""


class _NotPlaced(BaseModel):
    placed: Literal[False] = False


class _NotStarted(BaseModel):
    batch_id: str
    started: Literal[False] = False


class CallDryRun(DryRun, _NotPlaced):
    pass


class CallApprovalPending(ApprovalPending, _NotPlaced):
    pass


class CallConfirmationRequired(ConfirmationRequired, _NotPlaced):
    pass


class CallDeclined(Declined, _NotPlaced):
    pass


class CallOutcomeUnknown(OutcomeUnknown, _NotPlaced):
    pass


class BatchDryRun(DryRun, _NotStarted):
    pass


class BatchApprovalPending(ApprovalPending, _NotStarted):
    pass


class BatchConfirmationRequired(ConfirmationRequired, _NotStarted):
    pass


class BatchDeclined(Declined, _NotStarted):
    pass


class BatchOutcomeUnknown(OutcomeUnknown, _NotStarted):
    pass


_CALL = (Placed, CallDryRun, CallApprovalPending, CallConfirmationRequired, CallDeclined, CallOutcomeUnknown)
_BATCH = (Started, BatchDryRun, BatchApprovalPending, BatchConfirmationRequired, BatchDeclined, BatchOutcomeUnknown)


def _branch(variant: type[BaseModel]) -> JsonSchemaValue:
    """One variant's schema, flat and small: no title or docstring, a fixed value as a bare ``const``.

    Required are the fields always present: those without a default and those with a fixed one (``outcome``,
    ``declined: true`` …), which need not be passed but are in every answer. A field whose default is null is left
    out of the answer when null (``compact_text``), so it is never required.
    """
    schema = variant.model_json_schema()
    properties = {
        name: {"const": prop["const"]} if "const" in prop else prop for name, prop in schema["properties"].items()
    }
    required = [name for name, f in variant.model_fields.items() if f.is_required() or f.default is not None]
    return {"properties": properties, "required": required}


def _object_schema(variants: tuple[type[BaseModel], ...], shared: dict[str, Any]) -> JsonSchemaValue:
    """An object schema naming the fields every variant has at the top, and one ``oneOf`` branch per variant.

    MCP wants an output schema whose root is ``type: object``; pydantic's own schema of a union is a bare
    ``oneOf`` of ``$ref``s plus a ``discriminator`` that JSON Schema validators ignore. Each branch is written
    where it is used, in as few bytes as it takes: every listing of the tool pays for them.
    """
    names = [v.model_fields["outcome"].default for v in variants]
    return {
        "type": "object",
        "properties": {"outcome": {"enum": names}, **shared},
        "required": ["outcome", *shared],
        "oneOf": [_branch(v) for v in variants],
    }


CallVariant = Annotated[
    Placed | CallDryRun | CallApprovalPending | CallConfirmationRequired | CallDeclined | CallOutcomeUnknown,
    Field(discriminator="outcome"),
]
BatchVariant = Annotated[
    Started | BatchDryRun | BatchApprovalPending | BatchConfirmationRequired | BatchDeclined | BatchOutcomeUnknown,
    Field(discriminator="outcome"),
]


class CallOutcome(RootModel[CallVariant]):
    """place_call's answer (and wait_for_approval's ``result`` for a call): the variant's fields at the top."""

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: Any) -> JsonSchemaValue:
        return _object_schema(_CALL, {"placed": {"type": "boolean"}})


class BatchOutcome(RootModel[BatchVariant]):
    """start_batch's answer (and wait_for_approval's ``result`` for a batch): the variant's fields at the top."""

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: Any) -> JsonSchemaValue:
        return _object_schema(_BATCH, {"batch_id": {"type": "string"}, "started": {"type": "boolean"}})


Recorded = Annotated[Answer | Placed | Started, Field(discriminator="outcome")]
"""An outcome as the idempotency store keeps it: without its tool's side, which the tool adds on the way out."""

_CALL_OUT: TypeAdapter[CallOutcome] = TypeAdapter(CallOutcome)
_BATCH_OUT: TypeAdapter[BatchOutcome] = TypeAdapter(BatchOutcome)
_RECORDED: TypeAdapter[Answer | Placed | Started] = TypeAdapter(Recorded)

_LOST = (
    "An earlier {tool} with this idempotency_key may have dialled but its answer was lost (or it is still running); "
    "it is not dialled again. Check list_calls (or get_batch) before trying with a new key."
)


def unknown(tool: str) -> OutcomeUnknown:
    """What a retry with a key gets when the first attempt's answer was lost (or never recorded as an outcome)."""
    return OutcomeUnknown(reason=_LOST.format(tool=tool))


def recorded(data: Any, tool: str) -> Answer | Placed | Started:
    """A stored outcome read back leniently: one that does not read as an outcome (written by another version, or
    damaged) is reported as unknown, since whatever it was, the request must not be dialled again."""
    try:
        return _RECORDED.validate_python(data)
    except ValidationError:
        return unknown(tool)


def call_outcome(answer: Answer | Placed | Started) -> CallOutcome:
    """``answer`` with place_call's side (``placed: false`` unless it is ``Placed``): the tool's result."""
    return _CALL_OUT.validate_python(answer.model_dump())


def batch_outcome(answer: Answer | Placed | Started, batch_id: str) -> BatchOutcome:
    """``answer`` with start_batch's side (``batch_id``, ``started: false`` unless it is ``Started``)."""
    return _BATCH_OUT.validate_python({**answer.model_dump(), "batch_id": batch_id})


def must_replay(outcome: Answer | Placed | Started) -> bool:
    """An outcome a retry with the same idempotency_key must get back: something dialled, or a person is asked."""
    return isinstance(outcome, Placed | Started | ApprovalPending)
