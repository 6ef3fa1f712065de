"""``session verify`` against real Valkey: each kind of damage is found and named."""

from __future__ import annotations

import asyncio
import json

import pytest

from agentgpt import AgentPool, SessionManager
from agentgpt.cli.app import main
from agentgpt.errors import SessionNotFound
from agentgpt.operations.verify import verify_sample, verify_session
from agentgpt.store import keys as K
from agentgpt.store.context_store import RedisContextStore
from tests.integration.agents_for_tests import VaultingAgent


def manager(store: RedisContextStore) -> SessionManager:
    m = SessionManager(store=store)
    m.agents = AgentPool(VaultingAgent, min_ready=1, max_connections=8)  # type: ignore[attr-defined]
    return m


async def session_with_turns(m: SessionManager, user: str, turns: int) -> str:
    session = await m.create_session(user)
    for i in range(turns):
        await m.handle(session.id, f"{user} says DE89 3704 0044 0532 0130 0{i}")
    return session.id


def problems(report: object) -> set[tuple[str, str]]:
    return {(f.key, f.problem) for f in report.findings}  # type: ignore[attr-defined]


async def test_sound_session_verifies_clean(store: RedisContextStore) -> None:
    m = manager(store)
    sid = await session_with_turns(m, "user-sound", 5)
    report = await verify_session(store, m.key_manager, sid)
    assert report.findings == []
    assert report.sound
    assert report.version == 5
    assert report.records_checked == 1 + 5 + 5  # context, log entries, vault records


