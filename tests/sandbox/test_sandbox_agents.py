"""Agents, catalog resolution, the active-agent guard, providers, voices and phone mapping."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from kupe_mcp.sandbox import NO_CREDIT_API_KEY

from .conftest import ClientFactory, demo_agent_id, phone_ids

pytestmark = pytest.mark.anyio


async def _simple(client: httpx2.AsyncClient, name: str = "Quickstart") -> dict[str, Any]:
    response = await client.post("/api/v1/agents/simple", json={"name": name, "description": "defaults"})
    assert response.status_code == 201
    body: dict[str, Any] = response.json()
    return body


async def test_simple_create_uses_platform_defaults_and_starts_inactive(client: httpx2.AsyncClient) -> None:
    created = await _simple(client)
    assert created["agent"]["is_active"] is False
    cfg = created["configurations"]
    assert set(cfg) == {
        "model_config",
        "tts_config",
        "transcriber_config",
        "vad_config",
        "inferencing_config",
        "tools",
        "agent_specific_config",
    }
    assert cfg["model_config"]["model_name"] == "gpt-4.1-mini"
    assert cfg["tts_config"]["tts_model_name"] == "bulbul:v2"
    assert cfg["transcriber_config"]["transcriber_model_name"] == "saarika:2.5"
    assert cfg["vad_config"]["provider_name"] == "silero"
    fetched = (await client.get(f"/api/v1/agents/{created['agent']['id']}")).json()
    assert fetched["agent"] == created["agent"]


async def test_full_create_resolves_catalog_codes_and_defaults_to_active(client: httpx2.AsyncClient) -> None:
    body = {
        "agent": {"name": "Support", "welcome_message": "Hi, thanks for calling."},
        "agent_model_config": {"model_name": "gemini-2.0-flash", "system_prompt": "You are concise."},
        "transcriber_config": {"transcriber_model_name": "nova-3", "language": ["en-US"]},
        "tts_config": {"tts_model_name": "elevenlabs:eleven_flash_v2_5", "voice_name": "rachel", "language": "en"},
        "agent_specific_config": {"session_timeout": 300, "background_noise_id": "office_noise"},
    }
    response = await client.post("/api/v1/agents", json=body)
    assert response.status_code == 201
    created = response.json()
    cfg = created["configurations"]
    assert created["agent"]["is_active"] is True
    assert created["agent"]["first_response_message"] == "Hi, thanks for calling."
    assert (cfg["model_config"]["model_name"], cfg["model_config"]["provider_name"]) == ("gemini-2.0-flash", "google")
    assert cfg["transcriber_config"]["language"] == "en-US"
    assert cfg["tts_config"]["voice_name"] == "Rachel"
    assert cfg["tts_config"]["voice_parameters"]["language"] == "en"
    assert cfg["agent_specific_config"]["background_noise_id"] == "office_noise.wav"
    assert cfg["agent_specific_config"]["timezone"] == "Asia/Kolkata"  # untouched default survives


async def test_unknown_catalog_code_is_400_naming_it(client: httpx2.AsyncClient) -> None:
    created = await _simple(client)
    response = await client.put(
        f"/api/v1/agents/{created['agent']['id']}", json={"agent_model_config": {"model_name": "gpt-9-ultra"}}
    )
    assert response.status_code == 400
    assert "gpt-9-ultra" in response.json()["detail"]


async def test_put_accepts_legacy_aliases_and_row_uuids(client: httpx2.AsyncClient) -> None:
    agent_id = (await _simple(client))["agent"]["id"]
    llm = next(r for r in (await client.get("/api/v1/providers/model")).json() if r["model_name"] == "gpt-4o-mini")
    response = await client.put(
        f"/api/v1/agents/{agent_id}",
        json={
            "agent_model_config": {"model_provider_id": llm["id"]},
            "tts_config": {"tts_provider_id": "eleven_multilingual_v2"},
            "transcriber_config": {"provider_id": "deepgram", "language": "en"},
        },
    )
    cfg = response.json()["configurations"]
    assert cfg["model_config"]["model_name"] == "gpt-4o-mini"
    assert cfg["tts_config"]["tts_model_name"] == "eleven_multilingual_v2"
    assert cfg["transcriber_config"]["provider_name"] == "deepgram"


async def test_put_deep_merges_agent_specific_config(client: httpx2.AsyncClient) -> None:
    agent_id = (await _simple(client))["agent"]["id"]
    url = f"/api/v1/agents/{agent_id}"
    await client.put(url, json={"agent_specific_config": {"auto_terminate_call": True}})
    merged = (await client.put(url, json={"agent_specific_config": {"end_of_speech_timeout": 1.2}})).json()
    specific = merged["configurations"]["agent_specific_config"]
    assert specific["auto_terminate_call"] is True
    assert specific["end_of_speech_timeout"] == 1.2


async def test_active_agent_rejects_config_changes_without_force_update_with_the_specs_400(
    client: httpx2.AsyncClient,
) -> None:
    """Kupe's spec: PUT answers 400 "Invalid state (e.g. active agent without force)"."""
    agent_id = await demo_agent_id(client)
    url = f"/api/v1/agents/{agent_id}"
    change = {"agent_model_config": {"system_prompt": "New prompt."}}
    refused = await client.put(url, json=change)
    assert refused.status_code == 400
    assert refused.json() == {"detail": "Agent is active; pass force_update=true to change its configuration"}
    patched = await client.patch(f"{url}/tts-config", json={"voice_name": "Abhilash"})
    assert patched.status_code == 400
    forced = await client.put(url, params={"force_update": "true"}, json=change)
    assert forced.status_code == 200
    assert forced.json()["configurations"]["model_config"]["system_prompt"] == "New prompt."


