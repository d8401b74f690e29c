"""Argument types shared by the tools, so each id is described once, the same way everywhere.

Descriptions say where an id comes from: the model should never invent one.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, Field, StringConstraints

__all__ = [
    "AgentId",
    "CallRequestId",
    "ConfirmationToken",
    "DryRun",
    "FileId",
    "Page",
    "PageSize",
    "PhoneNumberId",
    "WorkflowId",
]

AgentId = Annotated[UUID, Field(description="From list_agents.")]
WorkflowId = Annotated[UUID, Field(description="From the Kupe dashboard.")]
PhoneNumberId = Annotated[UUID, Field(description="From list_phone_numbers.")]
FileId = Annotated[UUID, Field(description="From list_knowledge_files.")]


# Kupe's spec types request_id as a plain string (it issues UUIDs today): no UUID-only check here.
def _not_too_long(value: str) -> str:
    """Checked here rather than as maxLength, which every listing of three default tools would pay for in bytes."""
    if len(value) > 128:
        raise ValueError("a request_id is at most 128 characters")
    return value


CallRequestId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1),
    AfterValidator(_not_too_long),
    Field(description="From place_call or get_call_analytics."),
]
Page = Annotated[int, Field(ge=1)]
PageSize = Annotated[int, Field(ge=1, le=100)]

# The two arguments every dialling tool (place_call, start_batch) takes to steer the call-safety gate.
DryRun = Annotated[bool, Field(description="Check and preview only; dials nothing.")]
ConfirmationToken = Annotated[str | None, Field(description="From a preview, once the user said yes.")]
