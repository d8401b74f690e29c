"""Authentication, RBAC and the error envelope."""

from __future__ import annotations

import httpx2
import pytest

from kupe_mcp import sandbox as sbx
from kupe_mcp.sandbox import DEMO_API_KEY, DEMO_BEARER_TOKEN, LIMITED_API_KEY, NO_CREDIT_API_KEY

from .conftest import ClientFactory

pytestmark = pytest.mark.anyio


def test_public_contract_is_exported_in_sorted_order() -> None:
    assert sbx.__all__ == sorted(sbx.__all__)
    assert {"DEMO_API_KEY", "LIMITED_API_KEY", "NO_CREDIT_API_KEY", "DEMO_BEARER_TOKEN"} <= set(sbx.__all__)
    assert {"SandboxSettings", "Sandbox", "create_app", "SandboxServer", "serve"} <= set(sbx.__all__)


async def test_health_needs_no_credentials_and_has_kupes_shape(make_client: ClientFactory) -> None:
    async with make_client() as anon:
        body = (await anon.get("/health")).json()
    assert body["status"] == "healthy"
    assert body["service"] == "milli-ai-backend"
    assert isinstance(body["timestamp"], float)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-api-key": "not-a-key"},
        {"x-api-key": f"Bearer {DEMO_API_KEY}"},
        {"authorization": f"Bearer {DEMO_API_KEY}"},
        {"authorization": DEMO_BEARER_TOKEN},
    ],
)
async def test_missing_or_malformed_credentials_answer_401_with_detail(
    make_client: ClientFactory, headers: dict[str, str]
) -> None:
    async with make_client(**headers) as anon:
        response = await anon.get("/api/v1/me")
    assert response.status_code == 401
    assert isinstance(response.json()["detail"], str)


async def test_unauthenticated_request_to_unknown_path_is_401_not_404(make_client: ClientFactory) -> None:
    async with make_client() as anon:
        assert (await anon.get("/api/v1/nowhere")).status_code == 401


async def test_unknown_route_is_404_json_detail(client: httpx2.AsyncClient) -> None:
    response = await client.get("/api/v1/nowhere")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


async def test_me_reports_auth_kind_for_api_key_and_bearer(
    client: httpx2.AsyncClient, admin: httpx2.AsyncClient
) -> None:
    via_key = (await client.get("/api/v1/me")).json()
    via_bearer = (await admin.get("/api/v1/me")).json()
    assert via_key["auth"] == "api_key"
    assert via_bearer["auth"] == "bearer"
    assert via_key["user_id"] == via_bearer["user_id"]
    assert via_key["email"] == "demo@sandbox.kupe.local"
    assert isinstance(via_key["user_metadata"], dict)


async def test_limited_key_reads_me_and_agents_but_nothing_else(make_client: ClientFactory) -> None:
    async with make_client(**{"x-api-key": LIMITED_API_KEY}) as limited:
        assert (await limited.get("/api/v1/me")).status_code == 200
        agents = await limited.get("/api/v1/agents")
        assert agents.status_code == 200
        assert (await limited.get(f"/api/v1/agents/{agents.json()[0]['id']}")).status_code == 200
        for method, path in (("GET", "/api/v1/phone"), ("GET", "/api/v1/me/users"), ("POST", "/api/v1/agents/simple")):
            denied = await limited.request(method, path, json={"name": "x"})
            assert denied.status_code == 403
            assert denied.json() == {"detail": "Forbidden: API Key does not have required scopes"}


async def test_api_key_may_read_billing_but_not_write_it(client: httpx2.AsyncClient) -> None:
    assert (await client.get("/api/v1/billing/credit-balance")).status_code == 200
    denied = await client.post("/api/v1/billing/credit-balance", json={})
    assert denied.status_code == 403
    assert "Bearer session" in denied.json()["detail"]


async def test_wallet_writes_and_admin_lists_need_a_bearer_session(
    client: httpx2.AsyncClient, admin: httpx2.AsyncClient
) -> None:
    wallet_id = (await client.get("/api/v1/wallets/me")).json()["wallet_id"]
    for method, path in (
        ("POST", f"/api/v1/wallets/{wallet_id}/grants"),
        ("GET", "/api/v1/wallets/users"),
        ("GET", "/api/v1/wallets/orgs"),
        ("PUT", "/api/v1/feature-flags/00000000-0000-0000-0000-000000000000"),
    ):
        assert (await client.request(method, path, json={"amount_usd": 1})).status_code == 403
    granted = await admin.post(f"/api/v1/wallets/{wallet_id}/grants", json={"amount_usd": 5})
    assert granted.status_code == 200
    assert granted.json()["wallet"]["balance_usd"] == pytest.approx(30.0)


async def test_created_key_authenticates_until_revoked_and_lists_never_show_secrets(
    client: httpx2.AsyncClient, make_client: ClientFactory
) -> None:
    created = (await client.post("/api/v1/api-keys", json={"name": "ci"})).json()["api_key"]
    secret = created["api_key"]
    listed = (await client.get("/api/v1/api-keys/fetch")).json()
    assert created["id"] in {k["id"] for k in listed}
    assert all(secret not in str(k) and DEMO_API_KEY not in str(k) for k in listed)
    async with make_client(**{"x-api-key": secret}) as fresh:
        assert (await fresh.get("/api/v1/me")).status_code == 200
        assert (await client.delete(f"/api/v1/api-keys/{created['id']}")).status_code == 200
        assert (await fresh.get("/api/v1/me")).status_code == 401
    assert created["id"] not in {k["id"] for k in (await client.get("/api/v1/api-keys/fetch")).json()}


async def test_api_key_rename_and_exists(client: httpx2.AsyncClient) -> None:
    me = (await client.get("/api/v1/me")).json()
    key_id = (await client.get(f"/api/v1/api-keys/fetch/{me['user_id']}")).json()[0]["id"]
    renamed = await client.patch(f"/api/v1/api-keys/{key_id}", json={"name": "renamed"})
    assert renamed.json()["api_key"]["name"] == "renamed"
    exists = await client.post(
        "/api/v1/api-keys/exists", json={"user_id": me["user_id"], "provider_name": "milli_chat_ai"}
    )
    assert exists.json() is True


async def test_other_users_objects_are_invisible(client: httpx2.AsyncClient, make_client: ClientFactory) -> None:
    agent_id = (await client.get("/api/v1/agents")).json()[0]["id"]
    async with make_client(**{"x-api-key": NO_CREDIT_API_KEY}) as other:
        assert (await other.get("/api/v1/agents")).json() == []
        missing = await other.get(f"/api/v1/agents/{agent_id}")
    assert missing.status_code == 404
    assert missing.json()["detail"].endswith("not found")


async def test_malformed_uuid_path_is_400(client: httpx2.AsyncClient) -> None:
    response = await client.get("/api/v1/agents/not-a-uuid")
    assert response.status_code == 400
    assert "UUID" in response.json()["detail"]


async def test_body_validation_errors_are_fastapi_style_422_lists(client: httpx2.AsyncClient) -> None:
    response = await client.post("/api/v1/agents/simple", json={"description": "no name"})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "name"]
    bad_json = await client.post(
        "/api/v1/agents/simple", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert bad_json.status_code == 422
