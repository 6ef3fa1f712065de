"""Turn throughput and latency on the embedded store with the FAQ agent.

Prints one JSON line: turns/s, p50/p95/p99 turn latency, store bytes per idle session,
process RSS, at the given concurrency; and the cost of creating many live sessions.

    python bench/turns.py --sessions 1000 --turns 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import tempfile
import time

from agentgpt import SessionManager
from agentgpt.config.settings import StoreSettings
from agentgpt.store.context_store import RedisContextStore

LINES = ("I forgot my password", "Card blocked in foreign country", "Can I get a loan?",
         "Wire transfer to my landlord please", "thanks, bye")  # fmt: skip


async def run(sessions: int, turns: int, create_only: int) -> dict[str, object]:
    home = tempfile.mkdtemp(prefix="agentgpt-bench-")
    store = RedisContextStore(StoreSettings(max_connections=32), home=home)
    manager = SessionManager(store=store, max_concurrent_sessions=10**7)
    client = await store.client()
    ids = [(await manager.create_session(f"bench-{i}")).id for i in range(sessions)]
    mem_before = (await client.info("memory"))["used_memory"]
    latencies: list[float] = []

    async def customer(session_id: str) -> None:
        for t in range(turns):
            started = time.perf_counter()
            await manager.handle(session_id, LINES[t % len(LINES)])
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(customer(i) for i in ids))
    elapsed = time.perf_counter() - started
    mem_after = (await client.info("memory"))["used_memory"]
    baseline = (await client.info("memory"))["used_memory"]
    q = statistics.quantiles(latencies, n=100)
    figures: dict[str, object] = {
        "sessions": sessions,
        "turns": len(latencies),
        "turns_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(q[94], 2),
        "p99_ms": round(q[98], 2),
        "store_bytes_per_session_with_turns": round(mem_after / sessions),
        "store_bytes_per_session_turn_data": round((mem_after - mem_before) / sessions),
        "rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if create_only:
        start = time.perf_counter()
        batch = 500
        for offset in range(0, create_only, batch):
            await asyncio.gather(*(manager.create_session(f"live-{offset + i}")
                                   for i in range(min(batch, create_only - offset))))  # fmt: skip
        figures["created_sessions"] = create_only
        figures["create_per_s"] = round(create_only / (time.perf_counter() - start), 1)
        figures["active_sessions"] = await manager.count_active()
        used = (await client.info("memory"))["used_memory"] - baseline
        figures["store_bytes_per_fresh_session"] = round(used / create_only)
    await store.aclose()
    return figures


def main() -> None:
    """Parse arguments, run, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--create", type=int, default=0, help="then create N more live sessions")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.sessions, args.turns, args.create))))


if __name__ == "__main__":
    main()
