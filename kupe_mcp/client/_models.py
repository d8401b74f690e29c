"""Pydantic models for the Kupe responses the tools read field by field.

Field names are spelled exactly as the API spells them. Every model keeps unknown
fields (``extra="allow"``): the live API returns more than the spec documents, and a
tool must not silently drop what Kupe sent. Shapes the spec leaves open
(``ArbitraryJson``) stay plain ``dict``s. Fields are optional unless a payload is
meaningless without them (an agent's ``id``, a phone line's ``id``), so real responses
never fail validation over a missing extra.
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from kupe_mcp.errors import UnexpectedResponse

__all__ = [
    "Agent",
    "AgentConfigurations",
    "BatchRecipient",
    "BatchStatus",
    "BatchStatusCounts",
    "BatchStatusData",
    "CallStarted",
    "CompleteAgent",
    "KupeModel",
    "Me",
    "PhoneNumber",
    "SearchResult",
]


class KupeModel(BaseModel):
    """Base for Kupe payloads: unknown fields kept, names as the API spells them."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)

    def to_json(self) -> dict[str, Any]:
        """The payload as JSON-ready data, unknown fields included, unset fields left out."""
        return self.model_dump(mode="json", exclude_unset=True, by_alias=True)


class Me(KupeModel):
    """``GET /api/v1/me``: who the credentials belong to."""

    user_id: str
    auth: str | None = None
    email: str | None = None
    phone: str | None = None
    full_name: str | None = None
    profile_image_url: str | None = None
    user_metadata: dict[str, Any] | None = None


class Agent(KupeModel):
    """The ``agent`` row of an agent payload; ``id`` is the agent_id used everywhere.

    ``CreateAgentResponse`` requires nothing, so neither does this model: an answer without the id
    is still read (and the tools that need the id say so).
    """

    id: str | None = None
    name: str | None = None
    description: str | None = None
    user_id: str | None = None
    is_active: bool | None = None
    recording_enabled: bool | None = None
    apply_noise_reduction: bool | None = None
    # The docs accept the welcome line under either name; expose it under the canonical one.
    first_response_message: str | None = Field(
        default=None, validation_alias=AliasChoices("first_response_message", "welcome_message")
    )


class AgentConfigurations(KupeModel):
    """``configurations`` of a CompleteAgentResponse; each section stays open JSON.

    The spec types ``configurations`` as any object, so a section may be any JSON value (``tools``
    is a list in the sandbox and an object in some deployments); readers check the shape they need.
    """

    # ``model_config`` is reserved by pydantic, hence the Python name ``llm_config``.
    llm_config: Any = Field(
        default=None,
        alias="model_config",
        validation_alias=AliasChoices("model_config", "agent_model_config", "llm_config"),
    )
    tts_config: Any = None
    transcriber_config: Any = None
    vad_config: Any = None
    inferencing_config: Any = None
    tools: Any = None
    agent_specific_config: Any = None


class CompleteAgent(KupeModel):
    """``CompleteAgentResponse``: the agent plus its configurations (get, create, update, patch).

    Every field is optional, as in the spec: an answer without ``agent`` still carries what it carries.
    """

    agent: Agent | None = None
    configurations: AgentConfigurations | None = None
    validation_status: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _unwrap_envelope(cls, value: Any) -> Any:
        """Accept the agent inside a ``{"message", "data": {...}}`` success envelope too."""
        if isinstance(value, dict) and "agent" not in value and isinstance(value.get("data"), dict):
            return value["data"]
        return value

    @property
    def has_id(self) -> bool:
        """Whether Kupe's answer named the agent's id (the spec does not require it)."""
        return self.agent is not None and bool(self.agent.id)

    @property
    def agent_id(self) -> str:
        """The agent's id (``agent.id``), the ``agent_id`` of every other route.

        Raises UnexpectedResponse (its sentence names the missing field) when Kupe's answer left it out.
        """
        if self.agent is None or not self.agent.id:
            raise UnexpectedResponse(
                "Kupe's agent answer carries no agent.id, so the agent cannot be named: "
                "find it with list_agents and use the id shown there.",
                method="GET",
                path="(agent answer)",
                status=200,
            )
        return self.agent.id


class PhoneNumber(KupeModel):
    """One provisioned line from ``GET /api/v1/phone``; ``id`` is the ``phone_number_id``."""

    id: str
    phone_number: str | None = None
    friendly_name: str | None = None
    country_code: str | None = None
    region: str | None = None
    is_active: bool | None = None
    created_at: str | None = None


class CallStarted(KupeModel):
    """``POST /api/call/create_call`` success: ``call_session_id`` is the session key, ``request_id`` the trace id."""

    status: str | None = None
    request_id: str | None = None
    call_session_id: str | None = None
    user_id: str | None = None
    telephony_provider: str | None = None
    target_number: str | None = None
    from_phone_number: str | None = None
    telephony_leg_id: str | None = None


class SearchResult(KupeModel):
    """``RagSearchResponseBody``: chunk texts and parallel scores (numbers for semantic, objects for hybrid)."""

    success: bool | None = None
    message: str | None = None
    data: list[str] = Field(default_factory=list)
    scores: list[Any] = Field(default_factory=list)

    @field_validator("data", "scores", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value


def international_number(stored: str) -> str:
    """A recipient number as Kupe returns it, in the E.164 form we sent.

    Kupe stores batch recipients "normalized to digits server-side" (``14155550142``), and
    every number kupe-app-mcp adds is E.164 with its country code, so a digits-only number
    is read as international: ``+`` then the digits. Anything else is returned as given, for
    the call-safety rules to judge (and refuse when it is not a number).
    """
    text = stored.strip()
    return f"+{text}" if text.isascii() and text.isdigit() else text


class BatchRecipient(KupeModel):
    """One target number of a batch campaign (``batch_data`` row) and its call status.

    ``to_phonenumber`` is read back as E.164 (see ``international_number``).
    """

    id: str | None = None
    batch_id: str | None = None
    to_phonenumber: str | None = None

    @field_validator("to_phonenumber", mode="after")
    @classmethod
    def _as_sent(cls, value: str | None) -> str | None:
        return international_number(value) if value is not None else None

    variable_values: dict[str, Any] | None = None
    status: str | None = None
    error_message: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class BatchStatusCounts(KupeModel):
    """How many of a batch's numbers are in each state."""

    not_started: int | None = None
    calling: int | None = None
    completed: int | None = None
    failed: int | None = None
    no_answer: int | None = None
    total: int | None = None


class BatchStatusData(KupeModel):
    """``data`` of ``GET /api/v1/batch-call/{batch_id}/status``."""

    batch: dict[str, Any] | None = None
    status_counts: BatchStatusCounts | None = None


class BatchStatus(KupeModel):
    """``GET /api/v1/batch-call/{batch_id}/status``: batch metadata plus per-number counts."""

    success: bool | None = None
    data: BatchStatusData | None = None
