"""Turns over HTTP: simulated customers against one ``agentgpt serve`` on the embedded store.

Prints one JSON line: turns/s, p50/p95/p99 latency seen by the customers, session creation
rate, errors, and the server's own figures from /metrics (server-side turn latency, lock and
agent-pool waits, store round trips per turn).

Setup: ``--sessions`` customers each get a development token and open a session (all of
them stay live for the run). Then one of two load shapes, as in bench/turns.py:

* closed loop (default): every customer sends ``--turns`` messages back to back;
* open loop (``--rate R``): messages arrive as a Poisson process at R/s over random
  customers for ``--duration`` s; latency is measured from each message's *scheduled*
  arrival, so a slow server cannot hide its queue (no coordinated omission).

The customers share ``--connections`` keep-alive connections on loopback (a portal's
gateway multiplexes its users the same way), through bench/keepalive.py: a lean HTTP/1.1
client, because the SDK's httpx transport costs more CPU per request than the service
spends on the turn, on the same 2 cores. The server is started as a child process
with a fresh data directory unless ``--url`` names a running one.

``--watch`` adds, per process (each uvicorn worker, Valkey, the load generator), CPU,
run-queue wait and keep-alive connections over the measured phase (bench/proc_watch.py),
and the generator's own lag (scheduled arrival to its task's start); with a child server,
Valkey's socket reads per turn come from its ``INFO stats``.

    python bench/http_load.py --sessions 1000 --turns 5
    python bench/http_load.py --sessions 10000 --rate 1000 --duration 30 \
        --plot docs/screenshots/http-latency.png
    python bench/http_load.py --sessions 10000 --rate 1000 --duration 30 --workers 2
    python bench/http_load.py --sessions 10000 --rate 1000 --duration 20 --workers 2 --watch
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file was once http.py, like the standard library's ``http`` package: run as a
# script its folder comes first on the path, so drop it before anything imports ``http``.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse
import asyncio
import contextlib
import json
import os
import random
import tempfile
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import msgspec
import pydantic
import uvloop
from prometheus_client.parser import text_string_to_metric_families

sys.path.append(str(_HERE))  # after the standard library: ``http`` stays the stdlib's
from agentgpt.client.models import SessionInfo, Token, Turn
from agentgpt.demo.launch import LocalServer
from agentgpt.demo.personas import Persona, pick
from agentgpt.demo.stats import percentiles
from keepalive import ConnectionLost, KeepAlivePool
from proc_watch import ProcWatch, worker_pids

_JSON = {"content-type": "application/json"}
DRAIN_S = 30.0  # open loop: how long in-flight messages may take after the last arrival


class Failed(Exception):
    """A response that was not the expected success (its status and problem type)."""

    def __init__(self, status: int, body: bytes) -> None:
        """Keep the status and the problem type for the error count."""
        problem = body.decode(errors="replace")
        with contextlib.suppress(ValueError, AttributeError):
            problem = json.loads(body).get("type", "").rsplit(":", 1)[-1]
        super().__init__(f"HTTP {status} {problem}")


class Run:
    """Latency samples (arrival offset, ms) and errors of the measured phase."""

    def __init__(self) -> None:
        """Start empty."""
        self.samples: list[tuple[float, float]] = []
        self.errors: dict[str, int] = {}
        #: Open loop: how late each message's task started after its scheduled arrival (ms):
        #: the load generator's own loop lag, included in every latency sample.
        self.start_lag: list[float] = []

    def error(self, exc: BaseException) -> None:
        """Count an error by its message (status and problem type) or class."""
        name = str(exc) if isinstance(exc, Failed) else type(exc).__name__
        self.errors[name] = self.errors.get(name, 0) + 1


@dataclass
class Customer:
    """A signed-in customer with an open session and a scripted persona."""

    headers: dict[str, str]
    messages_path: str
    persona: Persona
    sent: int = 0


class Wire:
    """The service over ``--connections`` keep-alive connections (see bench/keepalive.py)."""

    def __init__(self, base_url: str, connections: int) -> None:
        """Connect lazily."""
        self.pool = KeepAlivePool(base_url, connections)

    async def call(
        self, method: str, path: str, into: type[Any], body: Any = None,
        headers: dict[str, str] | None = None, expect: int = 200,
    ) -> Any:  # fmt: skip
        """Send a request, check the status, decode the JSON reply into ``into``."""
        raw = msgspec.json.encode(body) if body is not None else b""
        reply = await self.pool.request(method, path, raw, {**_JSON, **(headers or {})})
        if reply.status != expect:
            raise Failed(reply.status, reply.body)
        return into.model_validate_json(reply.body)  # the API's models: agentgpt.wire

    async def metrics(self) -> str:
        """The service's /metrics text."""
        reply = await self.pool.request("GET", "/metrics")
        return reply.body.decode()

    async def aclose(self) -> None:
        """Close the connections."""
        await self.pool.aclose()


