"""Call safety through a real MCP client, in both protocol modes: refusals, confirmation, tokens, dry runs, campaigns.

A refused or declined call never reaches Kupe: each such test checks the sandbox's request log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx2
import mcp_types as types
import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp.client import Client
from mcp.client.session import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client

from kupe_mcp._loopback import LoopbackServer
from kupe_mcp.client import KupeClient
from kupe_mcp.config import Settings
from kupe_mcp.errors import KupeTimeout
from kupe_mcp.safety.rules import TOKEN_TTL_S
from kupe_mcp.sandbox import DEMO_API_KEY, NO_CREDIT_API_KEY, SandboxServer, SandboxSettings
from kupe_mcp.sandbox._seed import DEMO_AGENT_ID, IN_PHONE_ID
from kupe_mcp.serve.server import build_client, create_server
from kupe_mcp.serve.transports import http_app
from tests._approvals import FORM_ONLY, declared_elicitation, form_client
from tests._mcp import call, fail
from tests._safety import CREATE_CALL, Setup, calls_over_http
from tests.conftest import ServerFactory, make_kupe

pytestmark = pytest.mark.anyio

INDIA = "+919876543210"
US = "+14155552671"


@dataclass
class Person:
    """Answers every confirmation the same way, and remembers each question."""

    action: Literal["accept", "decline", "cancel"] = "accept"
    confirm: bool = True
    questions: list[str] = field(default_factory=list)

    async def __call__(self, context: ClientRequestContext, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.questions.append(params.message)
        if self.action == "accept":
            return types.ElicitResult(action="accept", content={"confirm": self.confirm})
        return types.ElicitResult(action=self.action)


DEMO_VALUES = {"name": "Ada", "appointment_date": "Friday"}  # for servers on their own sandbox (seeded prompt)


async def agent_named(mcp: Client, name: str = "Asha") -> str:
    agent = await call(mcp, "create_agent", name=name, welcome_message="Hello from the sandbox.")
    agent_id = agent["agent"]["id"]
    assert isinstance(agent_id, str)
    return agent_id


# -- confirmation through elicitation ---------------------------------------------------------------


async def test_a_call_the_person_submits_without_ticking_confirm_reaches_kupe_zero_times_and_is_declined(
    setup: Any,
) -> None:
    person = Person(action="accept", confirm=False)
    s: Setup = setup()
    async with s.client(person) as mcp:
        mark = len(s.log)
        result = await call(mcp, "place_call", phone_number="+91 98765 43210", agent_id=DEMO_AGENT_ID)
    assert result["placed"] is False
    assert result["declined"] is True
    assert "did not tick" in result["reason"]
    assert f"nothing was dialled to {INDIA}" in result["reason"]
    assert "approval_id" not in result  # a person who saw the question said no: nothing is left to approve
    assert len(person.questions) == 1
    assert s.writes_since(mark) == []
    assert s.calls_placed() == 0


@pytest.mark.parametrize(
    ("action", "words"), [("decline", "declined or dismissed"), ("cancel", "declined or dismissed")]
)
async def test_a_client_that_declines_or_dismisses_the_question_dials_nothing_and_leaves_the_approval_open(
    setup: Any, action: Literal["decline", "cancel"], words: str
) -> None:
    person = Person(action=action)
    s: Setup = setup()
    async with s.client(person) as mcp:
        mark = len(s.log)
        result = await call(mcp, "place_call", phone_number="+91 98765 43210", agent_id=DEMO_AGENT_ID)
    assert result["placed"] is False
    assert "declined" not in result  # the client may never have shown it: nobody said no
    assert result["channel"] == "link"
    assert result["approval_url"].endswith(f"/approvals/{result['approval_id']}")
    assert words in result["note"]
    assert "the approval stays open on its page until it expires" in result["note"]
    assert f"wait_for_approval(approval_id={result['approval_id']!r})" in result["next"]
    assert len(person.questions) == 1
    assert s.writes_since(mark) == []
    assert s.calls_placed() == 0


async def test_an_accepted_confirmation_places_exactly_one_call_after_a_question_showing_what_will_happen(
    setup: Any,
) -> None:
    s: Setup = setup()
    person = Person()
    async with s.client(person) as mcp:
        started = await call(
            mcp,
            "place_call",
            phone_number="+91 98765 43210",
            agent_id=DEMO_AGENT_ID,
            phone_number_id=IN_PHONE_ID,
            variable_values={"name": "Ada", "slot": "Tuesday 10am"},
        )
    assert started["placed"] is True
    assert started["request_id"]
    assert s.calls_placed() == 1
    (question,) = person.questions
    for shown in (
        INDIA,
        "India",
        '"Sunrise Dental Receptionist"',
        "+918035550101",
        '"name": "Ada"',
        '"slot": "Tuesday 10am"',
    ):
        assert shown in question


async def test_calling_the_same_number_again_asks_again_naming_the_earlier_call(setup: Any) -> None:
    s: Setup = setup()
    person = Person()
    async with s.client(person) as mcp:
        first = await call(mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID)
        s.clock.advance(60)
        await call(mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID)
    assert len(person.questions) == 2
    assert first["request_id"] not in person.questions[0]
    assert f"already called in the last 5 min (request_id {first['request_id']} at 08:00 UTC)" in person.questions[1]
    assert s.calls_placed() == 2


async def test_confirm_calls_off_dials_allow_listed_numbers_without_asking_and_still_refuses_others(
    setup: Any,
) -> None:
    s: Setup = setup(confirm_calls=False, allowed_destinations=("+91",))
    person = Person()
    async with s.client(person) as mcp:
        started = await call(mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID)
        text = await s.refused_before_kupe(mcp, "place_call", phone_number=US, agent_id=DEMO_AGENT_ID)
    assert started["placed"] is True
    assert person.questions == []
    assert "not on KUPE_ALLOWED_DESTINATIONS" in text


async def test_with_confirmation_off_a_repeat_within_the_window_is_still_confirmed_naming_the_earlier_call(
    setup: Any,
) -> None:
    s: Setup = setup(confirm_calls=False, allowed_destinations=("+91",))
    person = Person(action="decline")
    async with s.client(person) as mcp:
        first = await call(mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID)
        again = await call(mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID)
        s.clock.advance(301)
        later = await call(mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID)
    (question,) = person.questions
    assert first["request_id"] in question
    assert again["placed"] is False
    assert later["placed"] is True
    assert s.calls_placed() == 2


async def test_confirm_calls_off_without_an_allow_list_still_asks(setup: Any) -> None:
    s: Setup = setup(confirm_calls=False)
    person = Person()
    async with s.client(person) as mcp:
        await call(mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID)
    assert len(person.questions) == 1


# -- clients without elicitation, KUPE_CONFIRM_FALLBACK=token: the two-step token flow ---------------------


async def test_a_client_without_elicitation_gets_a_preview_and_token_and_the_token_places_the_call_once(
    setup: Any,
) -> None:
    s: Setup = setup(confirm_fallback="token")
    async with s.client() as mcp:
        mark = len(s.log)
        preview = await call(mcp, "place_call", phone_number="+91 98765 43210", agent_id=DEMO_AGENT_ID)
        assert s.writes_since(mark) == []
        assert preview["placed"] is False
        assert preview["confirmation_required"] is True
        assert preview["expires_in_s"] == TOKEN_TTL_S
        assert preview["preview"]["destination"] == INDIA
        assert preview["preview"]["agent"].startswith('"Sunrise Dental Receptionist"')
        assert "only if they say yes" in preview["next"].lower()
        token = preview["confirmation_token"]
        started = await call(
            mcp, "place_call", phone_number="+91 98765 43210", agent_id=DEMO_AGENT_ID, confirmation_token=token
        )
        assert started["placed"] is True
        assert s.calls_placed() == 1
        reused = await s.refused_before_kupe(
            mcp, "place_call", phone_number="+91 98765 43210", agent_id=DEMO_AGENT_ID, confirmation_token=token
        )
    assert "already used" in reused
    assert s.calls_placed() == 1


@pytest.mark.parametrize(
    "changed",
    [
        {"phone_number": "+919876543211"},
        {"variable_values": {"name": "Eve"}},
        {"phone_number_id": IN_PHONE_ID},
    ],
)
async def test_a_token_used_with_altered_arguments_is_refused_and_reaches_kupe_zero_times(
    setup: Any, changed: dict[str, Any]
) -> None:
    s: Setup = setup(confirm_fallback="token")
    args: dict[str, Any] = {"phone_number": INDIA, "agent_id": DEMO_AGENT_ID, "variable_values": {"name": "Ada"}}
    async with s.client() as mcp:
        token = (await call(mcp, "place_call", **args))["confirmation_token"]
        text = await s.refused_before_kupe(mcp, "place_call", **{**args, **changed, "confirmation_token": token})
        used_up = await fail(mcp, "place_call", **args, confirmation_token=token)
    assert "different arguments" in text
    assert "already used" in used_up
    assert s.calls_placed() == 0


async def test_an_expired_token_is_refused(setup: Any) -> None:
    s: Setup = setup(confirm_fallback="token")
    async with s.client() as mcp:
        token = (await call(mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID))["confirmation_token"]
        s.clock.advance(TOKEN_TTL_S + 1)
        text = await s.refused_before_kupe(
            mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID, confirmation_token=token
        )
    assert "expired" in text
    assert s.calls_placed() == 0


async def test_an_invented_token_is_refused_and_a_client_with_elicitation_cannot_skip_the_question_with_one(
    setup: Any,
) -> None:
    s: Setup = setup()
    person = Person()
    async with s.client(person) as mcp:
        text = await fail(
            mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID, confirmation_token="I-said-yes"
        )
    assert "confirmation tokens are not accepted here" in text
    assert s.calls_placed() == 0


# -- who, when, how often ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "words", "overrides"),
    [
        ("112", "short code", {}),
        ("112", "emergency number", {"default_region": "IN"}),
        ("911", "emergency number", {"default_region": "US"}),
        ("+44 909 876 5432", "premium-rate", {}),
        ("+1 555 123 4567", "not a valid phone number", {}),
        ("(415) 555-2671", "KUPE_DEFAULT_REGION", {}),
        (INDIA, "KUPE_BLOCKED_DESTINATIONS", {"blocked_destinations": ("+9198",)}),
        (US, "not on KUPE_ALLOWED_DESTINATIONS", {"allowed_destinations": ("+91",)}),
    ],
)
async def test_a_refused_destination_is_an_error_saying_why_and_reaches_kupe_zero_times(
    setup: Any, number: str, words: str, overrides: dict[str, Any]
) -> None:
    s: Setup = setup(**overrides)
    person = Person()
    async with s.client(person) as mcp:
        mark = len(s.log)
        text = await fail(mcp, "place_call", phone_number=number, agent_id=DEMO_AGENT_ID)
        dry = await fail(mcp, "place_call", phone_number=number, agent_id=DEMO_AGENT_ID, dry_run=True)
        assert s.log[mark:] == []
    assert words in text
    assert "Refused to call" in text
    assert words in dry
    assert person.questions == []


async def test_calling_hours_are_judged_in_the_destinations_zone_and_the_refusal_names_the_local_time(
    setup: Any,
) -> None:
    s: Setup = setup(calling_hours="09:00-21:00")
    s.clock.set(16, 0)  # 21:30 in India, 09:00 in San Francisco
    async with s.client(Person()) as mcp:
        text = await s.refused_before_kupe(mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID)
        started = await call(mcp, "place_call", phone_number=US, agent_id=DEMO_AGENT_ID)
    assert "it is 21:30 in Asia/Calcutta" in text
    assert "KUPE_CALLING_HOURS" in text
    assert started["placed"] is True


async def test_the_hourly_cap_refuses_the_next_call_saying_when_a_slot_frees(setup: Any) -> None:
    s: Setup = setup(max_calls_per_hour=2)
    async with s.client(Person()) as mcp:
        for number in (INDIA, US):
            await call(mcp, "place_call", phone_number=number, agent_id=DEMO_AGENT_ID)
        s.clock.advance(15 * 60)
        text = await s.refused_before_kupe(mcp, "place_call", phone_number="+4930123456", agent_id=DEMO_AGENT_ID)
        s.clock.advance(45 * 60 + 1)
        later = await call(mcp, "place_call", phone_number="+4930123456", agent_id=DEMO_AGENT_ID)
    assert "KUPE_MAX_CALLS_PER_HOUR is 2" in text
    assert "09:00 UTC (in about 45 min)" in text
    assert later["placed"] is True


async def test_a_call_kupe_could_not_start_gives_its_slot_back(setup: Any) -> None:
    s: Setup = setup(max_calls_per_hour=1)
    async with s.client(Person()) as mcp:
        text = await fail(mcp, "place_call", phone_number="+919876500000", agent_id=DEMO_AGENT_ID)
        started = await call(mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID)
    assert "could not start the call" in text
    assert started["placed"] is True


# -- dry runs -----------------------------------------------------------------------------------


async def test_a_dry_run_checks_previews_and_estimates_but_reaches_no_write_endpoint(setup: Any) -> None:
    s: Setup = setup()
    person = Person()
    async with s.client(person) as mcp:
        await call(mcp, "place_call", phone_number=US, agent_id=DEMO_AGENT_ID)  # usage to estimate from
        mark = len(s.log)
        dry = await call(
            mcp,
            "place_call",
            phone_number="+91 98765 43210",
            agent_id=DEMO_AGENT_ID,
            variable_values={"name": "Ada"},
            dry_run=True,
        )
        assert s.writes_since(mark) == []
    assert dry["dry_run"] is True
    assert dry["placed"] is False
    assert dry["checks"] == "passed"
    assert dry["preview"]["destination"] == INDIA
    assert dry["preview"]["variable_values"] == {"name": "Ada"}
    assert isinstance(dry["credit_balance_usd"], float)
    assert dry["estimated_cost_usd"] > 0
    assert "average" in dry["estimate_basis"]
    assert dry["calls_left_this_hour"] == 18
    assert "confirmation_token" not in dry
    assert len(person.questions) == 1  # only the real call asked
    assert s.calls_placed() == 1


async def test_a_dry_run_from_a_client_without_elicitation_issues_no_token(setup: Any) -> None:
    s: Setup = setup(confirm_fallback="token")
    async with s.client() as mcp:
        dry = await call(mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID, dry_run=True)
    assert "confirmation_token" not in dry
    assert "confirmation_token" in dry["confirmation"]


# -- the schema -----------------------------------------------------------------------------------


async def test_the_confirmation_parameter_is_not_in_the_schema_but_dry_run_and_the_token_are(setup: Any) -> None:
    s: Setup = setup()
    async with s.client() as mcp:
        tools = {t.name: t for t in (await mcp.list_tools()).tools}
    for name in ("place_call", "start_batch"):
        properties = tools[name].input_schema["properties"]
        assert "confirmation" not in properties
        assert properties["dry_run"]["type"] == "boolean"
        assert properties["confirmation_token"]["type"] == "string"
        assert "approval_url" in (tools[name].description or "")


# -- campaigns ------------------------------------------------------------------------------------

RECIPIENTS = [
    {"phone_number": "+91 98765 43210", "variables": {"name": "Ada"}},
    {"phone_number": "+1 415 555 2671", "variables": {"name": "Grace"}},
    {"phone_number": "+4930123456", "variables": {"name": "Emmy"}},
]


async def new_batch(mcp: Client, recipients: list[dict[str, Any]] | None = None) -> str:
    created = await call(
        mcp, "create_batch", name="Spring check-ups", phone_number_id=IN_PHONE_ID, agent_id=DEMO_AGENT_ID
    )
    batch_id = created["id"]
    assert isinstance(batch_id, str)
    if recipients:
        await call(mcp, "add_batch_recipients", batch_id=batch_id, recipients=recipients)
    return batch_id


def batch_starts(s: Setup) -> list[str]:
    return [p for m, p in s.log if m == "POST" and "/batch-call/start/" in p]


async def test_add_batch_recipients_checks_every_row_and_returns_the_rejected_ones_with_reasons(
    setup: Any, kupe_client: KupeClient
) -> None:
    s: Setup = setup(blocked_destinations=("+4930",))
    rows = [
        *RECIPIENTS,
        {"phone_number": "112"},
        {"phone_number": "+44 909 876 5432"},
        {"phone_number": "+919876543210", "variables": {"name": "Ada again"}},
    ]
    async with s.client() as mcp:
        batch_id = await new_batch(mcp)
        added = await call(mcp, "add_batch_recipients", batch_id=batch_id, recipients=rows)
    assert added["submitted"] == 2
    rejected = {r["row"]: r["reason"] for r in added["rejected"]}
    assert set(rejected) == {3, 4, 5, 6}
    assert "KUPE_BLOCKED_DESTINATIONS" in rejected[3]
    assert "short code" in rejected[4]
    assert "premium-rate" in rejected[5]
    assert "already in row 1" in rejected[6]
    stored = await kupe_client.list_batch_data(batch_id)
    assert sorted(r.to_phonenumber or "" for r in stored) == ["+14155552671", "+919876543210"]


async def test_add_batch_recipients_with_no_callable_row_sends_nothing(setup: Any) -> None:
    s: Setup = setup()
    async with s.client() as mcp:
        batch_id = await new_batch(mcp)
        text = await s.refused_before_kupe(
            mcp,
            "add_batch_recipients",
            batch_id=batch_id,
            recipients=[{"phone_number": "911"}, {"phone_number": "xyz"}],
        )
    assert "none of the 2 rows may be called" in text


async def test_add_batch_recipients_reads_a_csv_under_the_upload_roots_and_refuses_one_outside(
    setup: Any, tmp_path: Path, kupe_client: KupeClient
) -> None:
    root = tmp_path / "uploads"
    root.mkdir()
    (root / "people.csv").write_text(
        "Phone_Number,name,slot\n+91 98765 43210,Ada,Tue\n+1 (415) 555-2671,Grace,\n1234,Nobody,Wed\n"
    )
    (tmp_path / "elsewhere.csv").write_text("phone_number\n+919876543210\n")
    (root / "nophone.csv").write_text("name\nAda\n")
    s: Setup = setup(upload_roots=(str(root),))
    async with s.client() as mcp:
        batch_id = await new_batch(mcp)
        added = await call(mcp, "add_batch_recipients", batch_id=batch_id, csv_path=str(root / "people.csv"))
        mark = len(s.log)
        outside = await fail(
            mcp, "add_batch_recipients", batch_id=batch_id, csv_path=str(root / ".." / "elsewhere.csv")
        )
        no_phone = await fail(mcp, "add_batch_recipients", batch_id=batch_id, csv_path=str(root / "nophone.csv"))
        both = await fail(mcp, "add_batch_recipients", batch_id=batch_id, csv_path="x.csv", recipients=RECIPIENTS[:1])
        assert s.log[mark:] == []
    assert added["submitted"] == 2
    assert [r["row"] for r in added["rejected"]] == [4]
    stored = {r.to_phonenumber: r.variable_values for r in await kupe_client.list_batch_data(batch_id)}
    assert stored == {"+919876543210": {"name": "Ada", "slot": "Tue"}, "+14155552671": {"name": "Grace"}}
    assert "outside the folders" in outside
    assert "no phone column" in no_phone
    assert "exactly one of recipients or csv_path" in both


async def test_a_declined_batch_start_rings_nobody_and_an_accepted_one_starts_once(setup: Any) -> None:
    s: Setup = setup()
    no = Person(action="accept", confirm=False)  # a person's no: a submitted form with confirm unticked
    async with s.client(no) as mcp:
        batch_id = await new_batch(mcp, RECIPIENTS)
        declined = await call(mcp, "start_batch", batch_id=batch_id)
    assert declined["started"] is False
    assert "nobody was rung" in declined["reason"]
    assert batch_starts(s) == []
    yes = Person()
    async with s.client(yes) as mcp:
        started = await call(mcp, "start_batch", batch_id=batch_id)
    assert started["started"] is True
    assert len(batch_starts(s)) == 1
    (question,) = yes.questions
    for shown in ('"Spring check-ups"', "rings 3 people", "Sunrise Dental Receptionist", "+918035550101"):
        assert shown in question
    assert 'Row: +14155552671 (United States) {"name": "Grace"}' in question


async def test_a_batch_start_refuses_when_any_row_may_not_be_called_and_names_it(
    setup: Any, kupe_client: KupeClient
) -> None:
    s: Setup = setup(calling_hours="09:00-21:00")
    s.clock.set(16, 0)  # 21:30 in India: the Indian row is outside calling hours
    async with s.client(Person()) as mcp:
        batch_id = await new_batch(mcp, RECIPIENTS)
        # A row added behind kupe-app-mcp's back (e.g. in the dashboard) is checked when the batch starts.
        await kupe_client.upsert_batch_data(batch_id, [{"to_phonenumber": "+449098765432", "variable_values": {}}])
        mark = len(s.log)
        text = await fail(mcp, "start_batch", batch_id=batch_id)
        assert s.writes_since(mark) == []
    assert "2 of 4 numbers may not be called now" in text
    assert "21:30 in Asia/Calcutta" in text
    assert "premium-rate" in text
    assert batch_starts(s) == []


async def test_a_batch_counts_its_rows_against_the_hourly_cap(setup: Any) -> None:
    s: Setup = setup(max_calls_per_hour=3)
    async with s.client(Person()) as mcp:
        await call(mcp, "place_call", phone_number="+919876543299", agent_id=DEMO_AGENT_ID)
        batch_id = await new_batch(mcp, RECIPIENTS)
        mark = len(s.log)
        text = await fail(mcp, "start_batch", batch_id=batch_id)
        assert s.writes_since(mark) == []
        s.clock.advance(3601)
        started = await call(mcp, "start_batch", batch_id=batch_id)
        text_after = await fail(mcp, "place_call", phone_number="+919876543298", agent_id=DEMO_AGENT_ID)
    assert "KUPE_MAX_CALLS_PER_HOUR is 3" in text
    assert started["started"] is True
    assert "3 calls were placed in the last hour" in text_after


async def test_a_batch_dry_run_shows_count_sample_balance_and_estimate_and_writes_nothing(setup: Any) -> None:
    s: Setup = setup()
    person = Person()
    async with s.client(person) as mcp:
        await call(mcp, "place_call", phone_number="+919876543299", agent_id=DEMO_AGENT_ID)
        batch_id = await new_batch(mcp, RECIPIENTS)
        mark = len(s.log)
        dry = await call(mcp, "start_batch", batch_id=batch_id, dry_run=True)
        assert s.writes_since(mark) == []
    assert dry["started"] is False
    assert dry["preview"]["recipients"] == 3
    assert [row["to"] for row in dry["preview"]["sample"]] == [INDIA, US, "+4930123456"]
    assert dry["preview"]["caller_line"] == "+918035550101"
    assert dry["estimated_cost_usd"] > 0
    assert "3 call(s)" in dry["estimate_basis"]
    assert dry["calls_left_this_hour"] == 16
    assert len(person.questions) == 1  # the earlier place_call only
    assert batch_starts(s) == []


async def test_a_batch_whose_rows_kupe_stores_as_digits_starts_across_countries_without_a_default_region(
    setup: Any, kupe_client: KupeClient
) -> None:
    """Kupe normalises recipients to digits: a row read back as 14155550142 is +14155550142, not a refusal."""
    s: Setup = setup(default_region=None)
    async with s.client(Person()) as mcp:
        batch_id = await new_batch(mcp, RECIPIENTS)
        await kupe_client.upsert_batch_data(batch_id, [{"to_phonenumber": "14155550142", "variable_values": {}}])
        dry = await call(mcp, "start_batch", batch_id=batch_id, dry_run=True)
        started = await call(mcp, "start_batch", batch_id=batch_id)
    assert [row["to"] for row in dry["preview"]["sample"]] == [INDIA, US, "+4930123456", "+14155550142"]
    assert [row["country"] for row in dry["preview"]["sample"]][:3] == ["India", "United States", "Germany"]
    assert started["started"] is True


async def test_a_batch_token_is_refused_when_the_rows_changed_after_the_preview(setup: Any) -> None:
    s: Setup = setup(confirm_fallback="token")
    async with s.client() as mcp:
        batch_id = await new_batch(mcp, RECIPIENTS)
        preview = await call(mcp, "start_batch", batch_id=batch_id)
        assert preview["started"] is False
        assert preview["preview"]["recipients"] == 3
        await call(mcp, "add_batch_recipients", batch_id=batch_id, recipients=[{"phone_number": "+919876543211"}])
        text = await fail(mcp, "start_batch", batch_id=batch_id, confirmation_token=preview["confirmation_token"])
        assert batch_starts(s) == []
        fresh = await call(mcp, "start_batch", batch_id=batch_id)
        started = await call(mcp, "start_batch", batch_id=batch_id, confirmation_token=fresh["confirmation_token"])
    assert "different arguments" in text
    assert started["started"] is True
    assert len(batch_starts(s)) == 1


async def test_a_started_batch_makes_its_numbers_repeats_for_place_call(setup: Any) -> None:
    s: Setup = setup(confirm_calls=False, allowed_destinations=("+91", "+1", "+49"))
    person = Person()
    async with s.client(person) as mcp:
        batch_id = await new_batch(mcp, RECIPIENTS)
        await call(mcp, "start_batch", batch_id=batch_id)
        assert person.questions == []
        await call(mcp, "place_call", phone_number=US, agent_id=DEMO_AGENT_ID)
    (question,) = person.questions
    assert f"batch {batch_id}" in question


# -- fuzzing through the tool ---------------------------------------------------------------------


@pytest.fixture
async def quiet_mcp(make_server: ServerFactory, client_mode: str) -> AsyncIterator[tuple[Client, Any]]:
    """A client without elicitation: an accepted number gets a token preview, so nothing is ever dialled here."""
    server = make_server(toolsets=("calls",), max_calls_per_hour=100_000)
    async with Client(server, mode=client_mode) as client:
        yield client, server


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    raw=st.one_of(
        st.text(min_size=3, max_size=32),
        st.text(alphabet="+0123456789 ()-", min_size=3, max_size=20),
        st.builds(lambda d: f"+91{d}", st.text(alphabet="0123456789", min_size=0, max_size=12)),
    )
)
async def test_no_typed_string_ever_reaches_create_call_unconfirmed_and_any_preview_is_a_valid_number(
    quiet_mcp: tuple[Client, Any], sandbox_app: Any, raw: str
) -> None:
    mcp, _server = quiet_mcp
    result = await mcp.call_tool("place_call", {"phone_number": raw, "agent_id": DEMO_AGENT_ID})
    if not result.is_error:
        content = result.structured_content
        assert isinstance(content, dict)
        assert content["placed"] is False
        assert phonenumbers.is_valid_number(phonenumbers.parse(content["preview"]["destination"]))
    assert CREATE_CALL not in sandbox_app.state.sandbox.request_log


async def test_an_invalid_string_with_a_forged_token_never_reaches_create_call(setup: Any) -> None:
    s: Setup = setup()
    async with s.client() as mcp:
        for raw in ("+1 555 123 4567", "911", "not a number", "+44 909 876 5432"):
            await fail(mcp, "place_call", phone_number=raw, agent_id=DEMO_AGENT_ID, confirmation_token="x")
    assert s.calls_placed() == 0


# -- over stateless HTTP ---------------------------------------------------------------------------


async def test_over_stateless_http_the_new_protocol_asks_the_person_and_the_old_one_falls_back_to_a_link(
    client_mode: str,
) -> None:
    person = Person()
    with (
        declared_elicitation(FORM_ONLY),
        calls_over_http(approval_proof="client") as (_server, sandbox, base_url),  # the person answers in-band
    ):
        async with (
            httpx2.AsyncClient(timeout=30) as http,
            Client(
                streamable_http_client(f"{base_url}/mcp", http_client=http),
                mode=client_mode,
                elicitation_callback=person,
            ) as mcp,
        ):
            result = await call(
                mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID, variable_values=DEMO_VALUES
            )
        placed = sandbox.sandbox.request_log.count(CREATE_CALL)
    if client_mode == "auto":
        assert len(person.questions) == 1
        assert result["placed"] is True
        assert placed == 1
    else:
        # 2025-11-25 over stateless HTTP cannot send the server's question mid-call: an approval link instead.
        assert person.questions == []
        assert result["approval_url"].startswith(f"{base_url}/approvals/")
        assert "confirmation_token" not in result
        assert placed == 0


# -- outcome errors (issue 4, section 4) -----------------------------------------------------------------


async def test_a_call_refused_for_credits_says_how_to_check_the_balance_and_gives_its_slot_back(
    sandbox_app: Any, client_mode: str
) -> None:
    settings = Settings(
        toolsets=("agents", "calls"), calling_hours="off", max_calls_per_hour=1, approval_proof="client"
    )
    server = create_server(settings, make_kupe(sandbox_app, NO_CREDIT_API_KEY))
    async with form_client(server, client_mode, Person()) as mcp:
        agent_id = await agent_named(mcp)
        text = await fail(mcp, "place_call", phone_number=INDIA, agent_id=agent_id)
        dry = await call(mcp, "place_call", phone_number=US, agent_id=agent_id, dry_run=True)
    assert "out of credits (402" in text
    assert "get_credit_balance" in text
    assert dry["calls_left_this_hour"] == 0
    assert dry["credit_balance_usd"] == 0


async def test_a_call_whose_answer_was_lost_is_not_retried_says_it_may_have_been_placed_and_counts_as_placed(
    setup: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[str] = []

    async def lost(self: KupeClient, phone_number: str, **kwargs: Any) -> None:
        sent.append(phone_number)
        raise KupeTimeout(
            "Kupe's answer to POST /api/call/create_call was lost (timed out), so the call may have been placed: "
            "check the call logs (get_call_analytics) before calling again, or the person may be rung twice.",
            method="POST",
            path="/api/call/create_call",
            may_have_reached=True,
        )

    monkeypatch.setattr(KupeClient, "create_call", lost)
    s: Setup = setup()
    person = Person()
    async with s.client(person) as mcp:
        text = await fail(mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID)
        await fail(mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID)
    assert sent == [INDIA, INDIA]
    assert "may have been placed" in text
    assert "get_call_analytics" in text
    assert "answer from Kupe was lost" in person.questions[1]


async def test_on_a_multi_tenant_server_a_token_is_worthless_to_another_tenant() -> None:
    with SandboxServer(SandboxSettings(call_step_s=0)) as sandbox:
        config = Settings(
            base_url=sandbox.base_url,
            toolsets=("calls",),
            calling_hours="off",
            confirm_fallback="token",
            approval_proof="client",  # tokens are a client proof
        )
        server = create_server(config, build_client(config), multi_tenant=True)
        app = http_app(server, config, host="127.0.0.1", multi_tenant=True)
        # A workflow, not the demo agent: the other tenant cannot read the demo agent, and would be refused for
        # that (its prompt variables are checked first) before the token mattered.
        args = {"phone_number": INDIA, "workflow_id": "6f1c1a52-7d0e-4c7b-9a57-2a1d6c0b1e01"}
        with LoopbackServer(app, lifespan="on") as srv:

            async def place(key: str, **extra: Any) -> Any:
                async with (
                    httpx2.AsyncClient(timeout=30, headers={"x-api-key": key}) as http,
                    Client(streamable_http_client(f"{srv.base_url}/mcp", http_client=http), mode="legacy") as mcp,
                ):
                    return await mcp.call_tool("place_call", {**args, **extra})

            issued = await place(DEMO_API_KEY)  # the old protocol over stateless HTTP gets a token
            token = (issued.structured_content or {})["confirmation_token"]
            stolen = await place(NO_CREDIT_API_KEY, confirmation_token=token)
            after_stolen = sandbox.sandbox.request_log.count(CREATE_CALL)
    assert stolen.is_error
    assert "token" in stolen.content[0].text
    assert after_stolen == 0


async def test_a_confirmed_call_looks_up_the_agent_and_line_once_across_question_rounds(setup: Any) -> None:
    s = setup()
    async with s.client(Person()) as mcp:
        lines = await call(mcp, "list_phone_numbers")
        line_id = lines["items"][0]["id"]
        mark = len(s.log)
        await call(mcp, "place_call", phone_number=INDIA, agent_id=DEMO_AGENT_ID, phone_number_id=line_id)
    lookups = [r for r in s.log[mark:] if r[0] == "GET"]
    assert lookups.count(("GET", f"/api/v1/agents/{DEMO_AGENT_ID}")) == 1
    assert lookups.count(("GET", "/api/v1/phone")) == 1
