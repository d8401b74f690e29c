"""Post-analysis rules, tool definitions, agent tools and webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx2
import pytest

from .conftest import ClientFactory, FakeClock, demo_agent_id

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("base", "body", "list_key"),
    [
        ("/api/v1/tool-endpoint-defs", {"name": "crm", "url": "https://crm.example/hook"}, "tools"),
        ("/api/v1/tools-mcp-server-defs", {"name": "docs", "url": "https://mcp.example/mcp"}, "tools"),
    ],
)
async def test_tool_definition_crud(client: httpx2.AsyncClient, base: str, body: dict[str, str], list_key: str) -> None:
    created = await client.post(base, json=body)
    assert created.status_code == 201
    item = created.json()
    assert (await client.get(base)).json()[list_key] == [item]
    updated = await client.put(f"{base}/{item['id']}", json={"description": "updated"})
    assert updated.json()["description"] == "updated"
    assert (await client.get(f"{base}/{item['id']}")).json()["name"] == body["name"]
    assert (await client.post(base, json={"name": "no url"})).status_code == 422
    assert (await client.post(base, json={"name": "x", "url": "ftp://nope"})).status_code == 400
    assert (await client.delete(f"{base}/{item['id']}")).status_code == 200
    assert (await client.get(f"{base}/{item['id']}")).status_code == 404


async def test_agent_tools_attach_replace_and_remove(client: httpx2.AsyncClient) -> None:
    agent_id = await demo_agent_id(client)
    http_tool = (
        await client.post("/api/v1/tool-endpoint-defs", json={"name": "crm", "url": "https://crm.example"})
    ).json()
    mcp_tool = (
        await client.post("/api/v1/tools-mcp-server-defs", json={"name": "kb", "server_url": "https://kb.example"})
    ).json()
    added = await client.post(f"/api/v1/agents/{agent_id}/tools", json=[{"tool_id": http_tool["id"]}])
    assert [t["tool_type"] for t in added.json()["tools"]] == ["http"]
    replace = [{"tool_id": mcp_tool["id"], "tool_type": "mcp"}]
    assert (await client.patch(f"/api/v1/agents/{agent_id}/tools", json=replace)).status_code == 400
    replaced = await client.patch(f"/api/v1/agents/{agent_id}/tools", params={"force_update": "true"}, json=replace)
    assert [t["tool_id"] for t in replaced.json()["tools"]] == [mcp_tool["id"]]
    agent = (await client.get(f"/api/v1/agents/{agent_id}")).json()
    assert agent["configurations"]["tools"][0]["name"] == "kb"
    assert (await client.delete(f"/api/v1/agents/{agent_id}/tools/{mcp_tool['id']}")).status_code == 200
    assert (await client.get(f"/api/v1/agents/{agent_id}/tools")).json() == []
    unknown = await client.post(
        f"/api/v1/agents/{agent_id}/tools", json=[{"tool_id": "00000000-0000-0000-0000-000000000000"}]
    )
    assert unknown.status_code == 404


async def test_rules_crud_duplicate_and_attachment_drive_call_analysis(
    client: httpx2.AsyncClient, clock: FakeClock
) -> None:
    agent_id = await demo_agent_id(client)
    rule = (
        await client.post(
            "/api/v1/post-analysis/rules",
            json={
                "name": "Sentiment",
                "output_schema": {"type": "object", "properties": {"sentiment": {"type": "string"}}},
            },
        )
    ).json()
    copy = (await client.post(f"/api/v1/post-analysis/rules/{rule['id']}/duplicate")).json()
    assert copy["name"] == "Sentiment (copy)"
    assert len((await client.get("/api/v1/post-analysis/rules")).json()) == 3
    attached = await client.put(
        f"/api/v1/agents/{agent_id}/post-analysis/attached-rules", json={"rule_ids": [rule["id"]]}
    )
    assert attached.json()["rule_ids"] == [rule["id"]]
    assert (await client.get(f"/api/v1/agents/{agent_id}/post-analysis/attached-rule-ids")).json() == [rule["id"]]
    assert [
        r["name"] for r in (await client.get(f"/api/v1/agents/{agent_id}/post-analysis/attached-rules")).json()
    ] == ["Sentiment"]
    placed = await client.post("/api/call/create_call", params={"phoneNumber": "+15551234567", "agent_id": agent_id})
    clock.advance(10)
    session = (await client.get("/api/v1/call-analytics", params={"request_id": placed.json()["request_id"]})).json()
    [result] = session["post_call_analysis_results"]
    assert (result["rule_name"], result["structured_json"]) == ("Sentiment", {"sentiment": "positive"})
    upsert = await client.post(f"/api/v1/agents/{agent_id}/post-analysis", json={"agent_id": agent_id, "enabled": True})
    assert upsert.json()["enabled"] is True
    assert len((await client.get(f"/api/v1/agents/{agent_id}/post-analysis")).json()) == 1
    mismatch = await client.post(f"/api/v1/agents/{agent_id}/post-analysis", json={"agent_id": rule["id"]})
    assert mismatch.status_code == 400
    assert (await client.delete(f"/api/v1/post-analysis/rules/{rule['id']}")).status_code == 200
    assert (await client.get(f"/api/v1/agents/{agent_id}/post-analysis/attached-rule-ids")).json() == []


async def test_webhook_secret_is_masked_unless_revealed_and_rotates(client: httpx2.AsyncClient) -> None:
    agent_id = await demo_agent_id(client)
    url = f"/api/v1/webhooks/agents/{agent_id}"
    masked = (await client.get(url)).json()["incoming"]["secret"]
    revealed = (await client.get(url, params={"reveal_secret": "true"})).json()["incoming"]["secret"]
    assert "****" in masked
    assert "****" not in revealed
    assert masked.endswith(revealed[-4:])
    rotated = (await client.post(f"{url}/rotate-secret")).json()["secret"]
    assert rotated != revealed


async def test_test_outgoing_says_to_set_the_url_without_one_and_is_simulated_with_one(
    client: httpx2.AsyncClient,
) -> None:
    agent_id = await demo_agent_id(client)
    url = f"/api/v1/webhooks/agents/{agent_id}"
    unset = await client.post(f"{url}/test-outgoing")
    assert unset.status_code == 200  # the spec's 502 means the downstream URL failed; here there is none
    assert (unset.json()["delivered"], unset.json()["url"]) == (False, None)
    assert "set outgoing.url" in unset.json()["error"]
    await client.put(url, json={"outgoing": {"enabled": True, "url": "https://crm.example/kupe"}})
    delivered = (await client.post(f"{url}/test-outgoing")).json()
    assert (delivered["delivered"], delivered["simulated"], delivered["url"]) == (
        True,
        True,
        "https://crm.example/kupe",
    )
    listing = (await client.get("/api/v1/webhooks/me")).json()["agents"]
    assert listing[0]["outgoing_url"] == "https://crm.example/kupe"


async def test_incoming_webhook_dials_when_the_hmac_signature_matches(
    client: httpx2.AsyncClient, make_client: ClientFactory
) -> None:
    agent_id = await demo_agent_id(client)
    url = f"/api/v1/webhooks/agents/{agent_id}"
    await client.put(url, json={"incoming": {"enabled": True, "attached_variables": {"appointment_date": "Friday"}}})
    secret = (await client.get(url, params={"reveal_secret": "true"})).json()["incoming"]["secret"]
    raw = json.dumps({"phoneNumber": "+15551234567", "variable_values": {"name": "Kim"}}).encode()
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    async with make_client() as anon:
        bad = await anon.post(f"{url}/incoming", content=raw, headers={"x-webhook-signature": "sha256=00"})
        good = await anon.post(f"{url}/incoming", content=raw, headers={"x-webhook-signature": signature})
    assert bad.status_code == 401
    assert good.json()["status"] == "success"
    assert good.json()["variable_values"] == {"appointment_date": "Friday", "name": "Kim"}
