"""Typed async client for the Kupe App REST API."""

from kupe_mcp.client import _models as models
from kupe_mcp.client import _responses as responses
from kupe_mcp.client._catalogue import ENDPOINTS, Endpoint
from kupe_mcp.client._client import KupeClient
from kupe_mcp.client._endpoint import Request, endpoint_of
from kupe_mcp.client._http import KupeHTTP, RetryPolicy
from kupe_mcp.client._models import *  # noqa: F403 - the models' own __all__ is the list
from kupe_mcp.client._responses import *  # noqa: F403

__all__ = [
    *models.__all__,
    *responses.__all__,
    "ENDPOINTS",
    "Endpoint",
    "KupeClient",
    "KupeHTTP",
    "Request",
    "RetryPolicy",
    "endpoint_of",
]
