"""Client ID Metadata Documents: a ``client_id`` that is an https URL names a JSON document describing the client.

The server fetches that URL itself, so the fetch is guarded like any server-side request to an address a
stranger chose (SSRF):

* https only, with a path, no credentials or fragment in the URL;
* the host's every address must be public: no loopback, private, link-local, multicast or reserved
  address, unless ``allow_private`` (a test-only switch) says otherwise; the connection goes to the
  address that was checked (SNI and Host carry the name), so DNS cannot swap it in between;
* no redirects; a 64 KB cap on the body; a 5 s cap on the whole fetch;
* a cache (the document's ``max-age``, 1 minute to 1 hour; 5 minutes without one).

Each refusal is one sentence (``ClientDocumentRefused``) that the authorization page shows the person.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import ssl
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx2
from mcp.shared.auth import OAuthClientInformationFull
from pydantic import ValidationError

__all__ = ["MAX_BYTES", "ClientDocumentRefused", "ClientDocuments", "is_document_client_id"]

MAX_BYTES = 64 * 1024
TIMEOUT_S = 5.0
_MAX_AGE = re.compile(r"max-age\s*=\s*(\d+)", re.I)


class ClientDocumentRefused(Exception):
    """A client metadata document that may not be used; ``str()`` is one sentence for the person."""


def is_document_client_id(client_id: str) -> bool:
    """A client_id shaped like a URL is a metadata document's address (DCR ids are UUIDs)."""
    return client_id.startswith(("https://", "http://"))


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


class ClientDocuments:
    """Fetches, checks and caches client metadata documents (see the module docstring for the guards)."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        verify: ssl.SSLContext | bool = True,
        max_entries: int = 512,
    ) -> None:
        self.allow_private = allow_private
        self._verify = verify
        self._cache: OrderedDict[str, tuple[float, OAuthClientInformationFull]] = OrderedDict()
        self._max_entries = max_entries

    def cached(self, url: str) -> OAuthClientInformationFull | None:
        hit = self._cache.get(url)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    async def get(self, url: str) -> OAuthClientInformationFull:
        """The client the document at ``url`` describes; raises ClientDocumentRefused with the reason."""
        hit = self.cached(url)
        if hit is not None:
            return hit
        try:
            with anyio.fail_after(TIMEOUT_S):
                client, ttl = await self._fetch(url)
        except TimeoutError:
            raise ClientDocumentRefused(
                f"The client metadata document at {url} did not arrive within {TIMEOUT_S:g} seconds: try again later."
            ) from None
        self._cache[url] = (time.monotonic() + ttl, client)
        self._cache.move_to_end(url)
        while len(self._cache) > self._max_entries:
            self._cache.popitem(last=False)
        return client

    async def _fetch(self, url: str) -> tuple[OAuthClientInformationFull, float]:
        parts = urlsplit(url)
        if parts.scheme != "https":
            raise ClientDocumentRefused(
                f"The client_id {url} is not an https URL: a client metadata document must be served over https."
            )
        if not parts.hostname or parts.username or parts.password or parts.fragment or parts.path in {"", "/"}:
            raise ClientDocumentRefused(
                f"The client_id {url} is not a usable document URL: it needs a host and a path, "
                "and no credentials or fragment."
            )
        host = parts.hostname
        address = await self._checked_address(url, host)
        target = urlunsplit(("https", _netloc(address, parts.port), parts.path or "/", parts.query, ""))
        headers = {"host": parts.netloc, "accept": "application/json"}
        try:
            async with httpx2.AsyncClient(verify=self._verify, follow_redirects=False, timeout=TIMEOUT_S) as http:
                request = http.build_request("GET", target, headers=headers, extensions={"sni_hostname": host})
                response = await http.send(request, stream=True)
                try:
                    if 300 <= response.status_code < 400:
                        raise ClientDocumentRefused(
                            f"The client_id {url} answered with a redirect: a client metadata document must be "
                            "served at its own URL, without redirects."
                        )
                    if response.status_code != 200:
                        raise ClientDocumentRefused(
                            f"The client metadata document at {url} could not be fetched "
                            f"(HTTP {response.status_code}): check the client_id."
                        )
                    body = await _read_capped(response, url)
                finally:
                    await response.aclose()
        except httpx2.HTTPError:
            raise ClientDocumentRefused(
                f"The client metadata document at {url} could not be fetched (no connection or no valid TLS): "
                "check the client_id."
            ) from None
        return _client_from(url, body), _ttl(response.headers.get("cache-control", ""))

    async def _checked_address(self, url: str, host: str) -> str:
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [literal]
        else:
            try:
                infos = await anyio.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
            except OSError:
                raise ClientDocumentRefused(f"The host of the client_id {url} does not resolve: check it.") from None
            addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        if not addresses:
            raise ClientDocumentRefused(f"The host of the client_id {url} does not resolve: check it.")
        if not self.allow_private:
            for ip in addresses:
                if not _public(ip):
                    raise ClientDocumentRefused(
                        f"The client_id {url} points at a private or local address ({ip}): client metadata "
                        "documents must be on the public internet."
                    )
        return str(addresses[0])


def _netloc(address: str, port: int | None) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"{host}:{port}" if port else host


async def _read_capped(response: httpx2.Response, url: str) -> bytes:
    too_big = ClientDocumentRefused(
        f"The client metadata document at {url} is larger than {MAX_BYTES // 1024} KB: it must be smaller."
    )
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BYTES:
        raise too_big
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        size += len(chunk)
        if size > MAX_BYTES:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


def _ttl(cache_control: str) -> float:
    if "no-store" in cache_control.lower():
        return 60.0
    match = _MAX_AGE.search(cache_control)
    return float(min(max(int(match.group(1)), 60), 3600)) if match else 300.0


def _client_from(url: str, body: bytes) -> OAuthClientInformationFull:
    bad = f"The client metadata document at {url} is not valid"
    try:
        raw: Any = json.loads(body)
    except ValueError:
        raise ClientDocumentRefused(f"{bad}: it is not JSON.") from None
    if not isinstance(raw, dict):
        raise ClientDocumentRefused(f"{bad}: it is not a JSON object.")
    if raw.get("client_id") != url:
        raise ClientDocumentRefused(f"{bad}: its client_id must be exactly its own URL.")
    if raw.get("client_secret") or raw.get("client_secret_expires_at"):
        raise ClientDocumentRefused(f"{bad}: a metadata document must not carry a client secret.")
    method = raw.get("token_endpoint_auth_method") or "none"
    if method != "none":
        raise ClientDocumentRefused(f"{bad}: its token_endpoint_auth_method must be none (a public client).")
    if not raw.get("redirect_uris"):
        raise ClientDocumentRefused(f"{bad}: it lists no redirect_uris.")
    fields = {k: v for k, v in raw.items() if k in OAuthClientInformationFull.model_fields}
    try:
        return OAuthClientInformationFull.model_validate({**fields, "token_endpoint_auth_method": "none"})
    except ValidationError:
        raise ClientDocumentRefused(f"{bad}: a field has the wrong type (redirect_uris must be URLs).") from None
