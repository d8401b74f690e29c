"""The one 401 answer of the serving layer, shared by the auth gate and the OAuth resource check.

Both refuse a request before it reaches MCP, and both must say the same things the same way: a JSON body with
RFC 6750's ``error`` and ``error_description``, and the ``WWW-Authenticate`` challenge a client follows to sign in.
"""

from __future__ import annotations

import json

from starlette.types import Send

__all__ = ["send_unauthorized"]


async def send_unauthorized(send: Send, challenge: bytes, error: str, sentence: str) -> None:
    """Answer 401 with ``challenge`` as WWW-Authenticate and ``sentence`` as the error's description."""
    body = json.dumps({"error": error, "error_description": sentence}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"www-authenticate", challenge),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 401, "headers": headers})
    await send({"type": "http.response.body", "body": body})
