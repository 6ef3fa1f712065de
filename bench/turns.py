"""Turn throughput and latency on the embedded store with the FAQ agent.

Prints one JSON line: turns/s, p50/p95/p99 turn latency, store bytes per session, process
RSS; optionally the cost of creating many live sessions.

Two load shapes:

* closed loop (default): every session sends its next message as soon as the last one is
  answered, all at once: the throughput ceiling (latency is then mostly queueing);
* open loop (``--rate R``): messages arrive as a Poisson process at R turns/s spread over
  the sessions, and latency is measured from each message's *scheduled* arrival, so a slow
  server cannot hide its queue (no coordinated omission).

``--processes P`` runs P worker processes on the same embedded server (the design is
stateless: processes coordinate only through the store), each with its share of sessions.

    python bench/turns.py --sessions 1000 --turns 5
    python bench/turns.py --sessions 1000 --rate 800 --duration 20
    python bench/turns.py --sessions 10000 --turns 3 --processes 2
    python bench/turns.py --sessions 100 --turns 1 --create 100000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import resource
import statistics
import tempfile
import time
from typing import Any

from agentgpt import SessionManager
from agentgpt.config.settings import SessionSettings, StoreSettings
from agentgpt.store import keys as K
from agentgpt.store.context_store import RedisContextStore

LINES = ("I forgot my password", "Card blocked in foreign country", "Can I get a loan?",
         "Wire transfer to my landlord please", "thanks, bye")  # fmt: skip


def _store(home: str) -> RedisContextStore:
    return RedisContextStore(StoreSettings(max_connections=32), home=home)


async def _closed_loop(manager: SessionManager, ids: list[str], turns: int) -> list[float]:
    latencies: list[float] = []

    async def customer(session_id: str) -> None:
        for t in range(turns):
            started = time.perf_counter()
            await manager.handle(session_id, LINES[t % len(LINES)])
            latencies.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(customer(i) for i in ids))
    return latencies


async def _open_loop(
    manager: SessionManager, ids: list[str], rate: float, duration: float, seed: int
) -> list[float]:
    rng = random.Random(seed)
    latencies: list[float] = []
    tasks: set[asyncio.Task[None]] = set()
    sent = dict.fromkeys(ids, 0)

    async def message(session_id: str, due: float) -> None:
        sent[session_id] += 1
        await manager.handle(session_id, LINES[sent[session_id] % len(LINES)])
        latencies.append((time.perf_counter() - due) * 1000)

    start = time.perf_counter()
    due = start
    while due - start < duration:
        due += rng.expovariate(rate)
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(message(rng.choice(ids), due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    return latencies


async def _create_live(manager: SessionManager, count: int, worker: int) -> dict[str, Any]:
    start = time.perf_counter()
    batch = 500
    for offset in range(0, count, batch):
        await asyncio.gather(*(manager.create_session(f"live-{worker}-{offset + i}")
                               for i in range(min(batch, count - offset))))  # fmt: skip
    return {"created_sessions": count, "create_per_s": round(count / (time.perf_counter() - start))}


async def _worker(worker: int, args: argparse.Namespace, sessions: int) -> dict[str, Any]:
    store = _store(args.home)
    settings = SessionSettings(agent=args.agent)
    manager = SessionManager(store=store, max_concurrent_sessions=10**7, settings=settings)
    client = await store.backend.connect()
    empty = (await client.info("memory"))["used_memory"]
    ids = [(await manager.create_session(f"bench-{worker}-{i}")).id for i in range(sessions)]
    mem_before = (await client.info("memory"))["used_memory"]
    started = time.perf_counter()
    if args.rate:
        share = args.rate / args.processes
        latencies = await _open_loop(manager, ids, share, args.duration, seed=worker)
    else:
        latencies = await _closed_loop(manager, ids, args.turns)
    elapsed = time.perf_counter() - started
    sampled = await _sampled_key_bytes(client, ids[:100], worker)
    result: dict[str, Any] = {
        "key_bytes": sampled,
        "latencies": latencies,
        "elapsed": elapsed,
        "mem_before": mem_before,
        "mem_empty": empty,
        "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if args.create and worker == 0:
        baseline = (await client.info("memory"))["used_memory"]
        result.update(await _create_live(manager, args.create, worker))
        result["active_sessions"] = await manager.count_active()
        used = (await client.info("memory"))["used_memory"] - baseline
        result["store_bytes_per_fresh_session"] = round(used / args.create)
    result["mem_after"] = (await client.info("memory"))["used_memory"]
    await store.aclose()
    return result


async def _sampled_key_bytes(client: Any, ids: list[str], worker: int) -> float:
    """Mean MEMORY USAGE of one session's own keys (meta, ctx, log, owner index)."""
    total = 0
    for i, sid in enumerate(ids):
        keys = K.session_keys(sid)
        for key in (keys.meta, keys.ctx, keys.log, K.user_key(f"bench-{worker}-{i}")):
            total += int(await client.memory_usage(key, samples=0) or 0)
    return total / max(1, len(ids))


