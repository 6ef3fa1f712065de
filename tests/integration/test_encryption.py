"""Encryption at rest on real Valkey: binding, KEK rotation, re-wrap, data-key rotation, vault."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agentgpt import AgentPool, Session, SessionManager
from agentgpt.agents.context import Context
from agentgpt.background_tasks import stop_task
from agentgpt.config.settings import SessionSettings
from agentgpt.errors import IntegrityError
from agentgpt.operations.rewrap import Rewrapper, start_background_rewrap
from agentgpt.security import SessionEncryptor
from agentgpt.security.aead import record_key_id
from agentgpt.security.plaintext import PlaintextKeyManager
from agentgpt.sessions.records import TurnRecord
from agentgpt.store import keys as K
from agentgpt.store import records as R
from agentgpt.store.context_store import RedisContextStore
from tests.integration.agents_for_tests import EchoAgent, VaultingAgent


def encryptor(tmp_path: Path, **kw: object) -> SessionEncryptor:
    keyset = tmp_path / "keys" / "keyset.json"
    return SessionEncryptor(f"local:{keyset}", settings=SessionSettings(), **kw)  # type: ignore[arg-type]


def manager(
    store: RedisContextStore, enc: SessionEncryptor, agent: type = EchoAgent
) -> SessionManager:
    m = SessionManager(store=store, encryption=enc)
    m.agents = AgentPool(agent, min_ready=1, max_connections=16)  # type: ignore[attr-defined]
    return m


async def test_guide_form_session_with_its_own_encryptor(
    store: RedisContextStore, tmp_path: Path
) -> None:
    enc = encryptor(tmp_path)

    class GuideManager(SessionManager):
        async def create_session(self, user_id: str) -> Session:
            return Session(id=f"guide_{user_id}", context_store=RedisContextStore(), encryption=enc)

    m = GuideManager(store=store, encryption=enc)
    session = await m.create_session("user0001")
    await m.handle(session.id, "hello encrypted world")
    client = await store.backend.connect()
    meta = await client.hgetall(K.session_keys(session.id).meta)
    assert enc.kek_ids(session.id, meta[b"dk"]) == {1}
    assert b"encrypted world" not in await client.get(K.session_keys(session.id).ctx)
    enc.forget(session.id)
    loaded = await m.load_session(session.id)
    assert loaded.context.window[-1].user == "hello encrypted world"


async def test_ciphertext_moved_to_another_session_field_or_version_fails(
    store: RedisContextStore, tmp_path: Path
) -> None:
    m = manager(store, encryptor(tmp_path))
    a, b = await m.create_session("user-a"), await m.create_session("user-b")
    for text in ("one", "two"):
        await m.handle(a.id, f"a {text}")
        await m.handle(b.id, f"b {text}")
    client = await store.backend.connect()
    ka, kb = K.session_keys(a.id), K.session_keys(b.id)
    loaded = await m.load_session(a.id)
    ctx, log = await client.get(ka.ctx), await client.lrange(ka.log, 0, -1)
    with pytest.raises(IntegrityError):  # another field: a log entry read as the context
        loaded.open(log[1], R.KIND_CONTEXT, 2, Context)
    with pytest.raises(IntegrityError):  # another version: the context of v2 read as v1
        loaded.open(ctx, R.KIND_CONTEXT, 1, Context)
    await client.set(kb.ctx, ctx)  # another session
    with pytest.raises(IntegrityError):
        await m.load_session(b.id)
    meta_a = await client.hget(ka.meta, "dk")
    await client.hset(kb.meta, "dk", meta_a)  # another session's wrapped keys
    m.key_manager.forget(b.id)
    with pytest.raises(IntegrityError):
        await m.load_session(b.id)


async def test_rotation_rewrap_and_concurrent_turns(
    store: RedisContextStore, tmp_path: Path
) -> None:
    enc = encryptor(tmp_path, key_rotation="never")
    m = manager(store, enc)
    ids = [(await m.create_session(f"user-{i}")).id for i in range(60)]
    for session_id in ids:
        await m.handle(session_id, "before rotation")
    assert (await enc.rotate()).id == 2
    rewrapper = Rewrapper(store, enc, rate=2000, batch=16)

    async def turns(session_id: str) -> int:
        for i in range(3):
            await m.handle(session_id, f"during re-wrap {i}")
        return (await m.load_session(session_id)).version

    report, *versions = await asyncio.gather(rewrapper.run_once(), *(turns(i) for i in ids[:20]))
    assert versions == [4] * 20  # every concurrent turn committed
    assert report.scanned == 60
    assert report.unreadable == 0
    assert report.rewrapped + report.conflicts == 60
    await rewrapper.run_once()  # picks up any keyring a turn raced (none expected: turns skip dk)
    census = await rewrapper.census()
    assert census == {2: 60}
    for session_id in ids:
        enc.forget(session_id)
        loaded = await m.load_session(session_id)
        assert loaded.context.window[0].user == "before rotation"
    second = await rewrapper.run_once()
    assert second.current == 60
    assert second.rewrapped == 0


async def test_long_lived_session_gets_a_new_data_key(
    store: RedisContextStore, tmp_path: Path
) -> None:
    enc = encryptor(tmp_path, key_rotation="never", data_key_rotation="1s")
    m = manager(store, enc)
    session = await m.create_session("user-long")
    await m.handle(session.id, "under the first data key")
    await asyncio.sleep(1.1)
    report = await Rewrapper(store, enc, rate=None).run_once()
    assert report.data_keys_added == 1
    await m.handle(session.id, "under the second data key")
    client = await store.backend.connect()
    log = await client.lrange(K.session_keys(session.id).log, 0, -1)
    assert [record_key_id(entry)[0] for entry in log] == [1, 2]
    enc.forget(session.id)
    loaded = await m.load_session(session.id)
    assert [x.user for x in loaded.context.window] == [
        "under the first data key", "under the second data key"
    ]  # fmt: skip
    first = loaded.open(log[0], R.KIND_LOG, 1, TurnRecord)
    assert first.user == "under the first data key"


async def test_vault_is_encrypted_under_the_session_key_with_7_day_retention(
    store: RedisContextStore, tmp_path: Path
) -> None:
    m = manager(store, encryptor(tmp_path), VaultingAgent)
    session = await m.create_session("user-vault")
    await m.handle(session.id, "DE89 3704 0044 0532 0130 00")
    client = await store.backend.connect()
    key = K.session_keys(session.id).vault(1)
    blob = await client.get(key)
    assert b"DE89" not in blob
    ttl = await client.pttl(key)
    assert 7 * 86400_000 - 60_000 < ttl <= 7 * 86400_000
    loaded = await m.load_session(session.id)
    record = loaded.open(blob, R.KIND_VAULT, 1, R.VaultRecord)
    assert record.values == {"<SECRET_1>": "DE89 3704 0044 0532 0130 00"}
    with pytest.raises(IntegrityError):  # the vault record is bound to its kind
        loaded.open(blob, R.KIND_LOG, 1, TurnRecord)


async def test_background_rewrap_follows_the_rotation_schedule(
    standalone_store: RedisContextStore, tmp_path: Path
) -> None:
    enc = encryptor(tmp_path, key_rotation="1s")
    m = manager(standalone_store, enc)
    ids = [(await m.create_session(f"user-{i}")).id for i in range(5)]
    rewrapper = Rewrapper(standalone_store, enc)
    task = rewrapper.start(interval=0.3)
    try:
        for _ in range(50):
            await asyncio.sleep(0.1)
            census = await rewrapper.census()
            if len(census) == 1 and min(census) >= 2:
                break
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    # The KEK rotated on schedule and every session's keyring followed it.
    assert len(census) == 1
    assert min(census) >= 2
    assert sum(census.values()) == len(ids)
    for session_id in ids:
        enc.forget(session_id)
        await m.load_session(session_id)


async def test_the_service_starts_the_background_rewrap_only_when_keys_rotate(
    standalone_store: RedisContextStore, tmp_path: Path
) -> None:
    # The re-wrap moved out of SessionManager.__aenter__ (operations sit above sessions):
    # the service's lifespan starts it, for a rotating encryptor only.
    assert start_background_rewrap(standalone_store, PlaintextKeyManager()) is None
    never = encryptor(tmp_path / "never", key_rotation="never")
    assert start_background_rewrap(standalone_store, never) is None
    task = start_background_rewrap(standalone_store, encryptor(tmp_path, key_rotation="1s"))
    assert task is not None
    await asyncio.sleep(0)
    assert not task.done()  # waiting for its first interval, not failed
    await stop_task(task)
    assert task.done()


async def test_turns_during_data_key_rotation_all_commit_and_stay_readable(
    store: RedisContextStore, tmp_path: Path
) -> None:
    enc = encryptor(tmp_path, key_rotation="never", data_key_rotation="1ms")
    m = manager(store, enc)
    ids = [(await m.create_session(f"user-{i}")).id for i in range(10)]
    rewrapper = Rewrapper(store, enc, rate=None, batch=4)

    async def turns(session_id: str) -> None:
        for i in range(6):
            await m.handle(session_id, f"turn {i}")
            await asyncio.sleep(0.01)  # spread the turns over several re-wrap passes

    done = asyncio.Event()

    async def passes() -> int:
        added, rounds = 0, 0
        while not done.is_set() or rounds < 2:
            added += (await rewrapper.run_once()).data_keys_added
            rounds += 1
            await asyncio.sleep(0.005)
        return added

    async def customers() -> None:
        await asyncio.gather(*(turns(i) for i in ids))
        done.set()

    added, _ = await asyncio.gather(passes(), customers())
    assert added >= 10  # every session got new data keys while its turns ran
    client = await store.backend.connect()
    newest = []
    for session_id in ids:
        enc.forget(session_id)
        loaded = await m.load_session(session_id)
        assert loaded.version == 6
        log = await client.lrange(K.session_keys(session_id).log, 0, -1)
        users = [loaded.open(e, R.KIND_LOG, n, TurnRecord).user for n, e in enumerate(log, 1)]
        assert users == [f"turn {i}" for i in range(6)]
        newest.append(max(record_key_id(e)[0] for e in log))
    assert max(newest) > 1  # turns after a data-key rotation sealed under the new key
