"""Isolated runtimes (issue 18): added turn latency, cold start, idle memory, density.

Prints one JSON line:
- ``turn_p50_ms_in_process`` / ``turn_p50_ms_isolated`` / ``added_p50_ms``: sequential
  turns of FAQAgent sessions on the embedded store, in the service process and in a bound
  sandbox worker, interleaved turn by turn so drift hits both alike (target <= 2 ms added,
  warm); ``call_p50_ms``: the worker round trip alone (frame out, agent, frame back);
- ``cold_start_ms``: median time from spawn to the worker's hello (bubblewrap + cgroup +
  interpreter + imports), over ``--cold`` starts;
- ``idle_worker_mib``: median memory charged to an idle worker's cgroup;
- ``workers_started`` / ``workers_started_mib`` / ``workers_fit_memory``: ``--workers`` idle
  workers started (two at a time; all must come up) and their memory, and how many idle
  workers fit in 80% of this box's RAM.

    python bench/runtime.py --turns 300 --cold 5 --workers 20
"""

from __future__ import annotations

import sys
from pathlib import Path

# a module here could shadow a stdlib one (bench/http.py did) (here and in the workers,
# which import from this process's path): drop this folder from the path first.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time

from agentgpt import AgentPool, FAQAgent, SessionManager
from agentgpt.agents.context import Context
from agentgpt.agents.isolated import HANDLER_FACTORY, agent_path, encode_call
from agentgpt.config.runtime_settings import RuntimeSettings
from agentgpt.config.settings import SessionSettings
from agentgpt.runtime import HandlerSpec, ResourcePolicy
from agentgpt.runtime.sandbox import SandboxDriver
from agentgpt.store.context_store import RedisContextStore

LINES = ("I forgot my password", "my card is blocked", "how do I open an account?", "thanks")
HANDLER = HandlerSpec(HANDLER_FACTORY, agent_path(FAQAgent))


async def turn_latency(turns: int) -> dict[str, float]:
    """Interleaved sequential turns: one in-process session, one isolated session."""
    settings = SessionSettings(runtime=RuntimeSettings(min_ready=1))
    manager = SessionManager(store=RedisContextStore(), settings=settings)
    manager.agents = AgentPool(FAQAgent, min_ready=1)  # type: ignore[attr-defined]
    plain = await manager.create_session("bench-plain")
    isolated = await manager.create_session("bench-isolated", runtime="sandbox")
    samples: dict[str, list[float]] = {"plain": [], "isolated": []}
    try:
        for i in range(turns + 20):
            for name, session in (("plain", plain), ("isolated", isolated)):
                started = time.perf_counter()
                await manager.handle(session.id, LINES[i % len(LINES)])
                if i >= 20:  # warm-up: the pool, the worker's imports, the store
                    samples[name].append((time.perf_counter() - started) * 1000)
    finally:
        await manager.aclose()
    p50 = {k: statistics.median(v) for k, v in samples.items()}
    return {
        "turn_p50_ms_in_process": round(p50["plain"], 3),
        "turn_p50_ms_isolated": round(p50["isolated"], 3),
        "added_p50_ms": round(p50["isolated"] - p50["plain"], 3),
    }


async def worker_figures(cold: int, workers: int) -> dict[str, float]:
    """Cold starts, the round trip alone, idle memory, and many idle workers at once."""
    driver = SandboxDriver(cgroup_parent="agentgpt-bench")
    await asyncio.to_thread(driver.probe)
    policy = ResourcePolicy(max_memory=512 * 2**20, max_pids=64)
    starts, memory = [], []
    for _ in range(cold):
        started = time.perf_counter()
        worker = await driver.start(HANDLER, policy)
        starts.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.2)
        memory.append(await worker.memory_usage())
        await worker.stop()
    worker = await driver.start(HANDLER, policy)
    body = encode_call("I forgot my password", Context(), ())
    calls = []
    for _ in range(300):
        started = time.perf_counter()
        await worker.call(body, 10)
        calls.append((time.perf_counter() - started) * 1000)
    await worker.stop()
    gate = asyncio.Semaphore(2)  # one start per core: a start is CPU-bound (imports)

    async def start_one() -> object:
        async with gate:
            return await driver.start(HANDLER, policy)

    many = await asyncio.gather(*(start_one() for _ in range(workers)))
    idle_total = sum([await w.memory_usage() for w in many])  # type: ignore[attr-defined]
    for w in many:
        await w.stop()  # type: ignore[attr-defined]
    idle = statistics.median(memory)
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cold_start_ms": round(statistics.median(starts), 1),
        "call_p50_ms": round(statistics.median(calls[20:]), 3),
        "idle_worker_mib": round(idle / 2**20, 1),
        "workers_started": len(many),
        "workers_started_mib": round(idle_total / 2**20, 1),
        "workers_fit_memory": int(total * 0.8 // idle),
    }


async def main() -> None:
    """Run every measurement and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--cold", type=int, default=5)
    parser.add_argument("--workers", type=int, default=20)
    args = parser.parse_args()
    figures = await turn_latency(args.turns)  # first: nothing else started or stopped yet
    figures.update(await worker_figures(args.cold, args.workers))
    print(json.dumps({"cpus": os.cpu_count(), **figures}))


if __name__ == "__main__":
    os.environ.setdefault("AGENTGPT_HOME", tempfile.mkdtemp(prefix="agentgpt-bench-"))
    asyncio.run(main())
