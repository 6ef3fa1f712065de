"""Atomic admission: the global and the per-user limit are checked and taken in one script."""

from __future__ import annotations

import asyncio

import pytest

from agentgpt import AgentPool, SessionManager
from agentgpt.config.settings import SessionSettings
from agentgpt.errors import SessionLimitExceeded
from agentgpt.store.context_store import RedisContextStore
from tests.integration.agents_for_tests import EchoAgent


def manager(store: RedisContextStore, **settings: object) -> SessionManager:
    m = SessionManager(store=store, settings=SessionSettings(**settings))  # type: ignore[arg-type]
    m.agents = AgentPool(EchoAgent, min_ready=1, max_connections=8)  # type: ignore[attr-defined]
    return m


async def test_sixty_racing_creates_against_twenty_admit_exactly_twenty(
    store: RedisContextStore,
) -> None:
    m = manager(store, max_concurrent_sessions=20, max_sessions_per_user=1000)
    results = await asyncio.gather(
        *(m.create_session(f"racer-{i}") for i in range(60)), return_exceptions=True
    )
    admitted = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, SessionLimitExceeded)]
    assert len(admitted) == 20
    assert len(refused) == 40
    assert await m.count_active() == 20


async def test_one_user_cannot_take_every_slot(store: RedisContextStore) -> None:
    m = manager(store, max_concurrent_sessions=100, max_sessions_per_user=3)
    sessions = [await m.create_session("hog") for _ in range(3)]
    with pytest.raises(SessionLimitExceeded, match="max_sessions_per_user"):
        await m.create_session("hog")
    assert (await m.create_session("someone-else")).id
    await m.erase(sessions[0].id)  # erasing gives the slot back
    assert (await m.create_session("hog")).id
    await m.close(sessions[1].id)  # so does closing
    assert (await m.create_session("hog")).id


async def test_idle_sessions_release_their_slots(store: RedisContextStore) -> None:
    m = manager(store, max_concurrent_sessions=2, max_sessions_per_user=10, idle_timeout=1)
    await m.create_session("idle-a")
    active = await m.create_session("idle-b")
    await asyncio.sleep(0.6)
    await m.handle(active.id, "still here")  # activity keeps its slot
    await asyncio.sleep(0.6)
    assert (await m.create_session("idle-c")).id  # idle-a's slot was released
    with pytest.raises(SessionLimitExceeded, match="max_concurrent_sessions"):
        await m.create_session("idle-d")
