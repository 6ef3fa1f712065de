"""Faults under HTTP load, bounded: what each costs and whether anything acknowledged is lost.

Usage: ``python bench/chaos.py [--duration 180] [--seed 1] [--customers 12] [--baseline]``

Two stages on loopback, each with customers sending numbered turns (every one with its own
``Idempotency-Key``, retried until acknowledged: ``tests/faultload.py``):

1. ``agentgpt serve`` on its embedded Valkey (AOF, fsync every second, ``durability:
   local``). Faults at random, each at least once: ``store-kill`` (SIGKILL of the Valkey:
   the supervisor restarts it), ``store-stop`` (SIGSTOP for 3 s, then SIGCONT: a hung
   store), ``worker-kill`` (SIGKILL of the service; restarted at once on the same port, as
   an orchestrator would), ``worker-term`` (SIGTERM: it drains, then is restarted).
2. A 3-primary / 3-replica cluster, once per durability level (``local``, ``replica``):
   ``primary-kill`` (SIGKILL of the primary serving a customer's session; the node is
   started again once a replica took over). ``--baseline`` adds a ``replica`` run with
   redis-py's stock ``RedisCluster`` in the service (the client before issue 14).

Per fault: failed attempts, ``first ok`` (the first acknowledged turn started after the
fault), ``recovered`` (the end of the last failed attempt), and the acknowledged / stored
/ lost / duplicated turns over the stage so far (lost: acknowledged, not in the log).
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(_ROOT))  # tests/faultload.py and tests/servers.py

import argparse  # noqa: E402
import asyncio  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import IO  # noqa: E402

import httpx  # noqa: E402
from tests import servers  # noqa: E402
from tests.faultload import Audit, FaultLoad  # noqa: E402

from agentgpt.store import keys as K  # noqa: E402

#: ``agentgpt serve`` with redis-py's stock cluster client (the baseline of primary-kill).
STOCK_CLIENT = """
import sys
from redis.asyncio.cluster import RedisCluster
import agentgpt.store.connection as connection
connection.FailoverCluster = RedisCluster
from agentgpt.cli.app import main
sys.exit(main(sys.argv[1:]))
"""

EMBEDDED_FAULTS = ("store-kill", "store-stop", "worker-kill", "worker-term")
DURABILITY_ENV = "AGENTGPT_SESSION_STORAGE__CONFIG__DURABILITY"


@dataclass
class Row:
    """One fault's figures."""

    stage: str
    fault: str
    errors: int
    first_ok: float | None
    recovered: float
    audit: Audit
    note: str = ""

    def line(self) -> str:
        """The row as printed."""
        ok = f"{self.first_ok:.2f}" if self.first_ok is not None else "never"
        a = self.audit
        return (
            f"{self.stage:<18} {self.fault:<13} {self.errors:>6} {ok:>9} {self.recovered:>9.2f}"
            f" {a.acknowledged:>6} {a.stored:>6} {a.lost:>5} {a.duplicated:>5}  {self.note}"
        )


HEADER = (
    f"{'stage':<18} {'fault':<13} {'errors':>6} {'first ok':>9} {'recovered':>9}"
    f" {'acked':>6} {'stored':>6} {'lost':>5} {'dup':>5}  note (s after the fault)"
)