async def enroll(wire: Wire, user: str, rng: random.Random) -> Customer:
    """Get a development token for ``user`` and open a session."""
    token = await wire.call("POST", "/v1/demo/token", Token, {"user": user, "role": "customer"})
    headers = {"authorization": f"Bearer {token.token}"}
    session = await wire.call("POST", "/v1/sessions", SessionInfo, headers=headers, expect=201)
    return Customer(headers, f"/v1/sessions/{session.id}/messages", pick(rng))


async def say(wire: Wire, customer: Customer, rng: random.Random) -> Turn:
    """Send the customer's next scripted line and return the agent's turn."""
    text = customer.persona.line(customer.sent, rng)
    customer.sent += 1
    turn: Turn = await wire.call("POST", customer.messages_path, Turn, {"text": text},
                                 customer.headers)  # fmt: skip
    return turn


async def setup(wire: Wire, count: int, seed: int) -> tuple[list[Customer], float]:
    """Sign ``count`` customers in and open their sessions; return them and sessions/s."""
    rng = random.Random(seed)
    started = time.perf_counter()
    customers = await asyncio.gather(*(enroll(wire, f"bench-{i}", rng) for i in range(count)))
    return list(customers), count / (time.perf_counter() - started)


ERRORS = (Failed, ConnectionLost, OSError, pydantic.ValidationError)


async def closed_loop(
    wire: Wire, customers: list[Customer], turns: int, seed: int, run: Run
) -> float:
    """Every customer sends ``turns`` messages back to back; return the elapsed seconds."""
    rng = random.Random(seed)
    started = time.perf_counter()

    async def customer(c: Customer) -> None:
        for _ in range(turns):
            sent = time.perf_counter()
            try:
                await say(wire, c, rng)
            except ERRORS as exc:
                run.error(exc)
                continue
            run.samples.append((sent - started, (time.perf_counter() - sent) * 1000))

    await asyncio.gather(*(customer(c) for c in customers))
    return time.perf_counter() - started


