"""Isolated runtimes (issue 18): added turn latency and where it goes, the ordinary sessions'
latency beside a hostile agent, cold start, idle memory, density.

Prints one JSON line:
- ``turn_p50_ms_in_process`` / ``turn_p50_ms_isolated`` / ``added_p50_ms``: sequential
  turns of FAQAgent sessions on the embedded store, in the service process and in a bound
  sandbox worker, interleaved turn by turn so drift hits both alike (target <= 2 ms added,
  warm);
- ``echo_rtt_p50_ms``: the same-run baseline, interleaved with those turns: a bare round
  trip over the same IPC (same driver, sandbox, cgroup and frames) to a worker whose handler
  returns its input; ``added_beyond_echo_p50_ms`` is what the turn adds beyond it;
- where the wall time goes, per isolated turn (``/proc/<pid>/schedstat``): the worker's CPU
  (``worker_cpu_us``), the time the worker waited for a CPU after its pipe woke it
  (``worker_runq_us``), and the service thread's run-queue wait per turn pair
  (``service_runq_us_per_pair``): on a shared box, waiting for a CPU is most of it;
  ``phase_p50_ms``: each phase of both kinds of turn (lock + load, the agent or the worker
  call, commit) and the service thread's CPU per turn (``time.thread_time``);
- ``call_p50_ms``: the FAQ worker's round trip alone in a tight loop (no turn between calls);
- ``cold_start_ms``: median time from spawn to the worker's hello (bubblewrap + cgroup +
  interpreter + imports), over ``--cold`` starts; ``idle_worker_mib``: median memory charged
  to an idle worker's cgroup; ``workers_started`` / ``workers_started_mib`` /
  ``workers_fit_memory``: ``--workers`` idle workers started (two at a time; all must come
  up), their memory, and how many idle workers fit in 80% of this box's RAM;
- with ``--hostile N``: ``--sessions`` ordinary in-process FAQ sessions run rounds of
  concurrent turns while a hostile agent in a sandboxed session of a capped region (0.25
  CPU, 128Mi, 32 pids) runs its attacks (busy loop, 2 GiB, fork bomb, reading the data
  directory, /proc, a socket to the store), N times; as many quiet rounds as each attack
  lasted, run around it, are the baseline (same run, bracketing it): ``ordinary_p50_ms`` /
  ``ordinary_p99_ms`` quiet and under attack, and the p99 ratio (issue 18: <= 1.25); the
  service thread's CPU per ordinary turn and its share of a CPU (CPU time / wall time) in
  each phase tell whether the attack costs the service work or leaves it less CPU.

    python bench/runtime.py --turns 500 --cold 5 --workers 20 --hostile 3 [--uvloop]
"""

from __future__ import annotations

import sys
from pathlib import Path

# a module here could shadow a stdlib one (bench/http.py did) (here and in the workers,
# which import from this process's path): drop this folder from the path first. The repo
# root goes on it for the hostile agent (tests/runtime/hostile_agent.py), also in workers.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.append(str(_HERE.parent))

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

from agentgpt import AgentPool, FAQAgent, Session, SessionManager
from agentgpt.agents.context import Context
from agentgpt.agents.isolated import HANDLER_FACTORY, agent_path, encode_call
from agentgpt.config.paths import data_home
from agentgpt.config.runtime_settings import RuntimeSettings
from agentgpt.config.settings import SessionSettings
from agentgpt.errors import AgentError
from agentgpt.runtime import HandlerSpec, RegionLimits, ResourcePolicy, parse_memory
from agentgpt.runtime.sandbox import SandboxDriver, SandboxWorker
from agentgpt.store.context_store import RedisContextStore

LINES = ("I forgot my password", "my card is blocked", "how do I open an account?", "thanks")
HANDLER = HandlerSpec(HANDLER_FACTORY, agent_path(FAQAgent))
ECHO = HandlerSpec("agentgpt.runtime.worker:echo_handler")
# The sandbox has no network at all: any local port is refused (the embedded store's too).
ATTACKS = ("spin", "alloc", "fork", "listdir {home}", "listdir /proc", "connect 127.0.0.1 6379")


def schedstat(pid: int, tid: int | None = None) -> tuple[int, int]:
    """(ns on a CPU, ns waiting on a run queue) of a process (or one of its threads)."""
    where = f"/proc/{pid}/task/{tid}" if tid is not None else f"/proc/{pid}"
    run, wait, _ = Path(f"{where}/schedstat").read_text().split()
    return int(run), int(wait)


def sched_of(pids: list[int]) -> tuple[int, int]:
    """Summed schedstat of ``pids``."""
    stats = [schedstat(p) for p in pids]
    return sum(s[0] for s in stats), sum(s[1] for s in stats)