async def test_active_agent_allows_renaming_and_welcome_alias(client: httpx2.AsyncClient) -> None:
    agent_id = await demo_agent_id(client)
    response = await client.put(
        f"/api/v1/agents/{agent_id}", json={"agent": {"name": "Renamed", "welcome_message": "Hello again"}}
    )
    assert response.status_code == 200
    agent = response.json()["agent"]
    assert (agent["name"], agent["first_response_message"]) == ("Renamed", "Hello again")
    assert "welcome_message" not in agent


async def test_patch_config_endpoints_update_inactive_agents(client: httpx2.AsyncClient) -> None:
    agent_id = (await _simple(client))["agent"]["id"]
    base = f"/api/v1/agents/{agent_id}"
    assert (await client.patch(f"{base}/model-config", json={"temperature": 0.2})).status_code == 200
    transcriber = await client.patch(
        f"{base}/transcriber-config", json={"transcriber_model_name": "nova-2", "language": "en"}
    )
    vad = await client.patch(f"{base}/vad-config", json={"vad_provider_id": "silero", "threshold": 0.6})
    cfg = vad.json()["configurations"]
    assert transcriber.status_code == 200
    assert cfg["model_config"]["temperature"] == 0.2
    assert cfg["transcriber_config"]["transcriber_model_name"] == "nova-2"
    assert cfg["vad_config"]["threshold"] == 0.6


@pytest.mark.parametrize(
    ("section", "body"),
    [
        ("transcriber-config", {"transcriber_model_name": "nova-2"}),
        ("transcriber-config", {"language": "hi-IN"}),
        ("vad-config", {"threshold": 0.6}),
    ],
)
async def test_config_sections_the_spec_requires_whole_are_refused_when_partial(
    client: httpx2.AsyncClient, section: str, body: dict[str, object]
) -> None:
    """TranscriberConfig requires model and language; VadConfig requires vad_provider_id (Kupe's spec)."""
    agent_id = (await _simple(client))["agent"]["id"]
    assert (await client.patch(f"/api/v1/agents/{agent_id}/{section}", json=body)).status_code == 422


