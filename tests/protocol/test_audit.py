"""Every dial has its audit record: "why did this call ring?" is answered by ``list_call_approvals`` and
``kupe://approvals/{id}`` whichever way the yes was given — a page or card (tested in test_approvals.py), the
client's own form, a confirmation token, or no question because the rules needed none — and so is a no, a
refusal and a failure. A record of a decision taken elsewhere is never pending: nothing answers it.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from mcp.client import Client

from kupe_mcp.client import KupeClient
from kupe_mcp.errors import InsufficientCredits
from kupe_mcp.sandbox._seed import DEMO_AGENT_ID
from tests._approvals import origin
from tests._mcp import call
from tests._safety import ADA_CALL, Setup
from tests.protocol.test_call_safety import Person

pytestmark = pytest.mark.anyio

INDIA = "+919876543210"


async def audited(mcp: Client) -> tuple[dict[str, Any], dict[str, Any]]:
    """The one record the model can read: its list_call_approvals row and its kupe://approvals resource."""
    (row,) = (await call(mcp, "list_call_approvals"))["approvals"]
    read = await mcp.read_resource(f"kupe://approvals/{row['approval_id']}")
    return row, json.loads(read.contents[0].text)  # type: ignore[union-attr]


def notes(row: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["status"], e["note"]) for e in row["events"]]


async def test_a_call_confirmed_in_the_clients_form_is_audited_with_the_form_and_its_request_id(setup: Any) -> None:
    s: Setup = setup()
    async with s.client(Person()) as mcp:
        out = await call(mcp, "place_call", **ADA_CALL)
        row, resource = await audited(mcp)
    dialled = f"request_id {out['request_id']}"
    for shown in (row, resource):
        assert (shown["channel"], shown["status"], shown["outcome"], shown["tool"]) == (
            "elicitation",
            "used",
            dialled,
            "place_call",
        )
        assert notes(shown) == [
            ("used", "approved by the person in the client's own confirmation form (elicitation)"),
            ("used", dialled),
        ]
    assert row["facts"] == {"kind": "call", "recipients": 1, "destinations": [INDIA]}
    assert s.calls_placed() == 1


async def test_a_no_in_the_clients_form_is_audited_as_declined_and_nothing_is_dialled(setup: Any) -> None:
    s: Setup = setup()
    async with s.client(Person(confirm=False)) as mcp:
        out = await call(mcp, "place_call", **ADA_CALL)
        row, _ = await audited(mcp)
    assert out["outcome"] == "declined"
    assert (row["channel"], row["status"]) == ("elicitation", "declined")
    assert "outcome" not in row  # nothing was dialled, so nothing became of a dial
    assert notes(row) == [
        ("declined", "declined by the person in the client's form: The person did not tick confirm"),
    ]
    assert s.calls_placed() == 0


async def test_a_call_that_needed_no_question_is_audited_naming_the_rules_that_let_it_ring(setup: Any) -> None:
    s: Setup = setup(confirm_calls=False, allowed_destinations=("+91",))
    async with s.client() as mcp:
        out = await call(mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID)
        row, _ = await audited(mcp)
    assert (row["channel"], row["status"], row["outcome"]) == ("unattended", "used", f"request_id {out['request_id']}")
    assert "KUPE_CONFIRM_CALLS=off" in row["events"][0]["note"]


async def test_a_redeemed_confirmation_token_is_audited_saying_the_yes_is_the_models_word(setup: Any) -> None:
    s: Setup = setup(confirm_fallback="token")
    async with s.client() as mcp:
        token = (await call(mcp, "place_call", **ADA_CALL))["confirmation_token"]
        issued = (await call(mcp, "list_call_approvals"))["count"]
        out = await call(mcp, "place_call", **ADA_CALL, confirmation_token=token)
        row, _ = await audited(mcp)
    assert issued == 0  # an issued token is no decision yet: only its use is
    assert (row["channel"], row["status"], row["outcome"]) == ("token", "used", f"request_id {out['request_id']}")
    assert "the model's word" in row["events"][0]["note"]


async def test_a_confirmed_call_kupe_refuses_is_audited_as_nothing_rang(
    setup: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused(self: KupeClient, phone_number: str, **kwargs: Any) -> None:
        raise InsufficientCredits(status=402, detail="Insufficient credit", method="POST", path="/api/call/create_call")

    monkeypatch.setattr(KupeClient, "create_call", refused)
    s: Setup = setup()
    async with s.client(Person()) as mcp:
        failed = await mcp.call_tool("place_call", ADA_CALL)
        row, _ = await audited(mcp)
    assert failed.is_error
    assert (row["channel"], row["status"]) == ("elicitation", "used")
    assert row["outcome"] == "nothing rang: Kupe refused it (402: Insufficient credit)"


async def test_a_decision_taken_elsewhere_has_no_approval_page_and_wait_for_approval_dials_nothing(
    setup: Any,
) -> None:
    s: Setup = setup()
    async with s.client(Person()) as mcp:
        await call(mcp, "place_call", **ADA_CALL)
        (row,) = (await call(mcp, "list_call_approvals"))["approvals"]
        waited = await call(mcp, "wait_for_approval", approval_id=row["approval_id"], timeout_s=1)
    url = s.server.runtime.approvals.link(row["approval_id"])
    try:
        async with httpx2.AsyncClient(timeout=10) as http:
            page = await http.get(url)
            posted = await http.post(url, data={"answer": "approve"}, headers={"origin": origin(url)})
    finally:
        s.server.runtime.approvals.close()
    assert (page.status_code, posted.status_code) == (404, 403)
    assert "not valid" in page.text
    assert (waited["status"], waited.get("result")) == ("used", None)
    assert s.calls_placed() == 1
