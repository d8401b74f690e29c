"""Client ID Metadata Documents: a client_id that is an https URL, fetched by the server with guards.

A test https server on loopback serves the documents (good, redirecting, oversized); the server's fetcher
trusts its certificate and, where a test says so, loopback addresses (``OAuthOptions``, test-only).
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from kupe_mcp.serve.oauth import OAuthOptions
from kupe_mcp.serve.oauth._cimd import ClientDocumentRefused, ClientDocuments
from tests.oauth._oauth import CALLBACK, Served, serve
from tests.oauth._tls import TlsServer, make_cert, trusting

pytestmark = pytest.mark.anyio


class Documents:
    """The https server's documents; ``hits`` counts fetches of the good one (the cache test)."""

    def __init__(self) -> None:
        self.base = ""
        self.hits = 0

    def app(self) -> Starlette:
        async def good(request: Request) -> Response:
            self.hits += 1
            return JSONResponse(
                {
                    "client_id": f"{self.base}/client.json",
                    "client_name": "Document <b>Client</b>",
                    "redirect_uris": [CALLBACK],
                    "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"],
                    "token_endpoint_auth_method": "none",
                },
                headers={"cache-control": "max-age=600"},
            )

        async def moved(request: Request) -> Response:
            return RedirectResponse(f"{self.base}/client.json", status_code=302)

        async def big(request: Request) -> Response:
            return JSONResponse({"client_id": f"{self.base}/big.json", "padding": "x" * 100_000})

        async def chunked(request: Request) -> Response:
            async def chunks() -> Any:
                for _ in range(100):
                    yield b"x" * 1024

            return StreamingResponse(chunks(), media_type="application/json")

        async def other(request: Request) -> Response:
            return JSONResponse({"client_id": "https://elsewhere.example/client.json", "redirect_uris": [CALLBACK]})

        async def insecure_redirect(request: Request) -> Response:
            return JSONResponse(
                {"client_id": f"{self.base}/http-redirect.json", "redirect_uris": ["http://attacker.example/cb"]}
            )

        return Starlette(
            routes=[
                Route("/client.json", good),
                Route("/moved.json", moved),
                Route("/big.json", big),
                Route("/chunked.json", chunked),
                Route("/other.json", other),
                Route("/http-redirect.json", insecure_redirect),
            ]
        )


@pytest.fixture
def documents(tmp_path: Path) -> Iterator[tuple[Documents, Path]]:
    cert, key = make_cert(tmp_path)
    docs = Documents()
    with TlsServer(docs.app(), cert, key) as srv:
        docs.base = srv.base_url
        yield docs, cert


@pytest.fixture
def served(documents: tuple[Documents, Path]) -> Iterator[Served]:
    _, cert = documents
    with serve(options=OAuthOptions(documents_allow_private=True, documents_verify=trusting(cert))) as s:
        yield s


async def refusal(docs: ClientDocuments, url: str) -> str:
    with pytest.raises(ClientDocumentRefused) as refused:
        await docs.get(url)
    return str(refused.value)


async def test_a_document_is_fetched_checked_and_then_served_from_the_cache(
    documents: tuple[Documents, Path],
) -> None:
    docs, cert = documents
    fetcher = ClientDocuments(allow_private=True, verify=trusting(cert))
    first = await fetcher.get(f"{docs.base}/client.json")
    second = await fetcher.get(f"{docs.base}/client.json")
    assert first.client_id == f"{docs.base}/client.json"
    assert first.token_endpoint_auth_method == "none"
    assert [str(u) for u in first.redirect_uris or []] == [CALLBACK]
    assert second == first
    assert docs.hits == 1


