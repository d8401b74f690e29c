"""Idempotent dials and what the stores keep, on memory, SQLite and a real Redis.

A retried place_call or start_batch with the same ``idempotency_key`` returns the first outcome and never dials
again; other arguments under the key are refused; a lost answer keeps the key as "outcome unknown". A dump of each
store after approvals, a card and a passkey holds no secret: no card nonce, no enrolment code, no challenge, no key.
"""

from __future__ import annotations

import json
from contextlib import AbstractAsyncContextManager
from typing import Any

import mcp_types as types
import pytest
from mcp.client import Client
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from pydantic import SecretStr

from kupe_mcp.errors import CallOutcomeUnknown
from kupe_mcp.safety.passkeys import RelyingParty
from kupe_mcp.safety.state import StateStore
from kupe_mcp.sandbox import DEMO_API_KEY
from kupe_mcp.serve.server import KupeServer
from tests._approvals import form_client
from tests._mcp import call, fail, new_batch, say_yes
from tests._safety import ADA_CALL
from tests.conftest import ServerFactory

pytestmark = pytest.mark.anyio

CREATE_CALL = ("POST", "/api/call/create_call")


def dials(sandbox_app: Any) -> int:
    return list(sandbox_app.state.sandbox.request_log).count(CREATE_CALL)


def saying_yes(make_server: ServerFactory, store: StateStore, toolset: str) -> AbstractAsyncContextManager[Client]:
    """A client whose person says yes to every question, on a server of ``toolset`` keeping its state in ``store``."""
    return form_client(make_server(state=store, toolsets=(toolset,)), "auto", say_yes)


async def test_the_same_key_and_arguments_return_the_first_outcome_and_never_dial_again(
    make_server: ServerFactory, sandbox_app: Any, store: StateStore
) -> None:
    async with saying_yes(make_server, store, "calls") as mcp:
        first = await call(mcp, "place_call", **ADA_CALL, idempotency_key="retry-0001")
        again = await call(mcp, "place_call", **ADA_CALL, idempotency_key="retry-0001")
        refused = await fail(
            mcp, "place_call", **{**ADA_CALL, "phone_number": "+919876543211"}, idempotency_key="retry-0001"
        )
        other = await call(
            mcp, "place_call", **{**ADA_CALL, "phone_number": "+919876543211"}, idempotency_key="retry-0002"
        )
    assert first["placed"] is True
    assert again == first
    assert "already used for a place_call with other arguments" in refused
    assert other["placed"] is True
    assert other["request_id"] != first["request_id"]
    assert dials(sandbox_app) == 2


async def test_a_key_longer_than_256_characters_is_refused_before_anything_is_dialled(
    make_server: ServerFactory, sandbox_app: Any, store: StateStore
) -> None:
    """The cap is checked in code rather than listed as maxLength (bytes every listing would pay for)."""
    async with saying_yes(make_server, store, "calls") as mcp:
        refused = await fail(mcp, "place_call", **ADA_CALL, idempotency_key="k" * 257)
    assert "idempotency_key is at most 256 characters" in refused
    assert dials(sandbox_app) == 0


async def test_a_pending_approval_is_the_outcome_a_retry_gets(
    make_server: ServerFactory, sandbox_app: Any, store: StateStore
) -> None:
    server = make_server(state=store, toolsets=("calls",))
    async with Client(server) as mcp:  # no elicitation: a link approval
        first = await call(mcp, "place_call", **ADA_CALL, idempotency_key="retry-0003")
        again = await call(mcp, "place_call", **ADA_CALL, idempotency_key="retry-0003")
    assert first["approval_required"] is True
    assert again["approval_id"] == first["approval_id"]
    assert dials(sandbox_app) == 0


