"""What schemathesis found the sandbox doing that Kupe's spec does not (tests/spec): each case pinned here."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from .conftest import demo_agent_id

pytestmark = pytest.mark.anyio


async def test_an_empty_agent_id_in_a_file_mapping_is_a_validation_error_not_a_500(client: httpx2.AsyncClient) -> None:
    body = {"agent_id": "", "upload_file_id": "e3e70682-c209-1cac-a29f-6fbed82c07cd"}
    response = await client.post("/api/v1/agent-files-mappings/create", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "agent_id"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        pytest.param("/api/v1/billing/usage/records", {"page": "0", "page_size": "0"}, id="page-0"),
        pytest.param("/api/v1/billing/usage/records", {"offset": "-5", "limit": "3293"}, id="unbounded-limit"),
        pytest.param("/api/v1/billing/usage/summary", {"time_period": "quarter"}, id="unlisted-time-period"),
        pytest.param("/api/v1/call-analytics", {"page": "3681398644153578443243520", "page_size": "5"}, id="huge-page"),
    ],
)
async def test_inputs_the_spec_allows_are_accepted(
    client: httpx2.AsyncClient, path: str, params: dict[str, str]
) -> None:
    assert (await client.get(path, params=params)).status_code == 200


@pytest.mark.parametrize(
    ("path", "params"),
    [
        pytest.param("/api/v1/agents", {"page_size": "-1"}, id="negative-page-size"),
        pytest.param("/api/v1/agents", {"scope": "everyone"}, id="scope-enum"),
        pytest.param("/api/v1/call-analytics", {"page_size": ""}, id="empty-integer"),
        pytest.param("/api/v1/earnings/me", {"period": ""}, id="period-enum"),
        pytest.param("/api/v1/api-keys/fetch", {"user_id": ""}, id="uuid-format"),
        pytest.param("/api/v1/billing/usage/export", {"from_date": "2026-13-01"}, id="date-format"),
    ],
)
async def test_inputs_the_spec_forbids_are_refused(
    client: httpx2.AsyncClient, path: str, params: dict[str, str]
) -> None:
    assert (await client.get(path, params=params)).status_code in (400, 422)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"agent": {"name": "Nulls", "is_active": None}}, id="null-boolean"),
        pytest.param({"agent": {"name": "Strings", "recording_enabled": "yes"}}, id="string-boolean"),
        pytest.param({"agent": {"name": "Section"}, "agent_model_config": None}, id="null-section"),
        pytest.param(
            {"agent": {"name": "Typed"}, "agent_specific_config": {"auto_terminate_call": "true"}}, id="typed-behaviour"
        ),
    ],
)
async def test_agent_bodies_with_the_wrong_types_are_refused_and_stats_stay_answerable(
    client: httpx2.AsyncClient, body: dict[str, Any]
) -> None:
    assert (await client.post("/api/v1/agents", json=body)).status_code == 422
    assert (await client.get("/api/v1/agents/stats")).status_code == 200  # a stored null used to make this a 500


async def test_transfer_routes_get_an_id_and_store_digits(client: httpx2.AsyncClient) -> None:
    route = {"route_id": "", "condition_when_to_transfer": "Asks for billing", "phone_number": "+91 98765 43210"}
    response = await client.put(
        f"/api/v1/agents/{await demo_agent_id(client)}",
        params={"force_update": "true"},
        json={"agent_specific_config": {"inbound_transfer_routes": [route]}},
    )
    assert response.status_code == 200
    (stored,) = response.json()["configurations"]["agent_specific_config"]["inbound_transfer_routes"]
    assert (stored["route_id"], stored["phone_number"]) == ("route_1", "919876543210")


@pytest.mark.parametrize("flag", ["-7.68e+18", ""])
async def test_a_boolean_query_flag_is_validated_even_when_the_change_does_not_need_it(
    client: httpx2.AsyncClient, flag: str
) -> None:
    url = f"/api/v1/agents/{await demo_agent_id(client)}"
    response = await client.put(url, params={"force_update": flag}, json={"agent": {"name": "Renamed"}})
    assert response.status_code == 422