def p99(samples: list[float]) -> float:
    """The 99th percentile."""
    return statistics.quantiles(samples, n=100)[98]


async def turn_latency(turns: int) -> dict[str, object]:
    """Interleaved sequential turns: in process, isolated, and a bare echo round trip."""
    settings = SessionSettings(runtime=RuntimeSettings(min_ready=1))
    manager = SessionManager(store=RedisContextStore(), settings=settings)
    manager.agents = AgentPool(FAQAgent, min_ready=1)  # type: ignore[attr-defined]
    plain = await manager.create_session("bench-plain")
    isolated = await manager.create_session("bench-isolated", runtime="sandbox")
    samples: dict[str, list[float]] = {"plain": [], "isolated": [], "echo": []}
    echo_body = encode_call("I forgot my password", Context(), ())
    # Each phase of the turn, timed on this manager instance (the same wrapper both sides).
    phases: dict[str, list[float]] = {}
    kind = ["plain"]

    def timed(name: str, method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def run(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await method(*args, **kwargs)
            finally:
                spent = (time.perf_counter() - started) * 1000
                phases.setdefault(f"{kind[0]}.{name}", []).append(spent)

        return run

    for name in ("begin_turn", "_process", "commit_turn"):
        setattr(manager, name, timed(name, getattr(manager, name)))
    try:
        await manager.handle(isolated.id, "warm up")
        pool = await manager.isolation.service.pool("sandbox")
        echo = await pool.driver.start(ECHO, pool.base_policy)
        bound = pool.bound_worker(isolated.id)
        assert isinstance(bound, SandboxWorker)
        assert isinstance(echo, SandboxWorker)
        me = os.getpid()
        for i in range(turns + 20):
            if i == 20:  # warm-up done: the pool, the worker's imports, the store
                worker_before, service_before = sched_of(bound.group.pids()), schedstat(me, me)
            if i == 20:
                phases.clear()
            for name in ("plain", "isolated", "echo"):
                kind[0] = name
                started, cpu = time.perf_counter(), time.thread_time()
                if name == "echo":
                    await echo.call(echo_body, 10)
                else:
                    session = plain if name == "plain" else isolated
                    await manager.handle(session.id, LINES[i % len(LINES)])
                if i >= 20:
                    samples[name].append((time.perf_counter() - started) * 1000)
                    phases.setdefault(f"{name}.service_cpu", []).append(
                        (time.thread_time() - cpu) * 1000
                    )
        worker_after, service_after = sched_of(bound.group.pids()), schedstat(me, me)
        await echo.stop()
    finally:
        await manager.aclose()
    p50 = {k: statistics.median(v) for k, v in samples.items()}
    added = p50["isolated"] - p50["plain"]
    return {
        "turn_p50_ms_in_process": round(p50["plain"], 3),
        "turn_p50_ms_isolated": round(p50["isolated"], 3),
        "added_p50_ms": round(added, 3),
        "echo_rtt_p50_ms": round(p50["echo"], 3),
        "added_beyond_echo_p50_ms": round(added - p50["echo"], 3),
        "worker_cpu_us": round((worker_after[0] - worker_before[0]) / turns / 1e3, 1),
        "worker_runq_us": round((worker_after[1] - worker_before[1]) / turns / 1e3, 1),
        "service_runq_us_per_pair": round((service_after[1] - service_before[1]) / turns / 1e3),
        "phase_p50_ms": {k: round(statistics.median(v), 3) for k, v in sorted(phases.items())},
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

    async def start_one() -> SandboxWorker:
        async with gate:
            return await driver.start(HANDLER, policy)

    many = await asyncio.gather(*(start_one() for _ in range(workers)))
    idle_total = sum([await w.memory_usage() for w in many])
    for w in many:
        await w.stop()
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


async def _round(manager: SessionManager, sessions: list[Session], i: int) -> list[float]:
    async def turn(session: Session) -> float:
        started = time.perf_counter()
        await manager.handle(session.id, LINES[i % len(LINES)])
        return (time.perf_counter() - started) * 1000

    return list(await asyncio.gather(*(turn(s) for s in sessions)))


async def _attack(manager: SessionManager, session_id: str) -> int:
    """Every attack in turn; how many were refused (each must be contained, not answered)."""
    refused = 0
    for line in ATTACKS:
        try:
            await manager.handle(session_id, line.format(home=data_home()))
        except AgentError:
            refused += 1
    return refused


async def hostile_figures(times: int, sessions_n: int, quiet_rounds: int) -> dict[str, float]:
    """The ordinary sessions' latency quiet and beside a hostile agent, alternating."""
    from tests.runtime.hostile_agent import HostileAgent

    store = RedisContextStore()
    limits = RegionLimits(store)
    await limits.set(
        "quarantine",
        ResourcePolicy(max_cpu=0.25, max_memory=parse_memory("128Mi"), max_pids=32),
    )
    runtime = RuntimeSettings(default="sandbox", min_ready=1, turn_timeout=2)
    hostile = SessionManager(store=store, settings=SessionSettings(runtime=runtime))
    hostile.agents = AgentPool(HostileAgent, min_ready=1)  # type: ignore[attr-defined]
    ordinary = SessionManager(store=store)
    ordinary.agents = AgentPool(FAQAgent, min_ready=8, max_connections=64)  # type: ignore[attr-defined]
    quiet: list[float] = []
    loud: list[float] = []
    refused = 0
    # The service thread's CPU and the wall time of each phase: does the attack make the
    # service do more per turn, or leave it less CPU?
    spent = {"quiet": [0.0, 0.0], "attacked": [0.0, 0.0]}
    expected = quiet_rounds  # attacked rounds expected of the next attack

    async def rounds(phase: str, count: int | None, attack: asyncio.Task[int] | None) -> int:
        wall, cpu = time.perf_counter(), time.thread_time()
        out = quiet if phase == "quiet" else loud
        i = 0
        while (count is not None and i < count) or (attack is not None and not attack.done()):
            out.extend(await _round(ordinary, sessions, i))
            i += 1
        spent[phase][0] += time.perf_counter() - wall
        spent[phase][1] += time.thread_time() - cpu
        return i

    try:
        sessions = [await ordinary.create_session(f"customer-{i}") for i in range(sessions_n)]
        attacker = await hostile.create_session("mallory", region="quarantine")
        await hostile.handle(attacker.id, "warm up")
        for i in range(3):
            await _round(ordinary, sessions, i)
        for _ in range(times):
            # As many quiet rounds as the attack lasted, half before it and half after: a
            # round's 100 turns share its fate (a stall hits them all), so p99 is decided by
            # the worst rounds, and comparing 20 rounds with 100 would favour the fewer.
            await rounds("quiet", (expected + 1) // 2, None)
            attack = asyncio.create_task(_attack(hostile, attacker.id))
            lasted = await rounds("attacked", None, attack)
            await rounds("quiet", max(0, lasted - (expected + 1) // 2), None)
            expected = lasted
            refused += attack.result()
    finally:
        await limits.unset("quarantine")
        await hostile.aclose()
        await ordinary.aclose()
    return {
        "hostile_attacks_run": times,
        "hostile_turns_refused": refused,
        "ordinary_p50_ms_quiet": round(statistics.median(quiet), 1),
        "ordinary_p99_ms_quiet": round(p99(quiet), 1),
        "ordinary_p50_ms_attacked": round(statistics.median(loud), 1),
        "ordinary_p99_ms_attacked": round(p99(loud), 1),
        "ordinary_p99_ratio": round(p99(loud) / p99(quiet), 2),
        "service_cpu_ms_per_turn_quiet": round(spent["quiet"][1] * 1000 / len(quiet), 3),
        "service_cpu_ms_per_turn_attacked": round(spent["attacked"][1] * 1000 / len(loud), 3),
        "service_cpu_share_quiet": round(spent["quiet"][1] / spent["quiet"][0], 2),
        "service_cpu_share_attacked": round(spent["attacked"][1] / spent["attacked"][0], 2),
        "ordinary_turns_quiet": len(quiet),
        "ordinary_turns_attacked": len(loud),
    }


async def main(args: argparse.Namespace) -> None:
    """Run every measurement and print one JSON line."""
    figures: dict[str, object] = {"cpus": os.cpu_count(), "loadavg": os.getloadavg()[0]}
    figures["loop"] = "uvloop" if args.uvloop else "asyncio"
    figures.update(await turn_latency(args.turns))  # first: nothing else started or stopped yet
    figures.update(await worker_figures(args.cold, args.workers))
    if args.hostile:
        figures.update(await hostile_figures(args.hostile, args.sessions, args.quiet_rounds))
    figures["loadavg_end"] = os.getloadavg()[0]
    print(json.dumps(figures))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--cold", type=int, default=5)
    parser.add_argument("--workers", type=int, default=20)
    parser.add_argument("--hostile", type=int, default=0, help="attacks to run (0: none)")
    parser.add_argument("--sessions", type=int, default=100, help="ordinary sessions")
    parser.add_argument(
        "--quiet-rounds", type=int, default=20, help="attacked rounds expected of the first attack"
    )
    parser.add_argument("--uvloop", action="store_true", help="the service's loop (agentgpt serve)")
    arguments = parser.parse_args()
    os.environ.setdefault("AGENTGPT_HOME", tempfile.mkdtemp(prefix="agentgpt-bench-"))
    if arguments.uvloop:
        import uvloop

        uvloop.run(main(arguments))
    else:
        asyncio.run(main(arguments))