def _run_worker(worker: int, args: argparse.Namespace, sessions: int) -> dict[str, Any]:
    if args.uvloop:
        import uvloop

        return uvloop.run(_worker(worker, args, sessions))
    return asyncio.run(_worker(worker, args, sessions))


def _summary(args: argparse.Namespace, results: list[dict[str, Any]]) -> dict[str, Any]:
    latencies = [x for r in results for x in r["latencies"]]
    elapsed = max(r["elapsed"] for r in results)
    q = statistics.quantiles(latencies, n=100)
    figures: dict[str, Any] = {
        "mode": f"open loop at {args.rate}/s offered" if args.rate else "closed loop",
        "processes": args.processes,
        "event_loop": "uvloop" if args.uvloop else "asyncio",
        "agent": args.agent,
        "sessions": args.sessions,
        "turns": len(latencies),
        "turns_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(q[94], 2),
        "p99_ms": round(q[98], 2),
        "max_ms": round(max(latencies), 2),
        "rss_mib_per_process": round(max(r["rss_mib"] for r in results), 1),
    }
    first = results[0]
    if args.create:
        for key in ("created_sessions", "create_per_s", "active_sessions",
                    "store_bytes_per_fresh_session"):  # fmt: skip
            figures[key] = first[key]
    else:
        # Growth of the server's used memory from before the first session to after the
        # last turn, per session (the server's own baseline excluded).
        after = max(r["mem_after"] for r in results)
        empty = min(r["mem_empty"] for r in results)
        figures["store_bytes_per_session_with_turns"] = round((after - empty) / args.sessions)
        figures["session_key_bytes"] = round(statistics.mean(r["key_bytes"] for r in results))
    return figures


def main() -> None:
    """Parse arguments, run the workers, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--turns", type=int, default=5, help="closed loop: turns per session")
    parser.add_argument("--rate", type=float, default=0.0, help="open loop: offered turns/s")
    parser.add_argument("--duration", type=float, default=20.0, help="open loop: seconds")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--create", type=int, default=0, help="then create N more live sessions")
    parser.add_argument("--no-uvloop", dest="uvloop", action="store_false")
    parser.add_argument("--agent", choices=["faq", "nlp"], default="faq",
                        help="faq: the simple rule-based agent; nlp: NLPAgent")  # fmt: skip
    args = parser.parse_args()
    args.home = tempfile.mkdtemp(prefix="agentgpt-bench-")
    per = args.sessions // args.processes
    if args.processes == 1:
        results = [_run_worker(0, args, per)]
    else:
        # Workers share one embedded server: the first to arrive starts it.
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(args.processes) as pool:
            results = pool.starmap(_run_worker, [(w, args, per) for w in range(args.processes)])
    print(json.dumps(_summary(args, results)))


if __name__ == "__main__":
    main()
