"""Retention, hooks, admission, bad input and isolation of ciphertexts."""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap

import pytest

from agentgpt import AgentPool, SessionManager
from agentgpt.errors import (
    IntegrityError,
    InvalidInput,
    InvalidSessionId,
    MessageTooLarge,
    SessionLimitExceeded,
    SessionNotFound,
)
from agentgpt.sessions.hooks import Event
from agentgpt.store import keys as K
from agentgpt.store.context_store import RedisContextStore
from tests.integration.agents_for_tests import EchoAgent, VaultingAgent


def manager(store: RedisContextStore, agent: type = EchoAgent, **kw: object) -> SessionManager:
    m = SessionManager(store=store, **kw)  # type: ignore[arg-type]
    m.agents = AgentPool(agent, min_ready=1, max_connections=8)  # type: ignore[attr-defined]
    return m


async def test_sensitive_data_expires_before_the_rest(store: RedisContextStore) -> None:
    m = manager(store, VaultingAgent, session_ttl=3, sensitive_ttl=1)
    session = await m.create_session("user-ttl")
    await m.handle(session.id, "DE89 3704 0044 0532 0130 00")
    assert await store.read_vault(session.id, 1) is not None
    loaded = await m.load_session(session.id)
    assert loaded.context.window[0].user == "<SECRET_1>"  # context keeps the placeholder
    await asyncio.sleep(1.3)
    assert await store.read_vault(session.id, 1) is None
    assert (await m.load_session(session.id)).version == 1
    await asyncio.sleep(2.0)
    with pytest.raises(SessionNotFound):
        await m.load_session(session.id)


async def test_admission_limit(store: RedisContextStore) -> None:
    m = manager(store, max_concurrent_sessions=3)
    for i in range(3):
        await m.create_session(f"user-{i}")
    with pytest.raises(SessionLimitExceeded):
        await m.create_session("one-too-many")
    assert await m.count_active() == 3


@pytest.mark.parametrize(
    "bad_id", ["a}b{", "*", "../x", "x" * 10_240, "", "sess id with spaces", "ünïcødé-id"]
)
async def test_bad_session_ids_are_refused_and_nothing_written(
    standalone_store: RedisContextStore, bad_id: str
) -> None:
    m = manager(standalone_store)
    client = await standalone_store.backend.connect()
    before = await client.dbsize()
    with pytest.raises(InvalidSessionId):
        await m.handle(bad_id, "hello")
    with pytest.raises(InvalidSessionId):
        await m.load_session(bad_id)
    assert await client.dbsize() == before


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", InvalidInput),
        ("   \n", InvalidInput),
        (b"\xff\xfe bad utf-8", InvalidInput),
        ("x" * 9000, MessageTooLarge),
        (12345, InvalidInput),
        (None, InvalidInput),
        ("\ud800 lone surrogate", InvalidInput),
    ],
)
async def test_bad_messages_are_refused_and_nothing_written(
    standalone_store: RedisContextStore, text: object, error: type[Exception]
) -> None:
    m = manager(standalone_store)
    session = await m.create_session("user-bad-input")
    client = await standalone_store.backend.connect()
    before = await client.dbsize()
    with pytest.raises(error):
        await m.handle(session.id, text)
    assert await client.dbsize() == before
    assert (await m.load_session(session.id)).version == 0


async def test_unknown_session_is_not_found_and_nothing_written(
    standalone_store: RedisContextStore,
) -> None:
    m = manager(standalone_store)
    client = await standalone_store.backend.connect()
    with pytest.raises(SessionNotFound):
        await m.handle("sess_doesnotexist0000000000", "hello")
    assert await client.dbsize() == 0


async def test_ciphertext_copied_to_another_session_does_not_decrypt(
    store: RedisContextStore,
) -> None:
    m = manager(store)
    a = await m.create_session("user-a")
    b = await m.create_session("user-b")
    await m.handle(a.id, "secret of a")
    await m.handle(b.id, "hello from b")
    client = await store.backend.connect()
    blob = await client.get(K.session_keys(a.id).ctx)
    await client.set(K.session_keys(b.id).ctx, blob)
    with pytest.raises(IntegrityError):
        await m.load_session(b.id)


async def test_records_are_encrypted_at_rest(standalone_store: RedisContextStore) -> None:
    m = manager(standalone_store)
    session = await m.create_session("user-enc")
    await m.handle(session.id, "my very recognisable message")
    client = await standalone_store.backend.connect()
    keys = K.session_keys(session.id)
    stored = [await client.get(keys.ctx), *await client.lrange(keys.log, 0, -1)]
    assert all(b"recognisable" not in blob for blob in stored)


async def test_timeout_and_expired_hooks_fire_once_after_creator_is_gone(
    standalone_url: str, home: str
) -> None:
    script = textwrap.dedent(f"""
        import asyncio
        from agentgpt import SessionManager
        from agentgpt.store.context_store import RedisContextStore
        async def main():
            m = SessionManager(store=RedisContextStore({standalone_url!r}), session_ttl=2,
                               idle_timeout=1)
            s = await m.create_session("user-gone")
            await m.handle(s.id, "hello")
            print(s.id)
        asyncio.run(main())
    """)
    env = {**os.environ, "AGENTGPT_HOME": home}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, env=env, stdout=asyncio.subprocess.PIPE
    )
    stdout, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0
    session_id = stdout.decode().strip()
    store = RedisContextStore(standalone_url).with_retention()
    m = SessionManager(store=store, session_ttl=2, idle_timeout=1, sweep_interval=0.1)
    seen: list[Event] = []
    m.register_hook(event="timeout", callback=seen.append)

    async def on_expired(event: Event) -> None:
        seen.append(event)

    m.register_hook(event="expired", callback=on_expired)
    async with m:
        for _ in range(60):
            kinds = {e.event.value for e in seen if e.session_id == session_id}
            if kinds >= {"timeout", "expired"}:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # further sweeps must not fire again
    mine = [e.event.value for e in seen if e.session_id == session_id]
    assert sorted(mine) == ["expired", "timeout"]
