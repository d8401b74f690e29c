"""Every Kupe REST operation the client covers, read from the ``@endpoint`` declarations on ``KupeClient``.

Nothing here is written by hand: a route's method, path, response model and envelope
rule are declared once, on its client method. Sources: ``docs`` = Kupe's Markdown docs,
``spec`` = the OpenAPI file, ``both``. Left out on purpose (telephony and browser
plumbing, not for an API client): ``/api/call/incoming_call``, the media-stream
WebSockets, ``/api/call/auth/token``, ``/api/v1/batch-call/status-callback`` and the
HMAC-signed ``/api/v1/webhooks/agents/{agent_id}/incoming``.
"""

from __future__ import annotations

from kupe_mcp.client._client import KupeClient
from kupe_mcp.client._endpoint import Endpoint, endpoints_of

__all__ = ["ENDPOINTS", "Endpoint"]

ENDPOINTS: tuple[Endpoint, ...] = endpoints_of(KupeClient)