async def test_plain_http_is_refused_with_one_sentence() -> None:
    sentence = await refusal(ClientDocuments(), "http://client.example/client.json")
    assert sentence == (
        "The client_id http://client.example/client.json is not an https URL: a client metadata document must be "
        "served over https."
    )


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("https://127.0.0.1:9/client.json", "127.0.0.1"),
        ("https://10.1.2.3/client.json", "10.1.2.3"),
        ("https://169.254.169.254/latest/meta-data", "169.254.169.254"),
        ("https://[::1]/client.json", "::1"),
        ("https://[::ffff:192.168.1.1]/client.json", "::ffff:c0a8:101"),
        ("https://localhost/client.json", None),
    ],
)
async def test_a_private_loopback_or_link_local_address_is_refused_with_one_sentence(
    url: str, address: str | None
) -> None:
    sentence = await refusal(ClientDocuments(), url)
    assert sentence.startswith(f"The client_id {url} points at a private or local address (")
    assert sentence.endswith("): client metadata documents must be on the public internet.")
    if address is not None:
        assert f"({address})" in sentence


async def test_a_redirect_is_refused_with_one_sentence(documents: tuple[Documents, Path]) -> None:
    docs, cert = documents
    url = f"{docs.base}/moved.json"
    sentence = await refusal(ClientDocuments(allow_private=True, verify=trusting(cert)), url)
    assert sentence == (
        f"The client_id {url} answered with a redirect: a client metadata document must be served at its own URL, "
        "without redirects."
    )
    assert docs.hits == 0


@pytest.mark.parametrize("path", ["/big.json", "/chunked.json"])  # with a Content-Length, and streamed without one
async def test_an_oversized_document_is_refused_with_one_sentence(documents: tuple[Documents, Path], path: str) -> None:
    docs, cert = documents
    url = f"{docs.base}{path}"
    sentence = await refusal(ClientDocuments(allow_private=True, verify=trusting(cert)), url)
    assert sentence == f"The client metadata document at {url} is larger than 64 KB: it must be smaller."


async def test_a_document_naming_another_client_id_is_refused(documents: tuple[Documents, Path]) -> None:
    docs, cert = documents
    url = f"{docs.base}/other.json"
    sentence = await refusal(ClientDocuments(allow_private=True, verify=trusting(cert)), url)
    assert sentence == f"The client metadata document at {url} is not valid: its client_id must be exactly its own URL."


async def test_an_untrusted_certificate_is_refused(documents: tuple[Documents, Path]) -> None:
    docs, _ = documents
    url = f"{docs.base}/client.json"
    sentence = await refusal(ClientDocuments(allow_private=True), url)
    assert sentence == (
        f"The client metadata document at {url} could not be fetched (no connection or no valid TLS): "
        "check the client_id."
    )


async def authorize(served: Served, client_id: str) -> httpx2.Response:
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": CALLBACK,
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
        "state": "s",
    }
    async with httpx2.AsyncClient() as http:
        return await http.get(f"{served.base_url}/authorize?{urlencode(query)}")


async def test_each_bad_document_url_is_refused_at_authorize_with_its_sentence_on_the_page(
    served: Served, documents: tuple[Documents, Path]
) -> None:
    docs, _ = documents
    cases = {
        "http://client.example/client.json": "is not an https URL",
        f"{docs.base}/moved.json": "answered with a redirect",
        f"{docs.base}/big.json": "is larger than 64 KB",
        f"{docs.base}/http-redirect.json": "lists the redirect URI http://attacker.example/cb, which is not allowed",
    }
    for url, words in cases.items():
        response = await authorize(served, url)
        assert response.status_code == 400, url
        assert response.headers["x-frame-options"] == "DENY"
        assert words in html.unescape(response.text), url


async def test_a_private_document_url_is_refused_at_authorize_when_private_addresses_are_not_allowed() -> None:
    with serve() as served:
        response = await authorize(served, "https://127.0.0.1:9/client.json")
    assert response.status_code == 400
    assert (
        "The client_id https://127.0.0.1:9/client.json points at a private or local address (127.0.0.1): client "
        "metadata documents must be on the public internet."
    ) in html.unescape(response.text)


async def test_a_good_document_leads_to_the_sign_in_page_naming_the_client_escaped(
    served: Served, documents: tuple[Documents, Path]
) -> None:
    docs, _ = documents
    response = await authorize(served, f"{docs.base}/client.json")
    assert response.status_code == 302
    async with httpx2.AsyncClient() as http:
        page = await http.get(response.headers["location"])
    assert "<strong>Document &lt;b&gt;Client&lt;/b&gt;</strong> asks to use your Kupe App account" in page.text
    assert docs.hits == 1
