"""The embedded Valkey: survives SIGKILL with every acknowledged turn."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
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
    embedded = store.backend.embedded
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
    await store.backend.aclose()

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


SCRIPT_THAT_NEVER_CLOSES = """
import asyncio
from agentgpt import SessionManager

async def main():
    manager = SessionManager()
    session = await manager.create_session("user-script")
    await manager.handle(session.id, "I lost my card")
    print(open(HOME + "/valkey/valkey.pid").read().strip(), flush=True)

asyncio.run(main())
"""


def test_a_script_that_never_closes_its_store_stops_the_server_at_exit(tmp_path: Path) -> None:
    # The README's quickstart never closes the manager: the embedded server it started
    # must not stay behind, orphaned, when the script ends.
    home = tmp_path / "home"
    env = {**os.environ, "AGENTGPT_HOME": str(home), "AGENTGPT_SESSIONS__AGENT": "faq"}
    script = f"HOME = {str(home)!r}\n" + SCRIPT_THAT_NEVER_CLOSES
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout.strip().splitlines()[-1])
    for _ in range(100):
        if not _alive(pid):
            break
        time.sleep(0.05)
    assert not _alive(pid)