async def test_a_lost_answer_keeps_its_key_as_outcome_unknown(
    make_server: ServerFactory, sandbox_app: Any, store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = make_server(state=store, toolsets=("calls",))
    from kupe_mcp.client import KupeClient

    real = KupeClient.create_call

    async def lost(self: Any, *args: Any, **kwargs: Any) -> Any:
        await real(self, *args, **kwargs)  # Kupe dials ...
        raise CallOutcomeUnknown(
            "the connection dropped", method="POST", path="/api/call/create_call"
        )  # ... and its answer is lost

    monkeypatch.setattr(KupeClient, "create_call", lost)
    async with form_client(server, "auto", say_yes) as mcp:
        broken = await mcp.call_tool("place_call", {**ADA_CALL, "idempotency_key": "retry-0004"})
        monkeypatch.setattr(KupeClient, "create_call", real)
        retried = await call(mcp, "place_call", **ADA_CALL, idempotency_key="retry-0004")
    assert broken.is_error
    assert retried["placed"] is False
    assert retried["outcome_unknown"] is True
    assert dials(sandbox_app) == 1


async def test_a_batch_retried_with_its_key_starts_once(
    make_server: ServerFactory, sandbox_app: Any, store: StateStore
) -> None:
    async with saying_yes(make_server, store, "campaigns") as mcp:
        rows = [{"phone_number": "+919876543210", "variables": {"name": "Ada", "appointment_date": "2 May"}}]
        bid = await new_batch(mcp, "Retry", rows)
        first = await call(mcp, "start_batch", batch_id=bid, idempotency_key="batch-0001")
        again = await call(mcp, "start_batch", batch_id=bid, idempotency_key="batch-0001")
    starts = [p for p in sandbox_app.state.sandbox.request_log if p[1].startswith("/api/v1/batch-call/start/")]
    assert first["started"] is True
    assert again == first
    assert len(starts) == 1


async def dump(server: KupeServer, store: StateStore) -> str:
    """Everything kept: every value of the store (memory dicts, the SQLite file and its WAL, every Redis key);
    approvals are values of the store like any other."""
    raw = getattr(store, "_values", None)
    if raw is not None:
        return json.dumps({repr(k): v[0] for k, v in raw.items()}, default=str)
    path = getattr(store, "path", None)
    if path is not None:
        files = [path, path.with_name(path.name + "-wal")]
        return "".join(f.read_bytes().decode("utf-8", "replace") for f in files if f.exists())
    client = store._redis()  # type: ignore[attr-defined]
    out = []
    async for key in client.scan_iter("*"):
        kind = await client.type(key)
        value = await client.get(key) if kind in {b"string", "string"} else await client.dump(key)
        out.append(f"{key!r}={value!r}")
    return "\n".join(out)


async def test_a_dump_of_the_store_holds_no_secret(make_server: ServerFactory, store: StateStore) -> None:
    server: KupeServer = make_server(state=store, toolsets=("calls",))
    apps = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
    async with Client(server, extensions=[apps]) as mcp:
        result = await mcp.call_tool("place_call", ADA_CALL)
        nonce = (result.meta or {})["kupe/approval"]["secret"]
    passkeys = server.runtime.approvals.passkeys
    assert passkeys is not None
    code = await passkeys.enrolment_code("user:someone")
    options = await passkeys.registration_options("user:someone", RelyingParty("localhost", "http://localhost:1"), "x")
    text = await dump(server, store)
    assert (result.structured_content or {})["approval_id"] in text  # the dump does see the records
    for secret in (nonce, code, options["challenge"], DEMO_API_KEY):
        assert secret not in text
    assert isinstance(result, types.CallToolResult)


async def test_passkeys_codes_and_challenges_made_on_one_replica_are_used_once_on_another(store: StateStore) -> None:
    """Replicas share one store and KUPE_STATE_SECRET: what one issues the other honours, once."""
    from kupe_mcp.safety.approvals import ApprovalProblem
    from kupe_mcp.safety.clock import utc_now
    from kupe_mcp.safety.passkeys import Passkey, Passkeys
    from kupe_mcp.safety.state import StateKeys

    keys = StateKeys.from_secret("the-same-secret-on-every-replica")
    one, other = Passkeys(store, keys), Passkeys(store, keys)
    code = await one.enrolment_code("user:ada")
    assert await other.tenant_of_code(code) == "user:ada"
    assert await one.tenant_of_code(code) is None  # used up

    await one._save("user:ada", [Passkey(id="a1", public_key="k", sign_count=0, name="phone", created_at=utc_now())])
    assert [p.name for p in await other.enrolled("user:ada")] == ["phone"]
    assert await other.enrolled("user:bob") == []
    await other.rename("user:ada", "a1", "  work   phone ")
    assert [p.name for p in await one.enrolled("user:ada")] == ["work phone"]
    with pytest.raises(ApprovalProblem):
        await one.revoke("user:bob", "a1")  # another tenant's passkey is unknown to bob
    await one.revoke("user:ada", "a1")
    assert await other.enrolled("user:ada") == []


# -- rotating KUPE_STATE_SECRET (the old one in KUPE_STATE_SECRET_PREVIOUS) ---------------------------------------

OLD_SECRET, NEW_SECRET = "old-state-secret-0123456789abcdef", "new-state-secret-0123456789abcdef"


def before_and_during_rotation(
    make_server: ServerFactory, store: StateStore, **settings: Any
) -> tuple[KupeServer, KupeServer]:
    """Two servers on one store: one keyed by the old secret, one by the new secret while it still reads the old."""
    before = make_server(state=store, toolsets=("calls",), state_secret=SecretStr(OLD_SECRET), **settings)
    rotating = make_server(
        state=store,
        toolsets=("calls",),
        state_secret=SecretStr(NEW_SECRET),
        state_secret_previous=(SecretStr(OLD_SECRET),),
        **settings,
    )
    return before, rotating


async def test_a_retry_after_the_state_secret_was_rotated_gets_the_first_outcome_and_dials_nothing_more(
    make_server: ServerFactory, sandbox_app: Any, store: StateStore
) -> None:
    before, rotating = before_and_during_rotation(make_server, store)
    async with form_client(before, "auto", say_yes) as mcp:
        first = await call(mcp, "place_call", **ADA_CALL, idempotency_key="retry-rotation")
    async with form_client(rotating, "auto", say_yes) as mcp:
        again = await call(mcp, "place_call", **ADA_CALL, idempotency_key="retry-rotation")
        refused = await fail(
            mcp, "place_call", **{**ADA_CALL, "phone_number": "+919876543211"}, idempotency_key="retry-rotation"
        )
    assert first["placed"] is True
    assert again == first
    assert "already used for a place_call with other arguments" in refused
    assert dials(sandbox_app) == 1


async def test_a_confirmation_token_issued_before_the_rotation_is_redeemed_once_after_it(
    make_server: ServerFactory, sandbox_app: Any, store: StateStore
) -> None:
    before, rotating = before_and_during_rotation(make_server, store, confirm_fallback="token")
    async with Client(before) as mcp:
        token = (await call(mcp, "place_call", **ADA_CALL))["confirmation_token"]
    async with Client(rotating) as mcp:
        placed = await call(mcp, "place_call", **ADA_CALL, confirmation_token=token)
        replayed = await fail(mcp, "place_call", **ADA_CALL, confirmation_token=token)
    assert placed["placed"] is True
    assert "confirmation_token" in replayed
    assert dials(sandbox_app) == 1
