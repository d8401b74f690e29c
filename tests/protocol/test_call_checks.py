"""Mistakes caught before a call, through a real MCP client in both protocol modes (issue 11 §3).

Prompt variables: the sandbox's demo agent greets ``{{name}}`` and confirms ``{{appointment_date}}``,
so a call or batch must fill both. A dry run warns when the balance cannot cover the estimate.
The sandbox path judges calling hours but only notes them. Every refusal is checked against
the sandbox's request log: nothing was written to Kupe.
"""

from __future__ import annotations

from typing import Any

import pytest
from mcp.client import Client

from kupe_mcp.sandbox import _ledger
from kupe_mcp.sandbox._seed import DEMO_AGENT_ID, DEMO_USER_ID, IN_PHONE_ID
from kupe_mcp.serve.server import KupeServer
from tests._approvals import form_client
from tests._clock import FakeClock
from tests._mcp import call, fail, new_batch, say_yes
from tests.conftest import ServerFactory

pytestmark = pytest.mark.anyio

INDIA = "+919876543210"
VALUES = {"name": "Ada", "appointment_date": "Friday at 11am"}
EXPECTED = "pass variable_values with every one of: name, appointment_date."


def writes(app: Any, mark: int = 0) -> list[tuple[str, str]]:
    return [(m, p) for m, p in app.state.sandbox.request_log[mark:] if m != "GET"]


@pytest.fixture
def server(make_server: ServerFactory) -> KupeServer:
    return make_server()


async def test_a_call_missing_a_prompt_variable_is_refused_before_dialling_with_the_expected_names(
    server: KupeServer, sandbox_app: Any, client_mode: str
) -> None:
    async with form_client(server, client_mode, say_yes) as mcp:
        mark = len(sandbox_app.state.sandbox.request_log)
        missing = await fail(
            mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID, variable_values={"name": "A"}
        )
        dry = await fail(mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID, dry_run=True)
    assert "{{appointment_date}}" in missing
    assert missing.endswith(EXPECTED)
    assert "no value for name, appointment_date" in dry  # a dry run no longer says "checks: passed"
    assert writes(sandbox_app, mark) == []


async def test_a_misspelt_variable_name_is_refused_naming_the_misspelling(
    server: KupeServer, sandbox_app: Any, client_mode: str
) -> None:
    values = {"name": "Ada", "apointment_date": "Friday"}
    async with form_client(server, client_mode, say_yes) as mcp:
        mark = len(sandbox_app.state.sandbox.request_log)
        text = await fail(mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID, variable_values=values)
    assert "did you mean 'apointment_date' for appointment_date?" in text
    assert writes(sandbox_app, mark) == []


async def test_a_call_with_every_variable_passes_its_dry_run_and_is_placed(
    server: KupeServer, sandbox_app: Any, client_mode: str
) -> None:
    async with form_client(server, client_mode, say_yes) as mcp:
        dry = await call(
            mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID, variable_values=VALUES, dry_run=True
        )
        placed = await call(mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID, variable_values=VALUES)
    assert dry["checks"] == "passed"
    assert placed["placed"] is True


async def test_a_batch_whose_variable_names_miss_a_placeholder_is_not_created(
    server: KupeServer, sandbox_app: Any, client_mode: str
) -> None:
    async with Client(server, mode=client_mode) as mcp:
        mark = len(sandbox_app.state.sandbox.request_log)
        text = await fail(
            mcp, "create_batch", name="Reminders", phone_number_id=IN_PHONE_ID, agent_id=DEMO_AGENT_ID,
            variable_names=["name"],
        )  # fmt: skip
    assert "{{appointment_date}}" in text
    assert "variable_names must list every one of: name, appointment_date." in text
    assert writes(sandbox_app, mark) == []


