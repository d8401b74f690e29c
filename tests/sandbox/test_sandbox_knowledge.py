"""Knowledge files, agent mappings and RAG search shapes."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from .conftest import demo_agent_id

pytestmark = pytest.mark.anyio

POLICY = (
    "Refund policy: customers can request a full refund within 30 days of purchase. "
    "Cancellation fee: appointments cancelled with less than 24 hours notice incur a 10 dollar fee. "
) * 12


async def _upload(client: httpx2.AsyncClient, name: str, content: bytes, **data: str) -> httpx2.Response:
    return await client.post("/api/v1/files/upload", files={"file": (name, content, "text/plain")}, data=data)


async def _search(client: httpx2.AsyncClient, kind: str, agent_id: str, **body: Any) -> dict[str, Any]:
    response = await client.post(f"/api/v1/search/{kind}", params={"agent_id": agent_id}, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_upload_chunks_text_and_lists_it(client: httpx2.AsyncClient) -> None:
    response = await _upload(client, "policy.txt", POLICY.encode())
    data = response.json()["data"]
    assert response.json()["message"]
    assert data["original_filename"] == "policy.txt"
    assert data["chunk_count"] > 1
    assert {"id", "storage_file_id", "file_size", "mime_type", "created_at"} <= set(data)
    files = (await client.get("/api/v1/files/user/me")).json()["data"]["files"]
    assert [f["id"] for f in files] == [data["id"]]
    detail = (await client.get(f"/api/v1/files/{data['id']}")).json()["data"]
    assert detail["download_url"].startswith("https://")


async def test_unsupported_file_types_are_400_naming_supported_formats(client: httpx2.AsyncClient) -> None:
    response = await _upload(client, "deck.pdf", b"%PDF-1.4")
    assert response.status_code == 400
    assert ".txt" in response.json()["detail"]
    assert ".pdf" in response.json()["detail"]
    formats = (await client.get("/api/v1/files/supported-formats")).json()["data"]
    assert ".md" in formats["extensions"]


async def test_semantic_and_hybrid_search_return_rag_shapes(client: httpx2.AsyncClient) -> None:
    agent_id = await demo_agent_id(client)
    await _upload(client, "policy.txt", POLICY.encode(), agent_id=agent_id)
    semantic = await _search(client, "semantic", agent_id, query="refund policy", limit=3)
    assert semantic["success"] is True
    assert 1 <= len(semantic["data"]) <= 3
    assert len(semantic["scores"]) == len(semantic["data"])
    assert all(isinstance(s, float) and 0 < s < 1 for s in semantic["scores"])
    assert semantic["scores"] == sorted(semantic["scores"])  # distances: lower is better
    assert "refund" in semantic["data"][0].lower()
    hybrid = await _search(client, "hybrid", agent_id, query="cancellation fee", limit=2)
    assert len(hybrid["data"]) == 2
    assert all(set(s) == {"combined_score", "distance", "sparse_score"} for s in hybrid["scores"])


async def test_search_only_sees_files_tagged_or_mapped_to_the_agent(client: httpx2.AsyncClient) -> None:
    agent_id = await demo_agent_id(client)
    file_id = (await _upload(client, "faq.md", b"# FAQ\nParking is free behind the clinic.")).json()["data"]["id"]
    assert (await _search(client, "semantic", agent_id, query="parking"))["data"] == []
    mapped = await client.post(
        "/api/v1/agent-files-mappings/create", json={"agent_id": agent_id, "upload_file_id": file_id}
    )
    assert mapped.status_code == 200
    listed = (await client.get(f"/api/v1/agent-files-mappings/agent/{agent_id}")).json()["data"]
    assert [m["upload_file_id"] for m in listed] == [file_id]
    assert "Parking" in (await _search(client, "semantic", agent_id, query="parking"))["data"][0]
    detached = await client.delete(f"/api/v1/agent-files-mappings/agent/{agent_id}/file/{file_id}")
    assert detached.status_code == 200
    assert (await _search(client, "hybrid", agent_id, query="parking"))["data"] == []


@pytest.mark.parametrize(
    "query", ['"unbalanced', "NEAR(refund", "refund AND OR NOT", "*", "col:umn ^ -x", "'); DROP TABLE docs; --"]
)
async def test_search_never_turns_user_text_into_an_fts_syntax_error(client: httpx2.AsyncClient, query: str) -> None:
    agent_id = await demo_agent_id(client)
    await _upload(client, "policy.txt", POLICY.encode(), agent_id=agent_id)
    result = await _search(client, "semantic", agent_id, query=query)
    assert result["success"] is True


async def test_search_with_no_match_succeeds_with_empty_data(client: httpx2.AsyncClient) -> None:
    agent_id = await demo_agent_id(client)
    result = await _search(client, "semantic", agent_id, query="zebra")
    assert (result["success"], result["data"], result["scores"]) == (True, [], [])


async def test_search_requires_agent_id_and_a_query(client: httpx2.AsyncClient) -> None:
    assert (await client.post("/api/v1/search/semantic", json={"query": "x"})).status_code == 400
    agent_id = await demo_agent_id(client)
    blank = await client.post("/api/v1/search/semantic", params={"agent_id": agent_id}, json={"query": "  "})
    assert blank.status_code == 400


async def test_deleting_a_file_removes_its_chunks(client: httpx2.AsyncClient) -> None:
    agent_id = await demo_agent_id(client)
    file_id = (await _upload(client, "policy.txt", POLICY.encode(), agent_id=agent_id)).json()["data"]["id"]
    renamed = await client.put(f"/api/v1/files/{file_id}", json={"original_filename": "refunds.txt"})
    assert renamed.json()["data"]["original_filename"] == "refunds.txt"
    assert (await client.delete(f"/api/v1/files/{file_id}")).status_code == 200
    assert (await client.get(f"/api/v1/files/{file_id}")).status_code == 404
    assert (await _search(client, "semantic", agent_id, query="refund"))["data"] == []


async def test_html_and_json_files_are_decoded_to_text(client: httpx2.AsyncClient) -> None:
    agent_id = await demo_agent_id(client)
    html = b"<html><script>var secret=1;</script><body><p>Opening hours are nine to seven.</p></body></html>"
    await client.post(
        "/api/v1/files/upload", files={"file": ("hours.html", html, "text/html")}, data={"agent_id": agent_id}
    )
    await client.post(
        "/api/v1/files/upload",
        files={"file": ("x.json", b'{"holiday": "Closed on Sundays"}', "application/json")},
        data={"agent_id": agent_id},
    )
    assert (await _search(client, "semantic", agent_id, query="secret"))["data"] == []
    assert "nine to seven" in (await _search(client, "semantic", agent_id, query="opening hours"))["data"][0]
    assert "Sundays" in (await _search(client, "semantic", agent_id, query="sundays"))["data"][0]
