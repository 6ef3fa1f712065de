"""Short leases with a heartbeat: a live holder keeps its lock, a killed one frees it soon."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from agentgpt import AgentPool, SessionManager
from agentgpt.config.settings import SessionSettings
from agentgpt.store.context_store import RedisContextStore
from agentgpt.store.lock import DistributedLock
from tests.integration.agents_for_tests import EchoAgent

HOLDER = """
import asyncio, sys
from agentgpt.store.context_store import RedisContextStore
from agentgpt.store.lock import DistributedLock

async def main():
    lock = DistributedLock(sys.argv[2], store=RedisContextStore(sys.argv[1]))
    await lock.acquire()
    print("held", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""

#: A service process in the middle of a turn: its agent never answers; it is killed there.
MID_TURN = """
import asyncio, sys
from agentgpt import AgentPool, SessionManager
from agentgpt.store.context_store import RedisContextStore
from tests.integration.agents_for_tests import EchoAgent

class Stuck(EchoAgent):
    async def process(self, input, context):
        print("in turn", flush=True)
        await asyncio.sleep(3600)

async def main():
    m = SessionManager(store=RedisContextStore(sys.argv[1]))
    m.agents = AgentPool(Stuck, min_ready=1, max_connections=1)
    await m.handle(sys.argv[2], "this turn never ends")

asyncio.run(main())
"""


def manager(store: RedisContextStore, agent: type[EchoAgent] = EchoAgent) -> SessionManager:
    """A manager with the default settings (the default lease is the short one)."""
    m = SessionManager(store=store, settings=SessionSettings())
    m.agents = AgentPool(agent, min_ready=1, max_connections=4)  # type: ignore[attr-defined]
    return m


def test_the_default_lease_is_short() -> None:
    assert SessionSettings().lock_lease == timedelta(seconds=2)
    assert DistributedLock("any", store=RedisContextStore("redis://127.0.0.1:1/0")).lease_ms == 2000


async def test_a_killed_holder_blocks_its_session_for_about_one_lease(
    standalone_store: RedisContextStore, standalone_url: str
) -> None:
    m = manager(standalone_store)
    assert m.settings.lock_lease.total_seconds() == 2
    session = await m.create_session("lease-user")
    holder = subprocess.Popen(  # noqa: ASYNC220 - a holder in another process, killed below
        [sys.executable, "-c", HOLDER, standalone_url, f"session_{session.id}"],
        stdout=subprocess.PIPE, env=os.environ,
    )  # fmt: skip
    try:
        line = await asyncio.to_thread(holder.stdout.readline)  # type: ignore[union-attr]
        assert line == b"held\n"
        await asyncio.sleep(2.5)  # past one lease: the heartbeat kept it
        busy = DistributedLock(f"session_{session.id}", store=standalone_store, timeout=0)
        assert not await _granted(busy)
        holder.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        response = await m.handle(session.id, "is anyone there?")
        blocked = time.monotonic() - killed
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()  # type: ignore[union-attr]
    assert response.seq == 1
    # The lease (2 s) bounds the wait; the margin is for a loaded test machine.
    assert blocked < 4.0


async def _granted(lock: DistributedLock) -> bool:
    from agentgpt.errors import LockTimeout

    try:
        await lock.acquire()
    except LockTimeout:
        return False
    await lock.release()
    return True


async def test_a_turn_longer_than_the_lease_still_commits(
    standalone_store: RedisContextStore,
) -> None:
    # The heartbeat renews the lease while the holder works: fencing never trips.
    async with DistributedLock("long-job", store=standalone_store, lease=0.3) as lock:
        fence = lock.fence
        await asyncio.sleep(1.0)
        assert lock.held
        assert lock.fence == fence


async def test_a_service_killed_mid_turn_blocks_its_session_for_about_one_lease(
    store: RedisContextStore,
) -> None:
    m = manager(store)
    session = await m.create_session("lease-user")
    url = store.settings.url or "redis+cluster://" + ",".join(store.settings.nodes)
    holder = subprocess.Popen(  # noqa: ASYNC220 - a service process, killed mid-turn below
        [sys.executable, "-c", MID_TURN, url, session.id], stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )  # fmt: skip
    try:
        line = await asyncio.to_thread(holder.stdout.readline)  # type: ignore[union-attr]
        assert line == b"in turn\n"  # it holds the session's lock, its heartbeat running
        await asyncio.sleep(2.5)  # past one lease: the heartbeat kept it
        busy = DistributedLock(f"session_{session.id}", store=store, timeout=0)
        assert not await _granted(busy)
        holder.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        response = await m.handle(session.id, "is anyone there?")
        blocked = time.monotonic() - killed
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()  # type: ignore[union-attr]
    assert response.seq == 1  # the killed turn stored nothing
    # The lease (2 s) bounds the wait; the margin is for a loaded test machine.
    assert blocked < 4.0, f"the session stayed blocked {blocked:.1f} s"


class SlowAgent(EchoAgent):
    """Takes longer than one lease (2 s) to answer."""

    delay = 3.0


async def test_a_turn_longer_than_the_default_lease_keeps_its_lock(
    store: RedisContextStore,
) -> None:
    m = manager(store, SlowAgent)
    session = await m.create_session("slow-user")
    first = asyncio.create_task(m.handle(session.id, "first, slow"))
    await asyncio.sleep(0.5)
    # A second turn of the same session waits for the first: the heartbeat renews the
    # first one's lease past 2 s, so the second is not granted early (no stale fence).
    second = asyncio.create_task(m.handle(session.id, "second"))
    answers = await asyncio.gather(first, second)
    assert [a.seq for a in answers] == [1, 2]
    assert answers[1].reply.startswith("echo:second|1")  # it saw the first turn's context
