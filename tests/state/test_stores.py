"""Every state store keeps the promises the call-safety flow relies on: single use, atomic caps, tenants apart."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest

from kupe_mcp.errors import CallRefused, ConfigError, StateUnavailable
from kupe_mcp.safety.rules import Recent, Slot
from kupe_mcp.safety.state import StateStore, default_state_url, open_store, redacted_url
from tests._redis import RedisServer

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
A, B = "user:alice", "user:bob"


def slot(sid: str, count: int = 1, at: datetime = NOW, numbers: tuple[str, ...] = ("+919876543210",)) -> Slot:
    return Slot(sid, at, count, numbers)


def cap(limit: int):  # type: ignore[no-untyped-def]
    def check(recent: Recent) -> None:
        if sum(s.count for s in recent.slots) + 1 > limit:
            raise CallRefused("over the cap")

    return check


async def test_a_value_taken_by_many_at_once_is_taken_exactly_once(store: StateStore) -> None:
    await store.put(A, "token:t1", {"digest": "d"}, expires=NOW + timedelta(minutes=5))
    got: list[object] = []

    async def take() -> None:
        got.append(await store.take(A, "token:t1", now=NOW))

    async with anyio.create_task_group() as tg:
        for _ in range(12):
            tg.start_soon(take)
    assert [g for g in got if g is not None] == [{"digest": "d"}]
    assert await store.take(A, "token:t1", now=NOW) is None


async def test_an_expired_value_is_gone_and_another_tenant_cannot_see_or_take_it(store: StateStore) -> None:
    await store.put(A, "k", {"v": 1}, expires=NOW + timedelta(seconds=10))
    assert await store.take(B, "k", now=NOW) is None
    assert await store.get(A, "k", now=NOW) == {"v": 1}
    assert await store.get(A, "k", now=NOW + timedelta(seconds=10)) is None
    assert await store.put_new(A, "k", {"v": 2}, expires=NOW + timedelta(minutes=1), now=NOW + timedelta(seconds=11))
    assert not await store.put_new(A, "k", {"v": 3}, expires=NOW + timedelta(minutes=1), now=NOW)
    assert await store.get(A, "k", now=NOW) == {"v": 2}


async def test_concurrent_holds_under_a_cap_of_five_hold_exactly_five(store: StateStore) -> None:
    held, refused = [], []

    async def hold(i: int) -> None:
        try:
            await store.hold(A, slot(f"s{i}"), cap(5), now=NOW)
            held.append(i)
        except CallRefused:
            refused.append(i)

    async with anyio.create_task_group() as tg:
        for i in range(20):
            tg.start_soon(hold, i)
    assert len(held) == 5
    assert len(refused) == 15
    assert len((await store.recent(A, now=NOW)).slots) == 5


async def test_slots_are_per_tenant_but_everyone_counts_for_the_operator_cap(store: StateStore) -> None:
    await store.hold(A, slot("a1", count=3), cap(100), now=NOW)
    await store.hold(B, slot("b1", count=2), cap(100), now=NOW)
    mine = await store.recent(B, now=NOW)
    assert [s.id for s in mine.slots] == ["b1"]
    assert sorted(n for _, n in mine.everyone) == [2, 3]


async def test_a_settled_slot_keeps_counting_with_its_ref_and_a_released_one_is_gone(store: StateStore) -> None:
    await store.hold(A, slot("s1"), cap(10), now=NOW)
    await store.hold(A, slot("s2"), cap(10), now=NOW)
    await store.settle(A, "s1", ref="request_id r-1", state="unknown")
    await store.release(A, "s2")
    (kept,) = (await store.recent(A, now=NOW)).slots
    assert (kept.id, kept.ref, kept.state) == ("s1", "request_id r-1", "unknown")
    assert (await store.recent(A, now=NOW + timedelta(hours=1, seconds=1))).slots == ()


def test_the_store_is_chosen_from_its_url_in_one_place(tmp_path: Path) -> None:
    assert "memory" in open_store("memory:", secret_set=False).describe()
    assert str(tmp_path / "s.db") in open_store(f"sqlite://{tmp_path / 's.db'}", secret_set=False).describe()
    with pytest.raises(ConfigError, match="KUPE_STATE_SECRET is not set"):
        open_store("redis://127.0.0.1:6379/0", secret_set=False)
    with pytest.raises(ConfigError, match="not a state store"):
        open_store("postgres://u:pw@db/x", secret_set=False)
    assert "pw" not in redacted_url("redis://:pw@127.0.0.1:6379/0")


def test_stdio_defaults_to_a_file_in_the_state_directory_and_http_to_memory(tmp_path: Path) -> None:
    url = default_state_url("stdio", {"XDG_STATE_HOME": str(tmp_path)})
    assert url == f"sqlite://{tmp_path}/kupe-app-mcp/call-safety.sqlite3"
    assert default_state_url("http", {"XDG_STATE_HOME": str(tmp_path)}) == "memory:"


async def test_an_unreachable_redis_refuses_with_one_sentence_and_names_no_password() -> None:
    store = open_store("redis://:hunter2@127.0.0.1:1/0", secret_set=True)
    with pytest.raises(StateUnavailable) as caught:
        await store.recent(A, now=NOW)
    text = str(caught.value)
    assert text.startswith("Refused: the call-safety state store (redis://***@127.0.0.1:1/0) cannot be reached")
    assert "nothing was dialled" in text
    assert "hunter2" not in text
    await store.aclose()


def test_state_settings_read_from_the_environment_and_a_short_secret_is_refused_without_echoing_it() -> None:
    from kupe_mcp.config import Settings

    settings = Settings.from_env(
        {
            "KUPE_STATE_URL": "redis://127.0.0.1:6379/0",
            "KUPE_STATE_SECRET": "s" * 32,
            "KUPE_MAX_CALLS_PER_HOUR_TOTAL": "off",
            "KUPE_APPROVAL_RETENTION_DAYS": "7",
        }
    )
    assert settings.state_url == "redis://127.0.0.1:6379/0"
    assert settings.state_secret is not None
    assert settings.max_calls_per_hour_total is None
    assert settings.approval_retention_days == 7
    assert Settings.from_env({"KUPE_MAX_CALLS_PER_HOUR_TOTAL": "500"}).max_calls_per_hour_total == 500
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"KUPE_STATE_SECRET": "short-secret"})
    assert "KUPE_STATE_SECRET is not a secret of at least 16 characters" in str(caught.value)
    assert "short-secret" not in str(caught.value)


def test_earlier_state_secrets_are_read_as_a_list_and_need_a_current_secret_beside_them() -> None:
    from kupe_mcp.config import Settings
    from kupe_mcp.safety.state import StateKeys

    old, older, new = "o" * 32, "p" * 20, "n" * 32
    settings = Settings.from_env({"KUPE_STATE_SECRET": new, "KUPE_STATE_SECRET_PREVIOUS": f"{old}, {older}"})
    keys = StateKeys.from_secret(*settings.state_keys_secrets)
    with pytest.raises(ConfigError) as alone:
        Settings.from_env({"KUPE_STATE_SECRET_PREVIOUS": old})
    with pytest.raises(ConfigError) as short:
        Settings.from_env({"KUPE_STATE_SECRET": new, "KUPE_STATE_SECRET_PREVIOUS": f"{old},too-short"})
    assert keys.all_secrets == (new.encode(), old.encode(), older.encode())
    assert keys.token_id("t") == StateKeys.from_secret(new).token_id("t")  # written under the new secret only
    assert keys.token_ids("t")[1:] == (
        StateKeys.from_secret(old).token_id("t"),
        StateKeys.from_secret(older).token_id("t"),
    )
    assert str(alone.value) == (
        "KUPE_STATE_SECRET_PREVIOUS is set but KUPE_STATE_SECRET is not: set the new secret too (earlier secrets are "
        "only read, never written)."
    )
    assert "KUPE_STATE_SECRET_PREVIOUS is not a comma list of secrets of at least 16 characters each" in str(
        short.value
    )
    assert "too-short" not in str(short.value)
    assert old not in repr(settings)


def test_start_up_refuses_a_shared_store_without_a_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kupe_mcp.__main__ import main

    for name in ("KUPE_API_KEY", "KUPE_BEARER_TOKEN", "KUPE_STATE_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KUPE_STATE_URL", "redis://127.0.0.1:6379/0")
    assert main(["--transport", "http", "--port", "1"]) == 2
    assert "KUPE_STATE_SECRET is not set" in capsys.readouterr().err


async def test_a_replica_holding_on_a_snapshot_another_replica_outdated_sees_the_new_slot(
    redis_server: RedisServer,
) -> None:
    """The Redis hold reuses the plan's read; a rival's write in between must make it judge again, not squeeze in."""
    redis_server.flush()
    one, two = open_store(redis_server.url, secret_set=True), open_store(redis_server.url, secret_set=True)
    try:
        assert (await one.recent(A, now=NOW)).slots == ()  # replica one plans on an empty hour
        await two.hold(A, slot("theirs"), cap(1), now=NOW)
        with pytest.raises(CallRefused):
            await one.hold(A, slot("mine"), cap(1), now=NOW)
        await two.hold(B, slot("b", count=4), cap(10), now=NOW, everyone=False)
        seen: list[int] = []

        def operator_cap(recent: Recent) -> None:
            seen.append(sum(n for _, n in recent.everyone))

        await one.recent(A, now=NOW)
        await two.hold(B, slot("b2", count=2), cap(10), now=NOW, everyone=False)
        await one.hold(A, slot("a2"), operator_cap, now=NOW)
        assert seen[-1] == 7  # everyone's slots as they are now, B's second hold included
        assert sorted(s.id for s in (await two.recent(A, now=NOW)).slots) == ["a2", "theirs"]  # same time: no order
    finally:
        await one.aclose()
        await two.aclose()


async def test_redis_scripts_survive_a_script_flush_and_settle_keeps_the_slot_time_exact(
    redis_server: RedisServer,
) -> None:
    redis_server.flush()
    store = open_store(redis_server.url, secret_set=True)
    at = datetime(2026, 3, 10, 7, 59, 58, 123457, tzinfo=UTC)
    try:
        await store.hold(A, slot("s1", at=at), cap(5), now=NOW)
        with socket.create_connection(("127.0.0.1", redis_server.port), timeout=2) as conn:
            conn.sendall(b"SCRIPT FLUSH\r\n")
            assert conn.recv(16).startswith(b"+OK")
        await store.settle(A, "s1", ref="request_id r-9", state="placed")
        (kept,) = (await store.recent(A, now=NOW)).slots
        assert (kept.at, kept.ref, kept.state) == (at, "request_id r-9", "placed")
        await store.release(A, "s1")
        assert (await store.recent(A, now=NOW)) == Recent()
    finally:
        await store.aclose()