async def test_rows_lacking_a_variable_are_rejected_when_added_with_the_reason(
    server: KupeServer, sandbox_app: Any, client_mode: str
) -> None:
    rows = [
        {"phone_number": INDIA, "variables": VALUES},
        {"phone_number": "+14155552671", "variables": {"name": "Grace", "apointment_date": "Monday"}},
    ]
    async with Client(server, mode=client_mode) as mcp:
        batch_id = await new_batch(mcp, "Reminders")
        added = await call(mcp, "add_batch_recipients", batch_id=batch_id, recipients=rows)
        mark = len(sandbox_app.state.sandbox.request_log)
        none = await fail(mcp, "add_batch_recipients", batch_id=batch_id, recipients=rows[1:])
    assert added["submitted"] == 1
    assert added["rejected"] == [
        {
            "row": 2,
            "phone_number": "+14155552671",
            "reason": "It has no value for appointment_date (did you mean 'apointment_date' for appointment_date?), "
            "which the agent's prompt uses; every row needs name, appointment_date.",
        }
    ]
    assert "none of the 1 rows has a value for every placeholder" in none
    assert writes(sandbox_app, mark) == []


async def test_a_batch_whose_agent_prompt_gained_a_variable_is_refused_before_anyone_is_rung(
    server: KupeServer, sandbox_app: Any, client_mode: str
) -> None:
    rows = [
        {"phone_number": INDIA, "variables": VALUES},
        {"phone_number": "+14155552671", "variables": {**VALUES, "city": "Pune"}},
    ]
    async with form_client(server, client_mode, say_yes) as mcp:
        batch_id = await new_batch(mcp, "Reminders", rows)
        welcome = "Hi {{name}}, this is Asha from the {{city}} clinic."
        await call(mcp, "update_agent", agent_id=DEMO_AGENT_ID, welcome_message=welcome, force_update=True)
        mark = len(sandbox_app.state.sandbox.request_log)
        text = await fail(mcp, "start_batch", batch_id=batch_id)
        dry = await fail(mcp, "start_batch", batch_id=batch_id, dry_run=True)
    assert "1 of 2 recipients have no value" in text
    assert f"{INDIA} lacks city" in text
    assert "every row needs name, appointment_date, city" in text  # the prompt's, then the new welcome's
    assert dry == text
    assert writes(sandbox_app, mark) == []


def set_balance(app: Any, usd: float) -> None:
    store = app.state.sandbox.store
    wallet = _ledger.user_wallet(store, DEMO_USER_ID)
    wallet["balance_usd"] = usd
    store.put("wallet", wallet)


async def test_a_dry_run_warns_when_the_balance_cannot_cover_the_estimate(
    server: KupeServer, sandbox_app: Any, client_mode: str
) -> None:
    async with Client(server, mode=client_mode) as mcp:
        covered = await call(
            mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID, variable_values=VALUES, dry_run=True
        )
        set_balance(sandbox_app, 0.0001)
        short = await call(
            mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID, variable_values=VALUES, dry_run=True
        )
    assert covered["estimated_cost_usd"] > 0.0001
    assert "balance_warning" not in covered
    assert short["balance_warning"].startswith("The credit balance ($0.00) does not cover the estimated cost")


async def test_the_sandbox_notes_calling_hours_instead_of_refusing_and_still_places_the_call(
    make_server: ServerFactory, sandbox_app: Any, client_mode: str
) -> None:
    server = make_server(calling_hours="09:00-21:00", calling_hours_advisory=True)
    clock = FakeClock()
    clock.set(16, 0)  # 21:30 in India
    server.runtime.guards.clock = clock
    async with form_client(server, client_mode, say_yes) as mcp:
        dry = await call(
            mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID, variable_values=VALUES, dry_run=True
        )
        placed = await call(mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID, variable_values=VALUES)
    assert dry["checks"] == "passed"
    (note,) = dry["preview"]["notes"]
    assert note.startswith("It is 21:30 in Asia/Calcutta, outside the calling hours 09:00-21:00")
    assert "against the real Kupe API this would be refused" in note
    assert placed["placed"] is True
