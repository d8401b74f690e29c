"""Typed async client for the Kupe App REST API."""

from kupe_mcp.client import _responses as responses
from kupe_mcp.client._catalogue import ENDPOINTS, Endpoint
from kupe_mcp.client._client import KupeClient
from kupe_mcp.client._endpoint import Request, endpoint_of
from kupe_mcp.client._http import KupeHTTP, RetryPolicy
from kupe_mcp.client._models import (
    Agent,
    AgentConfigurations,
    BatchRecipient,
    BatchStatus,
    BatchStatusCounts,
    BatchStatusData,
    CallStarted,
    CompleteAgent,
    KupeModel,
    Me,
    PhoneNumber,
    SearchResult,
)
from kupe_mcp.client._responses import *  # noqa: F403

__all__ = [
    *responses.__all__,
    "ENDPOINTS",
    "Agent",
    "AgentConfigurations",
    "BatchRecipient",
    "BatchStatus",
    "BatchStatusCounts",
    "BatchStatusData",
    "CallStarted",
    "CompleteAgent",
    "Endpoint",
    "KupeClient",
    "KupeHTTP",
    "KupeModel",
    "Me",
    "PhoneNumber",
    "Request",
    "RetryPolicy",
    "SearchResult",
    "endpoint_of",
]
