"""Approvals through a real MCP client, both protocol generations: which human channel is chosen, and that the
model can never say yes for the person.

In-process clients reach the approval page on the stdio-style loopback listener the server starts on first need;
``answer_page`` plays the person's browser (GET for the page and its cookie, then a same-origin POST).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any, Literal

import anyio
import httpx2
import mcp_types as types
import pytest
from mcp.client import Client
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.shared.exceptions import MCPError
from mcp_types import MISSING_REQUIRED_CLIENT_CAPABILITY

from kupe_mcp.client import KupeClient
from kupe_mcp.errors import KupeTimeout
from kupe_mcp.safety.approvals import Approval
from kupe_mcp.safety.gate import UNKNOWN_REF
from kupe_mcp.sandbox._seed import DEMO_USER_ID
from kupe_mcp.serve.server import KupeServer
from tests._approvals import (
    FORM_ONLY,
    URL_ONLY,
    Noting,
    answer_page,
    answering,
    declared_elicitation,
    form_client,
    never_answering,
    on_the_page,
    origin,
    text_of,
)
from tests._clock import FakeClock
from tests._mcp import call, fail, new_batch, say_yes
from tests._safety import ADA_CALL
from tests.conftest import ServerFactory

pytestmark = pytest.mark.anyio

INDIA = "+919876543210"
CREATE_CALL = ("POST", "/api/call/create_call")
TENANT = f"user:{DEMO_USER_ID}"
APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})  # a client that negotiated MCP Apps


class Fixture:
    def __init__(self, make_server: ServerFactory, sandbox_app: Any, mode: str) -> None:
        self.make_server, self.app, self.mode = make_server, sandbox_app, mode
        self.servers: list[KupeServer] = []

    def server(self, **settings: Any) -> KupeServer:
        server = self.make_server(**settings)
        self.servers.append(server)
        return server

    @asynccontextmanager
    async def client(self, **settings: Any) -> AsyncIterator[tuple[KupeServer, Client]]:
        """A new server (``settings`` as for ``server``) and a plain client on it in this test's protocol mode."""
        server = self.server(**settings)
        async with Client(server, mode=self.mode) as mcp:
            yield server, mcp

    def calls_placed(self) -> int:
        return list(self.app.state.sandbox.request_log).count(CREATE_CALL)


@pytest.fixture
def fx(make_server: ServerFactory, sandbox_app: Any, client_mode: str) -> Iterator[Fixture]:
    fixture = Fixture(make_server, sandbox_app, client_mode)
    yield fixture
    for server in fixture.servers:
        server.runtime.approvals.close()


async def records_of(server: KupeServer) -> list[Approval]:
    """The demo account's approvals as the store keeps them, newest first (what list_call_approvals reads)."""
    return await server.runtime.approvals.store.list(TENANT, status=None, limit=100)


async def card_digests_of(server: KupeServer) -> list[str]:
    """What the store keeps of each approval's card nonce (a keyed digest; empty when no card was rendered)."""
    return [r.card_digest for r in await records_of(server)]


async def ada_answered_on_the_page(
    mcp: Client, choice: Literal["approve", "decline"]
) -> tuple[dict[str, Any], httpx2.Response]:
    """The model asks for Ada's call, then the person presses ``choice`` on its page: (the tool's result, the page)."""
    out = await call(mcp, "place_call", **ADA_CALL)
    return out, await answer_page(out["approval_url"], choice)


# -- the default: an approval link --------------------------------------------------------------------


async def test_a_client_without_elicitation_gets_a_link_not_a_token_and_its_own_call_cannot_approve(
    fx: Fixture,
) -> None:
    async with fx.client() as (server, mcp):
        first = await mcp.call_tool("place_call", ADA_CALL)
        again = await mcp.call_tool("place_call", ADA_CALL)  # the model repeating itself is not a yes
        out = first.structured_content or {}
        pending = await call(mcp, "wait_for_approval", approval_id=out["approval_id"], timeout_s=1)
    assert out["placed"] is False
    assert out["approval_required"] is True
    assert out["channel"] == "link"
    assert out["approval_url"].startswith("http://localhost:")  # WebAuthn needs a domain; the listener binds 127.0.0.1
    assert out["approval_url"].endswith(f"/approvals/{out['approval_id']}")
    assert "confirmation_token" not in out
    assert (again.structured_content or {})["approval_id"] == out["approval_id"]
    assert pending["status"] == "pending"
    assert await card_digests_of(server) == [""]  # a link approval has no secret at all: only the page answers it
    assert fx.calls_placed() == 0


