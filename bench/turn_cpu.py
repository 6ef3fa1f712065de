"""Client CPU per turn: sequential turns over a few sessions on a throwaway embedded store.

Unlike bench/turns.py (closed loop: throughput and queueing), one turn at a time measures
what a turn costs the calling process (``time.process_time``), which moves much less with
the load of other processes on a shared machine than turns/s does. Prints one JSON line.

    python bench/turn_cpu.py --turns 1500
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time

from agentgpt import SessionManager
from agentgpt.config.settings import SessionSettings, StoreSettings
from agentgpt.store.context_store import RedisContextStore


async def _run(turns: int, sessions: int) -> dict[str, int]:
    store = RedisContextStore(StoreSettings(), home=tempfile.mkdtemp(prefix="agentgpt-bench-"))
    manager = SessionManager(store=store, settings=SessionSettings(agent="faq"))
    ids = [(await manager.create_session(f"user-{i}")).id for i in range(sessions)]
    for session_id in ids:  # warm: agents, scripts, connections
        await manager.handle(session_id, "hello")
    cpu, wall = time.process_time(), time.perf_counter()
    for k in range(turns):
        await manager.handle(ids[k % sessions], "I forgot my password")
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await manager.aclose()
    await store.aclose()
    return {
        "turns": turns,
        "cpu_us_per_turn": round(cpu / turns * 1e6),
        "wall_us_per_turn": round(wall / turns * 1e6),
    }


def main() -> None:
    """Parse the options, run, print the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=1500)
    parser.add_argument("--sessions", type=int, default=50)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(_run(args.turns, args.sessions))))


if __name__ == "__main__":
    main()
