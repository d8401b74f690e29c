"""Batch campaigns: create, fill (CSV / JSON / upsert), launch and lazy progress."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from kupe_mcp.sandbox import NO_CREDIT_API_KEY

from .conftest import ClientFactory, FakeClock, demo_agent_id, phone_ids

pytestmark = pytest.mark.anyio


async def _batch(client: httpx2.AsyncClient, batch_size: int = 2) -> dict[str, Any]:
    body = {
        "agent_id": await demo_agent_id(client),
        "caller_phone_id": (await phone_ids(client))["IN"],
        "batch_name": "January reminders",
        "variable_names": ["name", "appointment_date"],
        "batch_size": batch_size,
    }
    response = await client.post("/api/v1/batch-call/create", json=body)
    assert response.status_code == 201
    data: dict[str, Any] = response.json()["data"]
    return data


async def _status(client: httpx2.AsyncClient, batch_id: str) -> dict[str, Any]:
    data: dict[str, Any] = (await client.get(f"/api/v1/batch-call/{batch_id}/status")).json()["data"]
    return data


async def test_batch_requires_exactly_one_target_and_an_owned_line(client: httpx2.AsyncClient) -> None:
    line = (await phone_ids(client))["IN"]
    none = await client.post("/api/v1/batch-call/create", json={"caller_phone_id": line, "batch_name": "x"})
    assert none.status_code == 400
    ghost = await client.post(
        "/api/v1/batch-call/create",
        json={
            "caller_phone_id": "00000000-0000-0000-0000-000000000009",
            "batch_name": "x",
            "agent_id": await demo_agent_id(client),
        },
    )
    assert ghost.status_code == 404


async def test_csv_batch_runs_in_waves_and_fails_unreachable_rows(client: httpx2.AsyncClient, clock: FakeClock) -> None:
    batch = await _batch(client, batch_size=2)
    csv_text = (
        "to_phonenumber,name,appointment_date\n+919876543210,Ada,Mon\n+15551230000,Bob,Tue\n+15557654321,Cy,Wed\n"
    )
    uploaded = await client.post(
        f"/api/v1/batch-call/upload/{batch['id']}", files={"file": ("targets.csv", csv_text.encode(), "text/csv")}
    )
    assert uploaded.json()["data"]["inserted"] == 3
    status = await _status(client, batch["id"])
    assert status["batch"]["status"] == "not_started"
    assert status["status_counts"] == {
        "not_started": 3,
        "calling": 0,
        "completed": 0,
        "failed": 0,
        "no_answer": 0,
        "total": 3,
    }
    assert (await client.post(f"/api/v1/batch-call/start/{batch['id']}")).status_code == 200
    first = await _status(client, batch["id"])
    assert first["batch"]["status"] == "in_progress"
    assert first["status_counts"]["calling"] == 1
    assert first["status_counts"]["failed"] == 1
    assert first["status_counts"]["not_started"] == 1  # second wave waits for the first
    clock.advance(6.0)
    assert (await _status(client, batch["id"]))["status_counts"]["calling"] == 1
    clock.advance(6.0)
    done = await _status(client, batch["id"])
    assert done["batch"]["status"] == "completed"
    assert done["status_counts"]["completed"] == 2
    failed = (await client.get(f"/api/v1/batch-call/{batch['id']}/data", params={"status": "failed"})).json()["data"]
    assert [r["to_phonenumber"] for r in failed] == ["15551230000"]  # Kupe stores recipients as digits
    sessions = (await client.get("/api/v1/call-analytics")).json()
    assert sum(s["batch_id"] == batch["id"] for s in sessions) == 3
    again = await client.post(f"/api/v1/batch-call/start/{batch['id']}")
    assert again.status_code == 409


async def test_json_upload_and_upsert_edit_rows_before_launch(client: httpx2.AsyncClient) -> None:
    batch = await _batch(client)
    await client.post(
        f"/api/v1/batch-call/upload-json/{batch['id']}",
        json={"records": [{"to_phonenumber": "+919876543210", "name": "Ada"}, {"to_phonenumber": "bad"}]},
    )
    rows = (await client.get(f"/api/v1/batch-call/{batch['id']}/data")).json()["data"]
    assert len(rows) == 1
    assert rows[0]["variable_values"] == {"name": "Ada"}
    upsert = await client.post(
        f"/api/v1/batch-call/{batch['id']}/data/upsert",
        json={
            "items": [
                {"id": rows[0]["id"], "to_phonenumber": "+919876543211", "variable_values": {"name": "Ada L"}},
                {"to_phonenumber": "+15551234567"},
            ]
        },
    )
    assert (upsert.json()["data"]["inserted"], upsert.json()["data"]["updated"]) == (1, 1)
    assert (await _status(client, batch["id"]))["status_counts"]["total"] == 2


async def test_recipients_are_stored_as_digits_and_upsert_accepts_digits(client: httpx2.AsyncClient) -> None:
    """Kupe's spec: to_phonenumber is "normalized to digits server-side"; digits with a country code are accepted."""
    batch = await _batch(client)
    upsert = await client.post(
        f"/api/v1/batch-call/{batch['id']}/data/upsert",
        json={"items": [{"to_phonenumber": "+1 (415) 555-0142"}, {"to_phonenumber": "919876543210"}]},
    )
    assert upsert.status_code == 200
    rows = (await client.get(f"/api/v1/batch-call/{batch['id']}/data")).json()["data"]
    assert sorted(r["to_phonenumber"] for r in rows) == ["14155550142", "919876543210"]


async def test_batch_listing_endpoints(client: httpx2.AsyncClient) -> None:
    batch = await _batch(client)
    mine = (await client.get("/api/v1/batch-call/me")).json()["data"]
    assert [b["id"] for b in mine] == [batch["id"]]
    browse = (
        await client.get("/api/v1/batch-call/browse", params={"search": "january", "status": "not_started"})
    ).json()
    assert browse["total"] == 1
    user_id = (await client.get("/api/v1/me")).json()["user_id"]
    assert len((await client.get(f"/api/v1/batch-call/user/{user_id}")).json()["data"]) == 1
    assert (await client.get(f"/api/v1/batch-call/{batch['id']}")).json()["data"]["batch_name"] == "January reminders"


async def test_starting_a_batch_without_credit_is_402(make_client: ClientFactory) -> None:
    async with make_client(**{"x-api-key": NO_CREDIT_API_KEY}) as broke:
        agent = (await broke.post("/api/v1/agents/simple", json={"name": "Broke"})).json()["agent"]["id"]
        line = (await phone_ids(broke))["US"]
        created = await broke.post(
            "/api/v1/batch-call/create", json={"agent_id": agent, "caller_phone_id": line, "batch_name": "b"}
        )
        batch_id = created.json()["data"]["id"]
        await broke.post(
            f"/api/v1/batch-call/upload-json/{batch_id}", json={"records": [{"to_phonenumber": "+15551234567"}]}
        )
        response = await broke.post(f"/api/v1/batch-call/start/{batch_id}")
    assert response.status_code == 402