class Service:
    """``agentgpt serve`` on a fixed port, restartable (stderr kept in a file)."""

    def __init__(self, url: str | None, *, stock_cluster_client: bool = False, **env: str) -> None:
        """Describe the service on ``url`` (None: the embedded store of ``AGENTGPT_HOME``).

        ``stock_cluster_client``: the baseline, redis-py's own ``RedisCluster`` in place of
        ``FailoverCluster`` (swapped in the service process by this benchmark only).
        """
        self.stock = stock_cluster_client
        self.port = servers.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.url = url
        self.env = {
            **os.environ,
            "AGENTGPT_SERVER__RATE_PER_USER": "100000",
            "AGENTGPT_SERVER__RATE_BURST": "100000",
            "AGENTGPT_SERVER__DEMO_TOKENS": "true",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()

    def start(self, timeout: float = 60.0) -> float:
        """Start it; return the seconds until ``/readyz`` answered 200."""
        serve = ["serve", "--port", str(self.port)]
        if self.url is not None:
            serve += ["--url", self.url]
        argv = [sys.executable, "-m", "agentgpt", *serve]
        if self.stock:
            argv = [sys.executable, "-c", STOCK_CLIENT, *serve]
        started = time.monotonic()
        self.proc = subprocess.Popen(argv, env=self.env, stdout=subprocess.DEVNULL, stderr=self.log)
        while time.monotonic() - started < timeout:
            if self.proc.poll() is not None:
                self.log.seek(0)
                tail = self.log.read().decode(errors="replace")[-1500:]
                raise RuntimeError(f"agentgpt serve exited with {self.proc.returncode}: {tail}")
            try:
                if httpx.get(f"{self.base}/readyz", timeout=1.0).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("agentgpt serve did not become ready")

    def signal(self, sig: signal.Signals) -> None:
        """Send ``sig`` to the service and wait for it to exit."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(60)

    def stop(self) -> None:
        """Stop it (SIGTERM) and close its log."""
        if self.proc is not None and self.proc.poll() is None:
            self.signal(signal.SIGTERM)
        self.log.close()


def _first_ok(load: FaultLoad, since: float) -> float | None:
    ends = [a.end for a in load.attempts if a.ok and a.start >= since]
    return min(ends) - since if ends else None


async def _embedded_stage(seconds: float, rng: random.Random, customers: int) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="chaos-home-") as home:
        restarts = {"AGENTGPT_SESSION_STORAGE__CONFIG__EMBEDDED_MAX_RESTARTS": "100"}
        service = Service(None, AGENTGPT_HOME=home, **restarts)
        await asyncio.to_thread(service.start)
        load = FaultLoad(service.base, customers=customers)
        try:
            await load.enroll("chaos-embedded-")
            end = time.monotonic() + seconds
            running = asyncio.create_task(load.run(seconds))
            faults = list(EMBEDDED_FAULTS)
            rng.shuffle(faults)
            while time.monotonic() < end - 12:
                await asyncio.sleep(rng.uniform(3.0, 5.0))
                fault = faults.pop(0) if faults else rng.choice(EMBEDDED_FAULTS)
                at = time.monotonic()
                note = await _inject(fault, service, Path(home))
                await asyncio.sleep(6.0)  # let it recover before the next one
                rows.append(
                    Row(
                        "embedded/local",
                        fault,
                        load.errors(at),
                        _first_ok(load, at),
                        load.recovery(at),
                        await load.audit(),
                        note,
                    )
                )
            await running
            rows.append(Row("embedded/local", "(end)", 0, None, 0.0, await load.audit()))
        finally:
            await load.aclose()
            await asyncio.to_thread(service.stop)
    return rows


async def _inject(fault: str, service: Service, home: Path) -> str:
    """Inject ``fault``; return a note on what it took (restart times)."""
    if fault in ("store-kill", "store-stop"):
        pid = int((home / "valkey" / "valkey.pid").read_text())
        if fault == "store-kill":
            os.kill(pid, signal.SIGKILL)
            return ""
        os.kill(pid, signal.SIGSTOP)
        await asyncio.sleep(3.0)
        os.kill(pid, signal.SIGCONT)
        return "SIGCONT at 3.00"
    started = time.monotonic()
    sig = signal.SIGKILL if fault == "worker-kill" else signal.SIGTERM
    await asyncio.to_thread(service.signal, sig)
    exited = time.monotonic() - started
    ready = await asyncio.to_thread(service.start)
    return f"exited {exited:.2f}, ready again {exited + ready:.2f}"


async def _cluster_stage(durability: str, customers: int, *, stock: bool = False) -> Row:
    with servers.replicated_cluster(node_timeout_ms=2000) as nodes:
        url = "redis+cluster://" + ",".join(nodes.nodes)
        service = Service(url, stock_cluster_client=stock, **{DURABILITY_ENV: durability})
        await asyncio.to_thread(service.start)
        load = FaultLoad(service.base, customers=customers)
        try:
            await load.enroll(f"chaos-{durability}-")
            running = asyncio.create_task(load.run(16))
            await asyncio.sleep(4)
            victim = await asyncio.to_thread(
                nodes.primary_of, K.session_keys(load.customers[0].session_id).meta
            )
            at = time.monotonic()
            await asyncio.to_thread(nodes.kill, victim)
            failover = await asyncio.to_thread(nodes.wait_failover)
            await asyncio.to_thread(nodes.start)
            await running
            # Turns acknowledged between the kill and the promotion: the healthy shards'.
            served = sum(1 for a in load.attempts if a.ok and at <= a.start < at + failover)
            stage = f"cluster/{durability}" + (" stock" if stock else "")
            note = f"failover {failover:.2f}, {served} turns served before it"
            audit = await load.audit()
            errors, first = load.errors(at), _first_ok(load, at)
            return Row(stage, "primary-kill", errors, first, load.recovery(at), audit, note)
        finally:
            await load.aclose()
            await asyncio.to_thread(service.stop)


async def main() -> None:
    """Run both stages within ``--duration`` and print one row per fault."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=180.0, help="seconds, all stages")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--customers", type=int, default=12)
    parser.add_argument(
        "--baseline", action="store_true", help="also primary-kill with redis-py's own client"
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    cluster_s = 2 * 35.0  # two failover runs of about 35 s each (cluster set-up included)
    embedded_s = max(40.0, args.duration - cluster_s)
    print(HEADER, flush=True)
    rows = await _embedded_stage(embedded_s, rng, args.customers)
    for row in rows:
        print(row.line(), flush=True)
    for durability in ("local", "replica"):
        print((await _cluster_stage(durability, args.customers)).line(), flush=True)
    if args.baseline:
        print((await _cluster_stage("replica", args.customers, stock=True)).line(), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
