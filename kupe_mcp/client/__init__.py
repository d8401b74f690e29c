"""Typed async client for the Kupe App REST API."""

from kupe_mcp.client._catalogue import ENDPOINTS, Endpoint
from kupe_mcp.client._client import KupeClient
from kupe_mcp.client._http import KupeHTTP, RetryPolicy
from kupe_mcp.client._models import KupeModel, Me

__all__ = ["ENDPOINTS", "Endpoint", "KupeClient", "KupeHTTP", "KupeModel", "Me", "RetryPolicy"]