async def open_loop(
    wire: Wire, customers: list[Customer], rate: float, duration: float, seed: int, run: Run
) -> float:
    """Poisson arrivals at ``rate``/s for ``duration`` s; return the elapsed seconds."""
    rng = random.Random(seed)
    tasks: set[asyncio.Task[None]] = set()
    start = time.perf_counter()

    async def message(c: Customer, due: float) -> None:
        run.start_lag.append((time.perf_counter() - due) * 1000)
        try:
            await say(wire, c, rng)
        except ERRORS as exc:
            run.error(exc)
            return
        run.samples.append((due - start, (time.perf_counter() - due) * 1000))

    due = start
    while due - start < duration:
        due += rng.expovariate(rate)
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(message(rng.choice(customers), due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        _, late = await asyncio.wait(set(tasks), timeout=DRAIN_S)
        for task in late:  # bounded in time: what is still running counts as lost
            task.cancel()
            run.errors["unfinished"] = run.errors.get("unfinished", 0) + 1
    return time.perf_counter() - start


def server_figures(before: str, after: str) -> dict[str, Any]:
    """Deltas of the server's /metrics over the measured phase."""
    a, b = _scalars(before), _scalars(after)

    def delta(name: str) -> float:
        return b.get(name, 0.0) - a.get(name, 0.0)

    turns = delta("agentgpt_turn_latency_seconds_count")
    if not turns:
        return {}
    locks = delta("agentgpt_lock_wait_seconds_count")
    return {
        "server_turn_avg_ms": round(delta("agentgpt_turn_latency_seconds_sum") / turns * 1000, 2),
        "server_lock_wait_avg_ms": round(delta("agentgpt_lock_wait_seconds_sum") / locks * 1000, 3)
        if locks
        else None,
        "server_pool_wait_s": round(delta("agentgpt_pool_wait_seconds_total"), 3),
        "store_round_trips_per_turn": round(delta("agentgpt_store_round_trips") / turns, 2),
    }


def _scalars(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if not sample.labels or sample.name.endswith(("_sum", "_count")):
                out[sample.name] = out.get(sample.name, 0.0) + sample.value
    return out


def process_cpu_s(pid: int | None) -> float:
    """CPU seconds of ``pid`` and its python children (uvicorn workers); 0 if unknown."""
    if pid is None:
        return 0.0
    pids = [pid] + [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and _stat(int(entry.name))[:2] == ["python", str(pid)]
    ]
    tick = os.sysconf("SC_CLK_TCK")
    return sum(float(_stat(p)[2]) + float(_stat(p)[3]) for p in pids if _stat(p)) / tick


def store_stats(home: str | None) -> tuple[int, int]:
    """The embedded Valkey's reads (socket read events) and commands processed so far."""
    if home is None:
        return (0, 0)
    import redis  # the bench reads the server's counters; the service never does this

    client = redis.Redis(unix_socket_path=str(Path(home) / "valkey" / "valkey.sock"))
    try:
        stats = client.info("stats")
    finally:
        client.close()
    return int(stats["total_reads_processed"]), int(stats["total_commands_processed"])


def store_pid(home: str) -> int | None:
    """The embedded Valkey's pid, from its pid file in the service's data directory."""
    try:
        return int((Path(home) / "valkey" / "valkey.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def single_cpu_s(pid: int | None) -> float:
    """CPU seconds of one process; 0 if unknown."""
    fields = _stat(pid) if pid is not None else []
    return (float(fields[2]) + float(fields[3])) / os.sysconf("SC_CLK_TCK") if fields else 0.0


def _stat(pid: int) -> list[str]:
    # /proc/<pid>/stat: "pid (comm) state ppid ... utime stime ..." (fields 14 and 15).
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    comm = text[text.index("(") + 1 : text.rindex(")")]
    rest = text[text.rindex(")") + 2 :].split()
    return [comm.split(".")[0].rstrip("0123456789"), rest[1], rest[11], rest[12]]


def plot(run: Run, path: str, title: str) -> None:
    """Latency over time (scatter) and its CDF, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    times = [t for t, _ in run.samples]
    latencies = sorted(ms for _, ms in run.samples)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    left.scatter(times, [ms for _, ms in run.samples], s=2, alpha=0.3)
    left.set(xlabel="arrival (s since start)", ylabel="latency (ms)", yscale="log",
             title="latency of each turn")  # fmt: skip
    fractions = [(i + 1) / len(latencies) for i in range(len(latencies))]
    right.plot(latencies, fractions)
    for q in (0.5, 0.95, 0.99):
        value = latencies[min(len(latencies) - 1, int(q * len(latencies)))]
        right.axhline(q, color="grey", linewidth=0.5, linestyle="--")
        right.annotate(f"p{round(q * 100)} {value:.1f} ms", (latencies[0], q),
                       xytext=(2, 2), textcoords="offset points", fontsize=8)  # fmt: skip
    right.set(xlabel="latency (ms)", ylabel="fraction of turns", xscale="log", title="CDF")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


async def measure(
    args: argparse.Namespace, base_url: str, server_pid: int | None = None,
    valkey_pid: int | None = None, home: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Set up the customers, run the load shape, collect the figures."""
    wire = Wire(base_url, args.connections)
    try:
        customers, create_per_s = await setup(wire, args.sessions, args.seed)
        before = await wire.metrics()
        reads_before = await asyncio.to_thread(store_stats, home)
        watch = _watch(args, base_url, server_pid, valkey_pid)
        cpu_before = (process_cpu_s(server_pid), time.process_time(), single_cpu_s(valkey_pid))
        run = Run()
        if args.rate:
            elapsed = await open_loop(wire, customers, args.rate, args.duration, args.seed, run)
        else:
            elapsed = await closed_loop(wire, customers, args.turns, args.seed, run)
        if watch is not None:
            watch.stop()
        reads_after = await asyncio.to_thread(store_stats, home)
        after = await wire.metrics()
        server_cpu = process_cpu_s(server_pid) - cpu_before[0]
        client_cpu = time.process_time() - cpu_before[1]
        store_cpu = single_cpu_s(valkey_pid) - cpu_before[2]
    finally:
        await wire.aclose()
    mode = f"open loop at {args.rate:g}/s offered" if args.rate else "closed loop"
    figures: dict[str, Any] = {
        "mode": mode, "sessions": args.sessions, "workers": args.workers,
        "connections": args.connections, "turns": len(run.samples),
        "turns_per_s": round(len(run.samples) / elapsed, 1),
        **percentiles([ms for _, ms in run.samples]),
        "errors": run.errors, "create_sessions_per_s": round(create_per_s, 1),
        "client_cpu_ms_per_turn": round(client_cpu / max(1, len(run.samples)) * 1000, 3),
    }  # fmt: skip
    if server_pid is not None:
        figures["server_cpu_ms_per_turn"] = round(server_cpu / max(1, len(run.samples)) * 1000, 3)
    if home is not None:
        # Valkey's socket reads per turn: a turn makes 2 store calls; fewer than 2 reads per
        # turn means calls of several turns arrived in one write (the channel's flush).
        reads = reads_after[0] - reads_before[0]
        figures["store_reads_per_turn"] = round(reads / max(1, len(run.samples)), 2)
    if valkey_pid is not None:
        figures["store_cpu_ms_per_turn"] = round(store_cpu / max(1, len(run.samples)) * 1000, 3)
    if run.start_lag:
        lag = percentiles(run.start_lag)
        figures["generator_lag_ms"] = {
            k: lag[k] for k in ("p50_ms", "p99_ms", "max_ms") if k in lag
        }
    if watch is not None:
        figures["processes"] = watch.summary()
        if args.watch_timeline:
            timeline = json.dumps(watch.timeline())
            await asyncio.to_thread(Path(args.watch_timeline).write_text, timeline)
    if args.workers == 1 or args.url:
        # With several workers /metrics answers for whichever one took the request.
        figures.update(server_figures(before, after))
    if args.plot:
        plot(run, args.plot, f"agentgpt serve: {args.sessions} sessions, {mode}, "
             f"{figures['turns_per_s']} turns/s")  # fmt: skip
    return figures


def _watch(
    args: argparse.Namespace, base_url: str, server_pid: int | None, valkey_pid: int | None
) -> ProcWatch | None:
    """``--watch``: sample each worker, Valkey and this process over the measured phase."""
    if not args.watch:
        return None
    procs = {"generator": os.getpid()}
    if server_pid is not None:
        for i, pid in enumerate(worker_pids(server_pid)):
            procs[f"worker{i}"] = pid
    if valkey_pid is not None:
        procs["valkey"] = valkey_pid
    watch = ProcWatch(procs, urlsplit(base_url).port)
    watch.start()
    return watch


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    """Measure against ``--url`` or a child ``agentgpt serve`` with a fresh data directory."""
    if args.url:
        return await measure(args, args.url)
    home = tempfile.mkdtemp(prefix="agentgpt-bench-http-")
    async with LocalServer(workers=args.workers, env={"AGENTGPT_HOME": home}) as server:
        assert server.proc is not None
        return await measure(args, server.base_url, server.proc.pid, store_pid(home), home)


def main() -> None:
    """Parse arguments, run, print one JSON line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=1000, help="customers (live sessions)")
    parser.add_argument("--turns", type=int, default=5, help="closed loop: turns per customer")
    parser.add_argument("--rate", type=float, default=0.0, help="open loop: offered turns/s")
    parser.add_argument("--duration", type=float, default=20.0, help="open loop: seconds")
    parser.add_argument("--connections", type=int, default=128, help="keep-alive connections")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--url", help="a running service (default: start one)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--plot", help="write a latency plot (PNG) here")
    parser.add_argument(
        "--watch",
        action="store_true",
        help="per-process CPU, run-queue wait and connections (bench/proc_watch.py)",
    )
    parser.add_argument("--watch-timeline", help="write the per-0.5 s CPU of each process here")
    args = parser.parse_args()
    print(json.dumps(uvloop.run(main_async(args))))


if __name__ == "__main__":
    main()
