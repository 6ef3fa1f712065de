"""Issue 18: sessions whose turns run in sandboxed workers (real bubblewrap, real cgroups)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from agentgpt import AgentPool, Event, SessionManager
from agentgpt.config.runtime_settings import RuntimeSettings
from agentgpt.config.settings import SessionSettings
from agentgpt.errors import WorkerLimitExceeded
from agentgpt.runtime import RegionLimits, ResourcePolicy, parse_memory
from agentgpt.store.context_store import RedisContextStore
from tests.runtime.hostile_agent import HostileAgent


def isolated_manager(store: RedisContextStore, **runtime: object) -> SessionManager:
    """A manager whose new sessions run HostileAgent in sandbox workers."""
    values: dict[str, object] = {"default": "sandbox", "min_ready": 1, "turn_timeout": 5}
    values.update(runtime)
    settings = SessionSettings(runtime=RuntimeSettings.model_validate(values))
    manager = SessionManager(store=store, settings=settings)
    manager.agents = AgentPool(HostileAgent, min_ready=1)  # type: ignore[attr-defined]
    return manager


@pytest.fixture
async def manager(standalone_store: RedisContextStore) -> AsyncIterator[SessionManager]:
    m = isolated_manager(standalone_store)
    yield m
    await m.aclose()


async def test_turns_run_in_a_worker_bound_to_one_session(manager: SessionManager) -> None:
    a = await manager.create_session("alice")
    b = await manager.create_session("bob")
    assert (a.runtime, a.region) == ("sandbox", "default")
    first = await manager.handle(a.id, "hello")
    second = await manager.handle(a.id, "again")
    assert (first.reply, second.reply) == ("echo:hello|0", "echo:again|1")  # context reached it
    await manager.handle(b.id, "hi")
    pool = await manager.isolation.service.pool("sandbox")
    worker_a, worker_b = pool.bound_worker(a.id), pool.bound_worker(b.id)
    assert worker_a is not None
    assert worker_b is not None
    assert worker_a is not worker_b
    # A file one session's agent leaves in its tmp is not in the other's.
    assert (await manager.handle(a.id, "scribble secret-of-a")).reply == "previous:"
    assert (await manager.handle(b.id, "scribble x")).reply == "previous:"
    assert (await manager.handle(a.id, "scribble y")).reply == "previous:secret-of-a"
    loaded = await manager.load_session(a.id)
    assert loaded.version == 4
    assert loaded.metadata["runtime"] == "sandbox"


async def test_nothing_an_agent_forks_outlives_its_turn(manager: SessionManager) -> None:
    session = await manager.create_session("erin")
    # The worker is its pid namespace's init: orphans come back to it, and "no child left"
    # after a turn is the one check that lets it skip the /proc sweep.
    assert (await manager.handle(session.id, "pid")).reply == "pid:1"
    assert (await manager.handle(session.id, "daemon")).reply == "daemonized"
    listed = (await manager.handle(session.id, "listdir /proc")).reply
    assert [e for e in listed.split(":")[1].split(",") if e.isdigit()] == ["1"]


async def test_a_recycled_worker_is_wiped_and_replaced(standalone_store: RedisContextStore) -> None:
    manager = isolated_manager(standalone_store, idle_recycle=timedelta(seconds=0.4))
    try:
        session = await manager.create_session("carol")
        await manager.handle(session.id, "scribble left-behind")
        pool = await manager.isolation.service.pool("sandbox")
        before = pool.bound_worker(session.id)
        for _ in range(100):
            if pool.bound_worker(session.id) is None:
                break
            await pool_idle_tick()
        assert pool.bound_worker(session.id) is None
        assert pool.recycled >= 1
        assert (await manager.handle(session.id, "scribble again")).reply == "previous:"
        assert pool.bound_worker(session.id) is not before
    finally:
        await manager.aclose()


async def pool_idle_tick() -> None:
    import asyncio

    await asyncio.sleep(0.05)


async def test_steady_state_turns_never_wait_for_a_cold_start(manager: SessionManager) -> None:
    sessions = [await manager.create_session(f"u{i}") for i in range(3)]
    pool = await manager.isolation.service.pool("sandbox")
    assert pool.ready == 1  # warmed at start
    for session in sessions:
        await manager.handle(session.id, "hi")
        if pool._refill is not None:  # the replacement of the worker just taken
            await pool._refill
    assert pool.cold_starts == 0
    assert pool.ready == 1
    assert pool.bound == 3


async def test_over_the_memory_limit_one_turn_fails_and_nothing_is_lost(
    manager: SessionManager, standalone_store: RedisContextStore
) -> None:
    await RegionLimits(standalone_store).set(
        "eu-central", ResourcePolicy(max_memory=parse_memory("128Mi"), max_pids=32)
    )
    errors: list[Event] = []
    manager.register_hook("error", errors.append)
    session = await manager.create_session("dave", region="eu-central")
    await manager.handle(session.id, "before")
    with pytest.raises(WorkerLimitExceeded, match="128Mi memory limit") as caught:
        await manager.handle(session.id, "alloc")
    assert caught.value.status == 422
    assert errors
    assert errors[0].session_id == session.id
    after = await manager.handle(session.id, "after")  # a fresh worker
    assert after.reply == "echo:after|1"
    loaded = await manager.load_session(session.id)
    assert [e.user for e in loaded.context.window] == ["before", "after"]
    await RegionLimits(standalone_store).unset("eu-central")