async def test_deleting_an_active_agent_needs_force_delete(client: httpx2.AsyncClient) -> None:
    agent_id = await demo_agent_id(client)
    assert (await client.delete(f"/api/v1/agents/{agent_id}")).status_code == 400  # the spec's status
    assert (await client.delete(f"/api/v1/agents/{agent_id}", params={"force_delete": "true"})).status_code == 200
    assert (await client.get(f"/api/v1/agents/{agent_id}")).status_code == 404


async def test_summary_pages_and_filters_by_name(client: httpx2.AsyncClient) -> None:
    for name in ("Alpha", "Beta", "Alphabet"):
        await _simple(client, name)
    page = (
        await client.get("/api/v1/agents/summary", params={"page": 1, "page_size": 2, "name_search": "alpha"})
    ).json()
    assert page["total"] == 2
    assert (page["page"], page["page_size"]) == (1, 2)
    assert {i["name"] for i in page["items"]} == {"Alpha", "Alphabet"}


async def test_stats_count_agents_and_calls(client: httpx2.AsyncClient) -> None:
    stats = (await client.get("/api/v1/agents/stats")).json()
    assert stats["total_agents"] == 1
    assert stats["completed_calls"] == 1


async def test_provider_catalog_and_voices(client: httpx2.AsyncClient) -> None:
    everything = (await client.get("/api/v1/providers/all")).json()
    assert set(everything) == {"model_providers", "tts_providers", "stt_providers", "vad_providers"}
    row = everything["model_providers"][0]
    assert {
        "id",
        "provider_name",
        "model_name",
        "is_large_model",
        "default_temperature",
        "api_base",
        "is_default",
    } <= set(row)
    tts = {r["model_name"]: r["id"] for r in everything["tts_providers"]}
    voices = (await client.get(f"/api/v1/tts-voices/provider/{tts['bulbul:v2']}")).json()
    assert {"Anushka", "Abhilash"} <= {v["name"] for v in voices}
    created = await client.post("/api/v1/tts-voices", json={"name": "Custom", "tts_model_name": "sonic-2"})
    assert created.status_code == 201
    assert (await client.get(f"/api/v1/tts-voices/{created.json()['id']}")).json()["provider_id"] == tts["sonic-2"]
    noise = (await client.get("/api/v1/noise-assets")).json()
    assert {"id": "office_noise.wav", "name": "office_noise"} in noise


async def test_phone_lines_list_and_mapping_rules(client: httpx2.AsyncClient, make_client: ClientFactory) -> None:
    lines = (await client.get("/api/v1/phone")).json()["phone_numbers"]
    assert {line["phone_number"][:3] for line in lines} == {"+91", "+14"}
    phones = await phone_ids(client)
    agent_id = (await _simple(client))["agent"]["id"]
    both = await client.post(
        "/api/v1/phone/mapping", json={"phone_number_id": phones["US"], "agent_id": agent_id, "workflow_id": agent_id}
    )
    assert both.status_code == 400
    neither = await client.post("/api/v1/phone/mapping", json={"phone_number_id": phones["US"]})
    assert neither.status_code == 400
    ghost = "00000000-0000-0000-0000-000000000001"
    assert (
        await client.post("/api/v1/phone/mapping", json={"phone_number_id": phones["US"], "agent_id": ghost})
    ).status_code == 404
    mapped = await client.post("/api/v1/phone/mapping", json={"phone_number_id": phones["US"], "agent_id": agent_id})
    assert mapped.json()["data"]["agent_id"] == agent_id
    by_agent = (await client.get(f"/api/v1/phone/mapping/agent/{agent_id}")).json()["data"]
    assert [m["phone_number_id"] for m in by_agent] == [phones["US"]]
    assert (await client.get(f"/api/v1/phone/mapping/{phones['US']}")).json()["data"]["agent_id"] == agent_id
    async with make_client(**{"x-api-key": NO_CREDIT_API_KEY}) as other:
        other_agent = (await other.post("/api/v1/agents/simple", json={"name": "Other"})).json()["agent"]["id"]
        stolen = await other.post(
            "/api/v1/phone/mapping", json={"phone_number_id": phones["US"], "agent_id": other_agent}
        )
    assert stolen.status_code == 403