async def test_one_corrupt_byte_is_named(store: RedisContextStore) -> None:
    m = manager(store)
    sid = await session_with_turns(m, "user-byte", 4)
    keys = K.session_keys(sid)
    client = await store.backend.connect()
    entry = bytearray(await client.lindex(keys.log, 2))
    entry[len(entry) // 2] ^= 0x01
    await client.lset(keys.log, 2, bytes(entry))
    vault = bytearray(await client.get(keys.vault(1)))
    vault[-1] ^= 0x80
    await client.set(keys.vault(1), bytes(vault), keepttl=True)

    report = await verify_session(store, m.key_manager, sid)
    found = problems(report)
    assert (keys.log, "auth-failed") in found
    assert (keys.vault(1), "auth-failed") in found
    assert any(f.field.startswith("index 2") for f in report.findings)
    # the altered entry changes its hash, so the entry after it no longer chains
    assert (keys.log, "chain-broken") in found


async def test_records_swapped_between_sessions_are_named(store: RedisContextStore) -> None:
    m = manager(store)
    a = await session_with_turns(m, "user-swap-a", 2)
    b = await session_with_turns(m, "user-swap-b", 2)
    ka, kb = K.session_keys(a), K.session_keys(b)
    client = await store.backend.connect()
    ctx_a, ctx_b = await client.get(ka.ctx), await client.get(kb.ctx)
    await client.set(ka.ctx, ctx_b, keepttl=True)
    await client.set(kb.ctx, ctx_a, keepttl=True)

    for sid, keys in ((a, ka), (b, kb)):
        report = await verify_session(store, m.key_manager, sid)
        assert problems(report) == {(keys.ctx, "auth-failed")}
        assert report.findings[0].field == "v2"


async def test_deleted_log_entry_is_named(store: RedisContextStore) -> None:
    m = manager(store)
    sid = await session_with_turns(m, "user-delete", 5)
    keys = K.session_keys(sid)
    client = await store.backend.connect()
    victim = await client.lindex(keys.log, 2)  # seq 3
    assert await client.lrem(keys.log, 1, victim) == 1

    report = await verify_session(store, m.key_manager, sid)
    found = {(f.key, f.field, f.problem) for f in report.findings}
    assert (keys.log, "seq 4", "seq-gap") in found
    assert (keys.log, "seq 4", "chain-broken") in found
    assert (keys.log, "length", "length-mismatch") in found
    assert "entry 3 is missing" in next(f.detail for f in report.findings if f.problem == "seq-gap")


async def test_stripped_ttl_is_named(store: RedisContextStore) -> None:
    m = manager(store)
    sid = await session_with_turns(m, "user-ttl", 2)
    keys = K.session_keys(sid)
    client = await store.backend.connect()
    await client.persist(keys.ctx)
    await client.persist(keys.vault(2))
    report = await verify_session(store, m.key_manager, sid)
    assert problems(report) == {(keys.ctx, "no-ttl"), (keys.vault(2), "no-ttl")}
    await client.pexpire(keys.vault(1), store.sensitive_ms + 60_000)
    report = await verify_session(store, m.key_manager, sid)
    assert (keys.vault(1), "ttl-too-long") in problems(report)


async def test_missing_session_and_sample(store: RedisContextStore) -> None:
    m = manager(store)
    with pytest.raises(SessionNotFound):
        await verify_session(store, m.key_manager, "sess_doesnotexist0000000000")
    ids = [await session_with_turns(m, f"user-sample-{i}", 1) for i in range(6)]
    await (await store.backend.connect()).persist(K.session_keys(ids[0]).log)
    reports = await verify_sample(store, m.key_manager, 4)
    assert len({r.session_id for r in reports}) == 4
    assert {r.session_id for r in reports} <= set(ids)
    everything = await verify_sample(store, m.key_manager, 100)
    assert [r.session_id for r in everything if not r.sound] == [ids[0]]


def store_url(store: RedisContextStore) -> str:
    settings = store.settings
    if settings.cluster_mode:
        return "redis+cluster://" + ",".join(settings.nodes)
    assert settings.url is not None
    return settings.url


async def test_cli_exit_codes(store: RedisContextStore, capsys: pytest.CaptureFixture[str]) -> None:
    m = manager(store)
    sid = await session_with_turns(m, "user-cli", 3)
    url = store_url(store)

    async def cli(*args: str) -> int:
        # main() runs its own event loop: give it a thread of its own.
        return await asyncio.to_thread(main, ["session", "verify", "--url", url, *args])

    assert await cli("--id", sid) == 0
    assert "sound" in capsys.readouterr().out
    assert await cli("--id", "sess_doesnotexist0000000000") == 2
    assert "does not exist" in capsys.readouterr().err
    await (await store.backend.connect()).persist(K.session_keys(sid).log)
    assert await cli("--id", sid) == 1
    out = capsys.readouterr().out
    assert "CORRUPT" in out
    assert f"{K.session_keys(sid).log} [ttl]: no-ttl" in out
    assert await cli("--all", "--sample", "5", "--json") == 1
    report = json.loads(capsys.readouterr().out)
    assert report["sound"] is False
    assert report["sessions"][0]["findings"][0]["problem"] == "no-ttl"


async def test_long_log_is_paged_and_metadata_tampering_named(
    standalone_store: RedisContextStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentgpt.operations import verify as V

    monkeypatch.setattr(V, "PAGE", 3)  # 10 entries over 4 pages: gaps across page borders
    m = manager(standalone_store)
    sid = await session_with_turns(m, "user-long", 10)
    assert (await verify_session(standalone_store, m.key_manager, sid)).sound
    keys = K.session_keys(sid)
    client = await standalone_store.backend.connect()
    assert await client.lrem(keys.log, 1, await client.lindex(keys.log, 6)) == 1  # seq 7
    await client.hset(keys.meta, mapping={"fence_issued": 1, "head": b"\x00" * 32})

    report = await verify_session(standalone_store, m.key_manager, sid)
    found = {(f.field, f.problem) for f in report.findings}
    assert ("seq 8", "seq-gap") in found
    assert ("seq 8", "chain-broken") in found
    assert ("seq 2", "fence-unissued") in found
    assert ("head", "head-mismatch") in found


async def test_verify_while_turns_are_committed(store: RedisContextStore) -> None:
    m = manager(store)
    sid = await session_with_turns(m, "user-busy", 1)

    async def talk() -> None:
        for i in range(40):
            await m.handle(sid, f"busy {i}")

    talking = asyncio.create_task(talk())
    reports = []
    while not talking.done():
        reports.append(await verify_session(store, m.key_manager, sid))
    await talking
    assert len(reports) >= 2
    assert [r.findings for r in reports if not r.sound] == []
    assert len({r.version for r in reports}) >= 2  # it did read a moving session
