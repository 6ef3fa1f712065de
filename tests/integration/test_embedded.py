"""The embedded Valkey: survives SIGKILL with every acknowledged turn."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from agentgpt import SessionManager
from agentgpt.config.settings import StoreSettings
from agentgpt.store.context_store import RedisContextStore


async def test_acknowledged_turns_survive_sigkill(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    store = RedisContextStore(StoreSettings(), home=home)
    m = SessionManager(store=store)
    session = await m.create_session("user-durable")
    for i in range(20):
        await m.handle(session.id, f"turn {i}")
    embedded = store._backend._embedded
    assert embedded is not None
    pid = embedded.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        await asyncio.sleep(0.02)
    await store._backend.aclose()

    restarted = RedisContextStore(StoreSettings(), home=home)
    loaded = await SessionManager(store=restarted).load_session(session.id)
    assert loaded.version == 20
    assert len(await restarted.read_log(session.id)) == 20
    assert loaded.context.window[-1].user == "turn 19"
    await restarted.aclose()
    assert embedded.pid is None or not _alive(embedded.pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
