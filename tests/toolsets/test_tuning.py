"""Toolset ``tuning``: advanced agent behaviour reaches Kupe's agent_specific_config, vad_config and agent flags."""

from __future__ import annotations

from typing import Any

import pytest

from kupe_mcp.sandbox._seed import DEMO_AGENT_ID
from kupe_mcp.toolsets import agents, tuning
from tests._mcp import call, fail
from tests.toolsets.conftest import Serve

pytestmark = pytest.mark.anyio


def writes(sandbox_app: Any) -> list[tuple[str, str]]:
    return [(m, p) for m, p in sandbox_app.state.sandbox.request_log if m != "GET"]


async def test_tune_agent_sets_behaviour_transfers_noise_vad_and_flags(serve: Serve) -> None:
    async with serve(agents, tuning) as mcp:
        noise = await call(mcp, "list_providers", kind="noise")
        noise_id = noise["items"][0]["id"]
        tuned = await call(
            mcp,
            "tune_agent",
            agent_id=DEMO_AGENT_ID,
            recording_enabled=False,
            apply_noise_reduction=True,
            noise_cancellation_strength=70,
            background_noise_id=noise_id,
            session_timeout=300,
            time_to_cut=30,
            message_of_cut="We are almost out of time.",
            auto_terminate_call=True,
            timezone="America/New_York",
            transfer_routes=[{"route_id": "billing", "when": "Asks for billing", "phone_number": "+14155550142"}],
            vad_threshold=0.6,
            force_update=True,
        )
    agent, cfg = tuned["agent"], tuned["configurations"]
    assert (agent["recording_enabled"], agent["apply_noise_reduction"]) == (False, True)
    specific = cfg["agent_specific_config"]
    assert specific["session_timeout"] == 300
    assert specific["time_to_cut"] == 30
    assert specific["auto_terminate_call"] is True
    assert specific["timezone"] == "America/New_York"
    assert specific["background_noise_id"] == noise_id
    assert specific["noise_cancellation_strength"] == 70
    (route,) = specific["inbound_transfer_routes"]
    assert (route["route_id"], route["condition_when_to_transfer"]) == ("billing", "Asks for billing")
    assert cfg["vad_config"]["threshold"] == 0.6
    assert cfg["vad_config"]["vad_provider_id"]  # the agent's own provider, sent along as Kupe requires
    assert specific["end_of_speech_timeout"] == 1.5  # untouched settings keep their values


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ({"background_noise_id": "ofice_noise"}, ["Unknown background_noise_id 'ofice_noise'", "office_noise"]),
        ({"timezone": "India/Mumbai"}, ["Unknown timezone 'India/Mumbai'"]),
        ({}, ["no setting to change"]),
    ],
)
async def test_tune_agent_refuses_unknown_values_before_any_write(
    serve: Serve, sandbox_app: Any, arguments: dict[str, Any], words: list[str]
) -> None:
    async with serve(tuning) as mcp:
        text = await fail(mcp, "tune_agent", agent_id=DEMO_AGENT_ID, force_update=True, **arguments)
    for word in words:
        assert word in text
    assert writes(sandbox_app) == []


async def test_taking_an_agent_live_is_a_flag_change(serve: Serve) -> None:
    async with serve(agents, tuning) as mcp:
        created = await call(mcp, "create_agent", name="Night desk")
        assert created["agent"]["is_active"] is False
        live = await call(mcp, "tune_agent", agent_id=created["agent"]["id"], is_active=True)
    assert live["agent"]["is_active"] is True