async def test_approving_on_the_page_lets_wait_for_approval_dial_exactly_once(fx: Fixture) -> None:
    async with fx.client() as (_, mcp):
        out, page = await ada_answered_on_the_page(mcp, "approve")
        done = await call(mcp, "wait_for_approval", approval_id=out["approval_id"], timeout_s=5)
        twice = await call(mcp, "wait_for_approval", approval_id=out["approval_id"], timeout_s=1)
        record = await call(mcp, "list_call_approvals")
    assert "Approved" in page.text
    assert done["status"] == "approved"
    assert (done["result"]["outcome"], done["result"]["placed"]) == ("placed", True)
    assert twice["status"] == "used"
    assert fx.calls_placed() == 1
    (row,) = record["approvals"]
    assert row["status"] == "used"
    assert row["outcome"] == f"request_id {done['result']['request_id']}"
    assert [e["status"] for e in row["events"]] == ["pending", "approved", "used", "used"]
    assert "secret" not in repr(record)


async def audit(mcp: Client, approval_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The approval as the model can read it: its list_call_approvals row and its kupe://approvals resource."""
    (row,) = (await call(mcp, "list_call_approvals"))["approvals"]
    read = await mcp.read_resource(f"kupe://approvals/{approval_id}")
    return row, json.loads(read.contents[0].text)  # type: ignore[union-attr]


async def test_the_audit_of_an_approved_call_names_its_request_id_in_the_list_and_the_resource(fx: Fixture) -> None:
    async with fx.client() as (_, mcp):
        out, _ = await ada_answered_on_the_page(mcp, "approve")
        done = await call(mcp, "wait_for_approval", approval_id=out["approval_id"], timeout_s=5)
        row, resource = await audit(mcp, out["approval_id"])
    dialled = f"request_id {done['result']['request_id']}"
    for shown in (row, resource):
        assert (shown["status"], shown["outcome"]) == ("used", dialled)
        assert [(e["status"], e["note"]) for e in shown["events"][-2:]] == [
            ("used", "redeemed to dial"),
            ("used", dialled),
        ]


async def test_an_approved_call_whose_answer_from_kupe_was_lost_is_audited_as_outcome_unknown(
    fx: Fixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def lost(self: KupeClient, phone_number: str, **kwargs: Any) -> None:
        raise KupeTimeout(
            "Kupe's answer was lost (timed out), so the call may have been placed.",
            method="POST",
            path="/api/call/create_call",
            may_have_reached=True,
        )

    monkeypatch.setattr(KupeClient, "create_call", lost)
    async with fx.client() as (_, mcp):
        out, _ = await ada_answered_on_the_page(mcp, "approve")
        text = await fail(mcp, "wait_for_approval", approval_id=out["approval_id"], timeout_s=5)
        row, resource = await audit(mcp, out["approval_id"])
    assert "may have been placed" in text
    for shown in (row, resource):
        assert (shown["status"], shown["outcome"]) == ("used", UNKNOWN_REF)
        assert shown["events"][-1]["note"] == UNKNOWN_REF


async def test_an_approval_redeemed_for_a_call_that_changed_meanwhile_is_audited_as_refused(
    fx: Fixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the person's yes and the dial, what would be dialled changed (here its values): nothing is dialled, and
    the approval, already used up, says so instead of reading like a call that was placed."""
    from kupe_mcp.safety.subjects import refresh

    async def changed(ctx: Any, subject: Any) -> Any:
        fresh = await refresh(ctx, subject)
        return dataclasses.replace(fresh, fields={**fresh.fields, "variable_values": {"name": "Eve"}})

    async with fx.client() as (_, mcp):
        out, _ = await ada_answered_on_the_page(mcp, "approve")
        monkeypatch.setattr("kupe_mcp.safety.gate.refresh", changed)
        text = await fail(mcp, "wait_for_approval", approval_id=out["approval_id"], timeout_s=5)
        row, resource = await audit(mcp, out["approval_id"])
    refusal = text.removeprefix("Error executing tool wait_for_approval: ")
    assert refusal.startswith("Refused: what place_call would dial changed after it was approved")
    assert fx.calls_placed() == 0
    for shown in (row, resource):
        assert (shown["status"], shown["outcome"]) == ("used", refusal)


async def test_repeating_the_request_after_approval_dials_once_and_a_third_time_asks_again(fx: Fixture) -> None:
    async with fx.client() as (_, mcp):
        out, _ = await ada_answered_on_the_page(mcp, "approve")
        placed = await call(mcp, "place_call", **ADA_CALL)
        again = await call(mcp, "place_call", **ADA_CALL)
    assert placed["placed"] is True
    assert again["placed"] is False
    assert again["approval_id"] != out["approval_id"]
    assert any("already called" in n for n in again["preview"]["notes"])
    assert fx.calls_placed() == 1


async def test_an_approval_does_not_dial_different_arguments(fx: Fixture) -> None:
    async with fx.client() as (_, mcp):
        out, _ = await ada_answered_on_the_page(mcp, "approve")
        changed = await call(
            mcp, "place_call", **{**ADA_CALL, "variable_values": {"name": "Eve", "appointment_date": "Friday"}}
        )
    assert changed["placed"] is False
    assert changed["approval_id"] != out["approval_id"]
    assert fx.calls_placed() == 0


async def test_declining_on_the_page_dials_nothing_and_says_so(fx: Fixture) -> None:
    async with fx.client() as (_, mcp):
        out, page = await ada_answered_on_the_page(mcp, "decline")
        waited = await call(mcp, "wait_for_approval", approval_id=out["approval_id"], timeout_s=5)
        repeated = await call(mcp, "place_call", **ADA_CALL)
    assert "Declined" in page.text
    assert waited["status"] == "declined"
    assert repeated["declined"] is True
    assert "declined on the approval page" in repeated["reason"]
    assert fx.calls_placed() == 0


async def test_an_approval_nobody_answers_expires_and_dials_nothing(fx: Fixture) -> None:
    server = fx.server()
    clock = FakeClock()
    server.runtime.approvals.clock = server.runtime.approvals.store.clock = clock  # type: ignore[attr-defined]
    async with Client(server, mode=fx.mode) as mcp:
        out = await call(mcp, "place_call", **ADA_CALL)
        clock.advance(server.runtime.kupe_settings.approval_ttl_s + 1)
        waited = await call(mcp, "wait_for_approval", approval_id=out["approval_id"], timeout_s=1)
        async with httpx2.AsyncClient() as http:
            page = await http.get(out["approval_url"])
        fresh = await call(mcp, "place_call", **ADA_CALL)
    assert waited["status"] == "expired"
    assert "expired" in page.text
    assert "Approve</button>" not in page.text
    assert fresh["approval_id"] != out["approval_id"]
    assert fx.calls_placed() == 0


async def test_the_approval_ttl_setting_sets_the_expiry(fx: Fixture) -> None:
    server = fx.server(approval_ttl_s=90)
    async with Client(server, mode=fx.mode) as mcp:
        out = await call(mcp, "place_call", **ADA_CALL)
    assert 85 <= out["expires_in_s"] <= 90


async def test_a_batch_start_is_approved_on_the_page_and_starts_once(fx: Fixture) -> None:
    async with fx.client() as (_, mcp):
        rows = [{"phone_number": INDIA, "variables": {"name": "<script>x</script>", "appointment_date": "Friday"}}]
        batch_id = await new_batch(mcp, "Spring <b>check-ups</b>", rows)
        out = await call(mcp, "start_batch", batch_id=batch_id)
        async with httpx2.AsyncClient() as http:
            shown = (await http.get(out["approval_url"])).text
        await answer_page(out["approval_url"], "approve")
        done = await call(mcp, "wait_for_approval", approval_id=out["approval_id"], timeout_s=5)
    starts = [p for m, p in fx.app.state.sandbox.request_log if m == "POST" and "/batch-call/start/" in p]
    assert "Spring &lt;b&gt;check-ups&lt;/b&gt;" in shown
    assert "<script>x" not in shown
    assert (done["result"]["outcome"], done["result"]["started"]) == ("started", True)
    assert done["result"]["batch_id"] == batch_id
    assert len(starts) == 1


# -- other tenants and forged answers --------------------------------------------------------------------


async def test_wait_for_approval_of_an_unknown_id_is_an_error_naming_where_ids_come_from(fx: Fixture) -> None:
    async with fx.client() as (_, mcp):
        text = await fail(mcp, "wait_for_approval", approval_id="not-a-real-id", timeout_s=1)
    assert "place_call" in text


async def test_another_tenant_cannot_see_or_redeem_an_approval(fx: Fixture) -> None:
    async with fx.client() as (server, mcp):
        out, _ = await ada_answered_on_the_page(mcp, "approve")
    record = await server.runtime.approvals.store.get(out["approval_id"])
    assert record is not None
    with pytest.raises(Exception, match="unknown"):
        await server.runtime.approvals.store.redeem(record.id, tenant="someone-else", digest=record.digest)
    listed = await server.runtime.approvals.store.list("someone-else", status=None, limit=20)
    assert listed == []
    assert fx.calls_placed() == 0


@pytest.mark.parametrize(
    "forgery",
    ["no secret", "wrong secret", "no cookie", "wrong origin", "no origin"],
)
async def test_a_forged_answer_is_refused_and_the_approval_stays_pending(fx: Fixture, forgery: str) -> None:
    async with fx.client() as (server, mcp):
        url = (await call(mcp, "place_call", **ADA_CALL))["approval_url"]
    async with httpx2.AsyncClient() as http:
        page = await http.get(url)
        secret = page.text.split("name='secret' value='")[1].split("'")[0]
        data = {"secret": secret, "answer": "approve"}
        headers = {"origin": origin(url)}
        if forgery == "no secret":
            del data["secret"]
        if forgery == "wrong secret":
            data["secret"] = "x" * len(secret)
        if forgery == "no cookie":
            http.cookies.clear()
        if forgery == "wrong origin":
            headers["origin"] = "http://evil.example"
        if forgery == "no origin":
            headers = {}
        refused = await http.post(url, data=data, headers=headers)
    (record,) = await records_of(server)
    assert refused.status_code == 403
    assert "Refused" in refused.text
    assert record.status == "pending"


async def test_a_get_never_approves_and_the_page_cannot_be_framed(fx: Fixture) -> None:
    async with fx.client() as (server, mcp):
        url = (await call(mcp, "place_call", **ADA_CALL))["approval_url"]
    async with httpx2.AsyncClient() as http:
        for query in ("", "?answer=approve", "?approve=1"):
            page = await http.get(url + query)
            assert page.status_code == 200
    (record,) = await records_of(server)
    assert record.status == "pending"
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    cookie = page.headers["set-cookie"].lower()
    assert "samesite=strict" in cookie
    assert "httponly" in cookie


async def test_the_page_refuses_a_host_name_it_is_not_served_under(fx: Fixture) -> None:
    async with fx.client() as (_, mcp):
        url = (await call(mcp, "place_call", **ADA_CALL))["approval_url"]
    async with httpx2.AsyncClient() as http:
        rebound = await http.get(url, headers={"host": "evil.example"})
    assert rebound.status_code == 421
    assert "name='secret'" not in rebound.text


# -- choosing the channel ---------------------------------------------------------------------------------


async def test_a_client_with_form_elicitation_is_asked_in_band_and_gets_no_approval(fx: Fixture) -> None:
    server = fx.server()
    async with form_client(server, fx.mode, say_yes) as mcp:
        out = await call(mcp, "place_call", **ADA_CALL)
    assert out["placed"] is True
    # No approval was opened for a page or card: the one record is the audit of the yes given in the form.
    assert [(r.channel, r.status, r.card_digest) for r in await records_of(server)] == [("elicitation", "used", "")]


async def test_under_client_proof_an_apps_client_that_also_has_form_elicitation_gets_the_card_not_the_form(
    fx: Fixture,
) -> None:
    person = Noting(say_yes)
    with declared_elicitation(FORM_ONLY):
        async with Client(fx.server(), mode=fx.mode, elicitation_callback=person, extensions=[APPS]) as mcp:
            result = await mcp.call_tool("place_call", ADA_CALL)
    out = result.structured_content or {}
    assert out["channel"] == "app"
    assert out["placed"] is False
    assert person.asked == []
    assert fx.calls_placed() == 0


async def test_under_client_proof_a_client_with_url_and_form_elicitation_is_sent_to_the_page_by_url(
    fx: Fixture,
) -> None:
    person = Noting(on_the_page("approve"))
    async with Client(fx.server(), mode=fx.mode, elicitation_callback=person) as mcp:  # the SDK declares form and url
        out = await call(mcp, "place_call", **ADA_CALL)
    (url,) = person.asked
    assert isinstance(url, types.ElicitRequestURLParams)
    assert out["placed"] is True
    assert fx.calls_placed() == 1


async def test_a_form_question_never_answered_returns_within_the_timeout_with_the_approval_pending(
    make_server: ServerFactory, sandbox_app: Any
) -> None:
    server = make_server(toolsets=("calls",), elicitation_timeout_s=0.5)
    with anyio.fail_after(10):
        async with form_client(server, "legacy", never_answering) as mcp:
            started = anyio.current_time()
            out = await call(mcp, "place_call", **ADA_CALL)
            took = anyio.current_time() - started
            pending = await call(mcp, "wait_for_approval", approval_id=out["approval_id"], timeout_s=1)
    assert took < 5
    assert out["placed"] is False
    assert out["channel"] == "link"
    assert "did not answer the confirmation within 0.5 s (KUPE_ELICITATION_TIMEOUT_S)" in out["note"]
    assert out["approval_url"].endswith(f"/approvals/{out['approval_id']}")
    assert f"wait_for_approval(approval_id={out['approval_id']!r})" in out["next"]
    assert pending["status"] == "pending"
    assert list(sandbox_app.state.sandbox.request_log).count(CREATE_CALL) == 0
    await server.runtime.aclose()


@pytest.mark.parametrize("action", ["decline", "cancel"])
async def test_an_auto_declined_form_question_leaves_the_approval_answerable_on_the_page_and_it_dials_once(
    fx: Fixture, action: Literal["decline", "cancel"]
) -> None:
    auto_declines = Noting(answering(action))  # Claude Code in VS Code: answers without showing the person anything
    async with form_client(fx.server(), fx.mode, auto_declines) as mcp:
        out = await call(mcp, "place_call", **ADA_CALL)
        before = fx.calls_placed()
        page = await answer_page(out["approval_url"], "approve")
        done = await call(mcp, "wait_for_approval", approval_id=out["approval_id"], timeout_s=5)
        twice = await call(mcp, "wait_for_approval", approval_id=out["approval_id"], timeout_s=1)
    assert isinstance(auto_declines.asked[0], types.ElicitRequestFormParams)
    assert out["placed"] is False
    assert "declined or dismissed the confirmation" in out["note"]
    assert before == 0
    assert "Approved" in page.text
    assert done["status"] == "approved"
    assert done["result"]["placed"] is True
    assert twice["status"] == "used"
    assert fx.calls_placed() == 1


async def test_a_url_only_client_is_sent_to_the_page_and_the_model_never_sees_the_link(fx: Fixture) -> None:
    person = Noting(on_the_page("approve"))
    with declared_elicitation(URL_ONLY):
        async with Client(fx.server(), mode=fx.mode, elicitation_callback=person) as mcp:
            result = await mcp.call_tool("place_call", ADA_CALL)
    (asked,) = person.asked
    assert isinstance(asked, types.ElicitRequestURLParams)
    assert "/approvals/" in asked.url
    assert not result.is_error, result.content
    assert (result.structured_content or {})["placed"] is True
    assert asked.url not in text_of(result)
    assert fx.calls_placed() == 1


async def test_a_url_only_client_whose_person_declines_dials_nothing(fx: Fixture) -> None:
    with declared_elicitation(URL_ONLY):
        async with Client(fx.server(), mode=fx.mode, elicitation_callback=on_the_page("decline")) as mcp:
            out = await call(mcp, "place_call", **ADA_CALL)
    assert out["placed"] is False
    assert out["declined"] is True
    assert fx.calls_placed() == 0


async def test_an_auto_declining_client_dials_nothing_and_leaves_the_approval_answerable_on_the_page(
    fx: Fixture,
) -> None:
    auto_decline = answering("decline")  # Claude Code in VS Code: nobody saw the question
    with declared_elicitation(URL_ONLY):
        async with Client(fx.server(), mode=fx.mode, elicitation_callback=auto_decline) as mcp:
            out = await call(mcp, "place_call", **ADA_CALL)
            assert fx.calls_placed() == 0
            page = await answer_page(out["approval_url"], "approve")  # the person finds the page later
            done = await call(mcp, "wait_for_approval", approval_id=out["approval_id"], timeout_s=5)
    assert out["placed"] is False
    assert "declined" not in out
    assert "stays open on its page" in out["note"]
    assert "Approved" in page.text
    assert done["result"]["placed"] is True
    assert fx.calls_placed() == 1


async def test_an_elicitation_never_answered_returns_within_the_timeout_with_the_approval_pending(
    make_server: ServerFactory,
) -> None:
    """Claude Desktop's built-in agent declares elicitation but never shows it: the call must not hang."""
    server = make_server(toolsets=("calls",), elicitation_timeout_s=0.5)
    with declared_elicitation(URL_ONLY), anyio.fail_after(20):
        async with Client(server, mode="legacy", elicitation_callback=never_answering) as mcp:
            out = await call(mcp, "place_call", **ADA_CALL)
            pending = await call(mcp, "wait_for_approval", approval_id=out["approval_id"], timeout_s=1)
    assert out["placed"] is False
    assert "did not answer within 0.5 s" in out["note"]
    assert out["approval_url"].endswith(f"/approvals/{out['approval_id']}")
    assert "wait_for_approval" in out["next"]
    assert pending["status"] == "pending"
    await server.runtime.aclose()


async def test_an_apps_client_without_elicitation_gets_the_card_channel_without_a_link(fx: Fixture) -> None:
    server = fx.server()
    async with Client(server, mode=fx.mode, extensions=[APPS]) as mcp:
        result = await mcp.call_tool("place_call", ADA_CALL)
    out = result.structured_content or {}
    assert out["channel"] == "app"
    assert "approval_url" not in out
    nonce = (result.meta or {})["kupe/approval"]["secret"]
    (digest,) = await card_digests_of(server)
    assert nonce not in text_of(result)
    assert digest not in text_of(result)
    assert nonce not in digest  # the store keeps a keyed digest, never the nonce itself
    assert fx.calls_placed() == 0


async def test_with_fallback_off_a_client_with_no_human_channel_is_refused_saying_how_to_enable_one(
    fx: Fixture,
) -> None:
    server = fx.server(confirm_fallback="off")
    async with Client(server, mode=fx.mode) as mcp:
        text = await fail(mcp, "place_call", **ADA_CALL)
        dry = await call(mcp, "place_call", **ADA_CALL, dry_run=True)
    assert "KUPE_CONFIRM_FALLBACK=link" in text
    assert "refused" in dry["confirmation"]
    assert fx.calls_placed() == 0


async def test_with_fallback_token_the_token_flow_is_offered_and_no_approval_is_opened(fx: Fixture) -> None:
    server = fx.server(confirm_fallback="token")
    async with Client(server, mode=fx.mode) as mcp:
        out = await call(mcp, "place_call", **ADA_CALL)
    assert out["confirmation_token"]
    assert "approval_url" not in out
    assert await card_digests_of(server) == []


async def test_the_approval_resource_shows_the_record_without_its_secret(fx: Fixture) -> None:
    server = fx.server()
    async with Client(server, mode=fx.mode, extensions=[APPS]) as mcp:
        result = await mcp.call_tool("place_call", ADA_CALL)
        out = result.structured_content or {}
        read = await mcp.read_resource(f"kupe://approvals/{out['approval_id']}")
    text = read.contents[0].text  # type: ignore[union-attr]
    nonce = (result.meta or {})["kupe/approval"]["secret"]
    (digest,) = await card_digests_of(server)
    assert f'"approval_id": "{out["approval_id"]}"' in text
    assert '"status": "pending"' in text
    assert nonce not in text
    assert digest not in text


# -- the MCP Apps confirmation card ---------------------------------------------------------------------


async def test_the_card_gets_the_secret_in_result_meta_only_and_its_approve_lets_wait_dial_once(fx: Fixture) -> None:
    server = fx.server()
    async with Client(server, mode=fx.mode, extensions=[APPS]) as mcp:
        tools = {t.name: t for t in (await mcp.list_tools()).tools}
        result = await mcp.call_tool("place_call", ADA_CALL)
        card = (result.meta or {})["kupe/approval"]
        forged = await mcp.call_tool(
            "answer_call_approval", {"approval_id": card["approval_id"], "secret": "x" * 32, "approve": True}
        )
        answered = await call(
            mcp, "answer_call_approval", approval_id=card["approval_id"], secret=card["secret"], approve=True
        )
        done = await call(mcp, "wait_for_approval", approval_id=card["approval_id"], timeout_s=5)
    assert tools["place_call"].meta == {"ui": {"resourceUri": "ui://kupe/approval-card.html"}}
    assert tools["answer_call_approval"].meta == {
        "ui": {"resourceUri": "ui://kupe/approval-card.html", "visibility": ["app"]}
    }
    assert card["secret"] not in text_of(result)
    assert forged.is_error
    assert answered["status"] == "approved"
    assert done["result"]["placed"] is True
    assert fx.calls_placed() == 1


async def test_a_link_approval_cannot_be_answered_through_the_card_tool(fx: Fixture) -> None:
    async with fx.client() as (server, mcp):
        out = await call(mcp, "place_call", **ADA_CALL)
    async with Client(server, mode=fx.mode, extensions=[APPS]) as card_client:
        text = await fail(
            card_client, "answer_call_approval", approval_id=out["approval_id"], secret="x" * 32, approve=True
        )
    assert "not answered from a card" in text
    assert fx.calls_placed() == 0


async def test_the_card_tool_is_listed_only_to_a_client_that_negotiated_apps_and_refused_to_others(
    fx: Fixture,
) -> None:
    """Only a card calls answer_call_approval, and only an MCP Apps host shows one: hidden from the others' list,
    and a call from them is -32021 naming the extension (the approval stays pending)."""
    server = fx.server()
    async with Client(server, mode=fx.mode, extensions=[APPS]) as card_client:
        card = ((await card_client.call_tool("place_call", ADA_CALL)).meta or {})["kupe/approval"]
        with_apps = {t.name for t in (await card_client.list_tools()).tools}
    async with Client(server, mode=fx.mode) as plain:
        without_apps = {t.name for t in (await plain.list_tools()).tools}
        with pytest.raises(MCPError) as refused:
            await plain.call_tool(
                "answer_call_approval", {"approval_id": card["approval_id"], "secret": card["secret"], "approve": True}
            )
    assert "answer_call_approval" in with_apps
    assert "answer_call_approval" not in without_apps
    assert "place_call" in without_apps
    assert refused.value.error.code == MISSING_REQUIRED_CLIENT_CAPABILITY
    assert refused.value.error.data == {"requiredCapabilities": {"extensions": {EXTENSION_ID: {}}}}
    (record,) = await records_of(server)
    assert record.status == "pending"
    assert fx.calls_placed() == 0


@pytest.mark.parametrize(
    "uri",
    [
        "ui://kupe/approval-card.html",
        "ui://kupe/call-card.html",
        "ui://kupe/batch-progress.html",
        "ui://kupe/usage-chart.html",
    ],
)
async def test_each_view_is_self_contained_small_and_declares_its_csp(fx: Fixture, uri: str) -> None:
    async with fx.client() as (_, mcp):
        listed = {str(r.uri): r for r in (await mcp.list_resources()).resources}
        read = await mcp.read_resource(uri)
    html = read.contents[0].text  # type: ignore[union-attr]
    assert listed[uri].mime_type == APP_MIME_TYPE
    assert len(html.encode()) < 40_000
    assert "<script src" not in html
    assert "http://" not in html
    assert "https://" not in html
    assert "innerHTML" not in html
    assert "var(--color-background-primary" in html  # the host's theme variable, with a fallback
    assert (read.contents[0].meta or {})["ui"]["csp"] == {"connectDomains": [], "resourceDomains": []}


async def test_a_client_with_apps_and_url_elicitation_gets_the_card_first(fx: Fixture) -> None:
    person = Noting(answering("decline"))
    with declared_elicitation(URL_ONLY):
        async with Client(fx.server(), mode=fx.mode, extensions=[APPS], elicitation_callback=person) as mcp:
            result = await mcp.call_tool("place_call", ADA_CALL)
    out = result.structured_content or {}
    assert out["channel"] == "app"
    assert "kupe/approval" in (result.meta or {})
    assert person.asked == []
    assert fx.calls_placed() == 0


async def test_on_a_wildcard_bind_the_page_answers_only_loopback_and_allowed_hosts() -> None:
    """Bound to 0.0.0.0 without KUPE_APPROVAL_BASE_URL: the page never trusts the request's Host (which would make
    a rebinding name same-origin with the page); KUPE_ALLOWED_HOSTS names the real one."""
    from kupe_mcp.safety.approvals import StateApprovals
    from kupe_mcp.safety.page import ApprovalDesk, approval_routes, page_hosts
    from kupe_mcp.safety.state._memory import MemoryStore

    hosts = page_hosts("0.0.0.0", None, ("mcp.example.com",))  # noqa: S104
    app = approval_routes(ApprovalDesk(StateApprovals(MemoryStore())), hosts=hosts)
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://page") as http:
        url = "/approvals/abcdefgh12345678"
        rebound = await http.get(url, headers={"host": "evil.example"})
        forged = await http.post(
            url, data={"answer": "approve"}, headers={"host": "evil.example:80", "origin": "http://evil.example:80"}
        )
        named = await http.get(url, headers={"host": "mcp.example.com"})
        loopback = await http.get(url, headers={"host": "localhost:8765"})
    assert rebound.status_code == 421
    assert forged.status_code == 421
    assert named.status_code == 404  # answered (this approval is unknown), not refused for its Host
    assert loopback.status_code == 404


async def test_with_client_proof_a_card_approval_has_no_page_to_answer_it_on(fx: Fixture) -> None:
    server = fx.server()
    async with Client(server, mode=fx.mode, extensions=[APPS]) as mcp:
        out = (await mcp.call_tool("place_call", ADA_CALL)).structured_content or {}
    url = server.runtime.approvals.link(out["approval_id"])  # the id is what the model was shown
    async with httpx2.AsyncClient(timeout=10) as http:
        page = await http.get(url)
    (record,) = await records_of(server)
    assert page.status_code == 404
    assert "name='secret'" not in page.text
    assert record.status == "pending"
    assert fx.calls_placed() == 0
