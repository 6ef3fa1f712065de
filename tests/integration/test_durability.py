"""Commit durability against real Valkey: local, aof (WAITAOF) and replica (WAIT) levels."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from agentgpt import AgentPool, SessionManager
from agentgpt.config.settings import StoreSettings
from agentgpt.errors import DurabilityNotReached
from agentgpt.store.context_store import RedisContextStore, TurnWrite
from agentgpt.store.durability import Durability
from tests import servers
from tests.integration.agents_for_tests import EchoAgent


def manager(url: str, **durability: object) -> SessionManager:
    settings = StoreSettings.from_url(url, durability_timeout="300ms", **durability)
    m = SessionManager(store=RedisContextStore(settings))
    m.agents = AgentPool(EchoAgent, min_ready=1, max_connections=4)  # type: ignore[attr-defined]
    return m


@pytest.fixture
def primary() -> Iterator[tuple[str, object]]:
    """A primary with AOF on, and a function that starts a replica of it."""
    with servers.primary_with_replica() as (url, start_replica):
        yield url, start_replica


async def _wait_linked(store: RedisContextStore, replicas: int) -> None:
    client = await store.backend.connect()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        info = await client.info("replication")
        online = sum(1 for k, v in info.items() if k.startswith("slave") and "online" in str(v))
        if online >= replicas:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("replica did not come online")


async def test_replica_level_refuses_a_commit_no_replica_confirmed(primary) -> None:  # type: ignore[no-untyped-def]
    url, start_replica = primary
    m = manager(url, durability="replica")
    session = await m.create_session("dur-user")
    with pytest.raises(DurabilityNotReached, match="0 of 1 replica"):
        await m.handle(session.id, "send 10 euros to Ana", idempotency_key="k-1")
    # Stored on the primary alone, not acknowledged: a retry once a replica is back
    # replays the same turn (no duplicate) and now gets its acknowledgement.
    start_replica()
    await _wait_linked(m.store, 1)
    again = await m.handle(session.id, "send 10 euros to Ana", idempotency_key="k-1")
    assert again.seq == 1
    assert len(await m.store.read_log(session.id)) == 1
    nxt = await m.handle(session.id, "and 5 to Bob", idempotency_key="k-2")
    assert nxt.seq == 2
    await m.store.aclose()


async def test_replica_level_acknowledges_once_the_replica_has_it(primary) -> None:  # type: ignore[no-untyped-def]
    url, start_replica = primary
    replica = start_replica()
    m = manager(url, durability="replica")
    await _wait_linked(m.store, 1)
    session = await m.create_session("dur-user-2")
    assert (await m.handle(session.id, "hello")).seq == 1
    replica.kill()
    replica.wait(10)
    with pytest.raises(DurabilityNotReached):
        await m.handle(session.id, "still there?")
    await m.store.aclose()


async def test_aof_level_waits_for_the_primary_fsync(primary) -> None:  # type: ignore[no-untyped-def]
    url, _ = primary
    m = manager(url, durability="aof", durability_replicas=1)
    session = await m.create_session("dur-aof")
    for i in range(3):
        assert (await m.handle(session.id, f"turn {i}")).seq == i + 1
    await m.store.aclose()


async def test_aof_level_on_a_server_without_aof_is_refused(standalone_url: str) -> None:
    m = manager(standalone_url, durability="aof")
    session = await m.create_session("dur-no-aof")
    with pytest.raises(DurabilityNotReached):
        await m.handle(session.id, "hello")
    await m.store.aclose()


@pytest.mark.cluster
@pytest.mark.slow
async def test_replica_level_on_a_cluster_with_replicas() -> None:
    with servers.replicated_cluster() as nodes:
        settings = StoreSettings(cluster_mode=True, nodes=nodes.nodes, durability="replica")
        m = SessionManager(store=RedisContextStore(settings))
        m.agents = AgentPool(EchoAgent, min_ready=1, max_connections=4)  # type: ignore[attr-defined]
        sessions = [await m.create_session(f"dur-c{i}") for i in range(6)]
        for session in sessions:
            assert (await m.handle(session.id, "hello", idempotency_key="a")).seq == 1
            assert (await m.handle(session.id, "hello", idempotency_key="a")).seq == 1
        await m.store.aclose()


def test_levels_read_their_waits() -> None:
    replica = Durability("replica", replicas=2, timeout_ms=50)
    replica.check(2, "here")
    with pytest.raises(DurabilityNotReached, match="1 of 2"):
        replica.check(1, "here")
    aof = Durability("aof")
    aof.check([1, 0], "here")
    with pytest.raises(DurabilityNotReached):
        aof.check([0, 0], "here")
    assert not Durability().waits


async def test_a_durable_commit_reloads_scripts_the_server_forgot(primary) -> None:  # type: ignore[no-untyped-def]
    # The commit pipeline with its WAITAOF goes through SCRIPTS.run_pipeline like every
    # other script call: one reload after NOSCRIPT, then the wait is checked as usual.
    url, _ = primary
    store = RedisContextStore(StoreSettings.from_url(url, durability="aof"))
    session_id = "durable-noscript"
    assert await store.create(session_id, {"owner": "dur-user"})
    client = await store.backend.connect()
    await client.script_flush()
    assert await store.commit(TurnWrite(session_id, None, 0, b"ctx", b"log", b"head")) == 1
    await client.script_flush()
    assert await store.commit(TurnWrite(session_id, None, 1, b"ctx", b"log", b"head-2")) == 2
    assert await store.read_log(session_id) == [b"log", b"log"]
