"""Idempotent turns against real Valkey: a retry with the same key stores nothing new."""

from __future__ import annotations

import asyncio

import pytest

from agentgpt import AgentPool, SessionManager
from agentgpt.errors import InvalidInput
from agentgpt.store import keys as K
from agentgpt.store.context_store import RedisContextStore
from tests.integration.agents_for_tests import EchoAgent


def manager(store: RedisContextStore) -> SessionManager:
    m = SessionManager(store=store)
    m.agents = AgentPool(EchoAgent, min_ready=2, max_connections=8)  # type: ignore[attr-defined]
    return m


async def test_a_retry_replays_the_answer_and_stores_nothing(store: RedisContextStore) -> None:
    m = manager(store)
    session = await m.create_session("idem-user")
    first = await m.handle(session.id, "pay my card bill", idempotency_key="k-1")
    again = await m.handle(session.id, "pay my card bill", idempotency_key="k-1")
    assert (again.seq, again.reply, again.intent) == (first.seq, first.reply, first.intent)
    other = await m.handle(session.id, "pay my card bill", idempotency_key="k-2")
    assert other.seq == 2
    assert (await m.load_session(session.id)).version == 2
    assert len(await store.read_log(session.id)) == 2


async def test_a_retry_racing_its_first_attempt_waits_and_replays(
    store: RedisContextStore,
) -> None:
    m = manager(store)
    session = await m.create_session("idem-race")
    answers = await asyncio.gather(
        *(m.handle(session.id, "hello", idempotency_key="same") for _ in range(5))
    )
    assert {a.seq for a in answers} == {1}
    assert len(await store.read_log(session.id)) == 1


async def test_erase_removes_the_remembered_keys(store: RedisContextStore) -> None:
    m = manager(store)
    session = await m.create_session("idem-erase")
    await m.handle(session.id, "hello", idempotency_key="to-be-erased")
    client = await store.backend.connect()
    idem = K.session_keys(session.id).idempotency
    assert await client.exists(idem) == 1
    ttl_ms = await client.pttl(idem)
    lease_ms = m.settings.lock_lease.total_seconds() * 1000
    assert ttl_ms >= lease_ms + 5000
    await m.erase(session.id)
    assert await client.exists(idem) == 0


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "é"])
async def test_bad_keys_are_refused(store: RedisContextStore, key: str) -> None:
    m = manager(store)
    session = await m.create_session("idem-bad")
    with pytest.raises(InvalidInput, match="Idempotency-Key"):
        await m.handle(session.id, "hello", idempotency_key=key)
