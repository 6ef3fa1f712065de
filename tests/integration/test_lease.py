"""Short leases with a heartbeat: a live holder keeps its lock, a killed one frees it soon."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

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
    lock = DistributedLock(sys.argv[2], store=RedisContextStore(sys.argv[1]), lease=2.0)
    await lock.acquire()
    print("held", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


def manager(store: RedisContextStore) -> SessionManager:
    m = SessionManager(store=store, settings=SessionSettings(lock_lease=timedelta(seconds=2)))
    m.agents = AgentPool(EchoAgent, min_ready=1, max_connections=4)  # type: ignore[attr-defined]
    return m


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
