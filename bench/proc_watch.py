"""Per-process CPU, run-queue wait and connections over a load run, sampled from /proc.

Used by bench/http_load.py (``--watch``) to see *why* a queue grows when the machine is
not busy on average: the figures of one run are totals, the questions are about shares
and bursts. Every ``interval`` s a thread reads, for each watched process (each uvicorn
worker, Valkey, the load generator itself):

* CPU time (``/proc/<pid>/stat`` utime + stime, all threads);
* run-queue wait (``/proc/<pid>/task/*/schedstat``, second field: ns spent runnable but
  not running; the kernel's own measure of "wanted a core and did not get one");
* established connections on the service's port (workers only): how the keep-alive
  connections were spread over the workers.

``summary()`` gives per process: CPU share of one core (mean, and the busiest interval),
run-queue wait per second of run, and the connection count.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    text = Path(f"/proc/{pid}/stat").read_text()
    rest = text[text.rindex(")") + 2 :].split()
    return (int(rest[11]) + int(rest[12])) / _TICK


def _wait_s(pid: int) -> float:
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue  # a thread that ended between listing and reading
    return total / 1e9


@dataclass
class _Series:
    name: str
    pid: int
    cpu: list[float] = field(default_factory=list)
    wait: list[float] = field(default_factory=list)


class ProcWatch:
    """Samples the named processes every ``interval`` s in a thread until ``stop()``."""

    def __init__(self, procs: dict[str, int], port: int | None, interval: float = 0.5) -> None:
        """Watch ``procs`` (name -> pid); count connections to ``port`` for the workers."""
        self.series = [_Series(name, pid) for name, pid in procs.items()]
        self.port = port
        self.interval = interval
        self.times: list[float] = []
        self.connections: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        """Take the first sample and start sampling."""
        self._sample()
        self._thread.start()

    def stop(self) -> None:
        """Take the last sample and count the connections."""
        self._stop.set()
        self._thread.join()
        self._sample()
        self.connections = {s.name: self._established(s.pid) for s in self.series}

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        self.times.append(time.perf_counter())
        for s in self.series:
            try:
                s.cpu.append(_cpu_s(s.pid))
                s.wait.append(_wait_s(s.pid))
            except OSError:
                s.cpu.append(s.cpu[-1] if s.cpu else 0.0)
                s.wait.append(s.wait[-1] if s.wait else 0.0)

    def _established(self, pid: int) -> int:
        if self.port is None:
            return 0
        try:
            conns = psutil.Process(pid).net_connections(kind="tcp")
        except psutil.Error:
            return 0
        return sum(
            1 for c in conns if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == self.port
        )

    def summary(self) -> dict[str, Any]:
        """Per process: mean and peak CPU (cores), run-queue wait (ms per s), connections."""
        span = self.times[-1] - self.times[0]
        out: dict[str, Any] = {}
        # The last interval can be a sliver (stop() samples once more): too short to divide by.
        whole = [
            i for i in range(len(self.times) - 1)
            if self.times[i + 1] - self.times[i] >= self.interval / 2
        ]  # fmt: skip
        for s in self.series:
            steps = [(s.cpu[i + 1] - s.cpu[i]) / (self.times[i + 1] - self.times[i]) for i in whole]
            out[s.name] = {
                "cpu_cores": round((s.cpu[-1] - s.cpu[0]) / span, 3),
                "cpu_cores_peak": round(max(steps, default=0.0), 3),
                "runq_wait_ms_per_s": round((s.wait[-1] - s.wait[0]) / span * 1000, 1),
                "connections": self.connections.get(s.name, 0),
            }
        return out

    def timeline(self) -> list[dict[str, float]]:
        """CPU (cores) of each process in each interval, for a plot or a look by eye."""
        rows = []
        for i in range(len(self.times) - 1):
            dt = self.times[i + 1] - self.times[i]
            row = {"t": round(self.times[i] - self.times[0], 2)}
            for s in self.series:
                row[s.name] = round((s.cpu[i + 1] - s.cpu[i]) / dt, 2)
            rows.append(row)
        return rows


def worker_pids(parent: int) -> list[int]:
    """The uvicorn worker processes of ``agentgpt serve`` (its python children), or itself."""
    try:
        children = psutil.Process(parent).children()
    except psutil.Error:
        return [parent]
    workers = []
    for child in children:
        try:
            cmdline = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "python" in child.name() and "resource_tracker" not in cmdline:
            workers.append(child.pid)
    return workers or [parent]
