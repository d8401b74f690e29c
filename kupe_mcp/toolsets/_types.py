"""Argument types shared by the tools, so each id is described once, the same way everywhere.

Descriptions say where an id comes from: the model should never invent one.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field

__all__ = ["AgentId", "CallRequestId", "FileId", "Page", "PageSize", "PhoneNumberId", "WorkflowId"]

AgentId = Annotated[UUID, Field(description="Agent id, from list_agents or create_agent.")]
WorkflowId = Annotated[UUID, Field(description="Workflow id, from the Kupe dashboard.")]
PhoneNumberId = Annotated[UUID, Field(description="Phone line id, from list_phone_numbers.")]
FileId = Annotated[UUID, Field(description="Knowledge file id, from list_knowledge_files or upload_knowledge_file.")]
CallRequestId = Annotated[UUID, Field(description="Call request_id, from place_call or get_call_analytics.")]
Page = Annotated[int, Field(ge=1)]
PageSize = Annotated[int, Field(ge=1, le=100)]
