"""A slow or dead analytics store never blocks or fails a turn: drops are bounded and counted."""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentgpt import AgentPool, SessionManager
from agentgpt.analytics.snapshot import Analytics
from agentgpt.config.settings import AnalyticsSettings, StoreSettings
from agentgpt.sessions.hooks import Event
from agentgpt.store.context_store import RedisContextStore
from tests import servers
from tests.integration.agents_for_tests import EchoAgent

FAST = AnalyticsSettings(flush_interval=0.001, flush_timeout=0.2, max_pending_events=40,
                         unreachable_after=0.001)  # fmt: skip


def manager(store: RedisContextStore, analytics: Analytics) -> SessionManager:
    m = SessionManager(store=store, analytics=analytics)
    m.agents = AgentPool(EchoAgent, min_ready=2, max_connections=16)  # type: ignore[attr-defined]
    return m


async def run_turns(m: SessionManager, turns: int) -> float:
    """Run ``turns`` turns on one session; return the slowest turn in seconds."""
    session = await m.create_session("user-outage")
    slowest = 0.0
    for i in range(turns):
        started = time.perf_counter()
        response = await m.handle(session.id, f"message {i}")
        slowest = max(slowest, time.perf_counter() - started)
        assert response.reply.startswith(f"echo:message {i}")
    return slowest


async def test_dead_analytics_store_costs_turns_nothing(
    standalone_store: RedisContextStore,
) -> None:
    dead = RedisContextStore(StoreSettings.from_url(f"redis://127.0.0.1:{servers.free_port()}/0",
                                                    connect_timeout=0.1))  # fmt: skip
    m = manager(standalone_store, Analytics(dead, FAST))
    alerts: list[Event] = []
    m.register_hook(event="alert", callback=alerts.append)
    slowest = await run_turns(m, 200)
    await m.analytics.flush()
    writer = m.analytics.writer
    assert writer.flushed == 0
    assert m.analytics.dropped > 0
    assert m.analytics.dropped + writer.pending == 200  # every event is either kept or counted
    assert writer.pending <= FAST.max_pending_events
    assert slowest < 0.5
    assert (await m.load_session((await m.user_sessions("user-outage"))[0])).version == 200
    # The alert is announced by a task of its own: give it the loop (bounded) before looking.
    for _ in range(200):
        if alerts:
            break
        await asyncio.sleep(0.01)
    assert [(e.data["rule"], e.data["severity"]) for e in alerts][:1] == [
        ("store_unreachable", "critical")
    ]


@pytest.fixture
def stopped_server() -> Iterator[tuple[str, int]]:
    """A real Valkey that accepts connections and then stops answering (SIGSTOP)."""
    with tempfile.TemporaryDirectory() as tmp:
        port = servers.free_port()
        proc = servers._start(port, Path(tmp))
        try:
            yield f"redis://127.0.0.1:{port}/0", proc.pid
        finally:
            os.kill(proc.pid, signal.SIGCONT)
            proc.terminate()
            proc.wait(10)


async def test_frozen_analytics_store_costs_turns_nothing(
    standalone_store: RedisContextStore, stopped_server: tuple[str, int]
) -> None:
    url, pid = stopped_server
    frozen = RedisContextStore(StoreSettings.from_url(url, socket_timeout=30.0))
    analytics = Analytics(frozen, FAST)
    client = await frozen.backend.connect()
    await client.ping()  # connected and healthy before it freezes
    os.kill(pid, signal.SIGSTOP)
    m = manager(standalone_store, analytics)
    slowest = await run_turns(m, 100)
    started = time.perf_counter()
    assert await analytics.flush() == 0
    assert time.perf_counter() - started < FAST.flush_timeout.total_seconds() + 0.3
    assert analytics.dropped > 0
    assert analytics.dropped + analytics.writer.pending == 100
    assert slowest < 0.5
