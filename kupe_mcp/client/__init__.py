"""Typed async client for the Kupe App REST API."""

from kupe_mcp.client._catalogue import ENDPOINTS, Endpoint
from kupe_mcp.client._client import KupeClient
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

__all__ = [
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
    "RetryPolicy",
    "SearchResult",
]
