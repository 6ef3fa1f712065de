"""Per-worker cgroups on v1 (one hierarchy per controller) or v2 (the unified hierarchy).

The service creates ``<root>/<parent>/<worker>`` in each hierarchy it needs, writes the
limits there and has the worker join before it runs any agent code. Everything here is a
few small writes to the cgroup filesystem: callers on the event loop run it in a thread.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from agentgpt.errors import RuntimeUnavailable
from agentgpt.runtime.policy import ResourcePolicy

CGROUP_ROOT = Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("cpu", "memory", "pids")
#: The CFS period the quota is a share of (the kernel's default).
CFS_PERIOD_US = 100_000
#: cpu.shares of one full CPU (v1); v2's cpu.weight default is 100.
SHARES_PER_CPU = 1024


@dataclass(frozen=True)
class CgroupLayout:
    """Where the controllers live: v2 (one directory) or v1 (one per controller)."""

    version: int
    dirs: dict[str, Path]  # controller -> hierarchy root (v2: the same path for all)

    def parent(self, controller: str, name: str) -> Path:
        """The directory of ``name`` under ``controller``'s hierarchy."""
        return self.dirs[controller] / name


def detect(root: Path = CGROUP_ROOT) -> CgroupLayout:
    """Find writable cpu, memory and pids controllers; ``RuntimeUnavailable`` names what lacks."""
    unified = _unified_root(root)
    if unified is not None:
        available = (unified / "cgroup.controllers").read_text().split()
        missing = [c for c in V1_CONTROLLERS if c not in available]
        if not missing:
            _require_writable(unified)
            return CgroupLayout(2, dict.fromkeys(V1_CONTROLLERS, unified))
    dirs = {c: root / c for c in V1_CONTROLLERS if (root / c / "cgroup.procs").exists()}
    missing = [c for c in V1_CONTROLLERS if c not in dirs]
    if missing:
        raise RuntimeUnavailable(
            f"sandbox runtime: cgroup controller(s) {', '.join(missing)} not mounted "
            f"under {root} (v1) nor enabled in a v2 hierarchy"
        )
    for path in dirs.values():
        _require_writable(path)
    return CgroupLayout(1, dirs)


def _unified_root(root: Path) -> Path | None:
    for candidate in (root, root / "unified"):
        if (candidate / "cgroup.controllers").exists():
            return candidate
    return None


def _require_writable(path: Path) -> None:
    if not os.access(path, os.W_OK):
        raise RuntimeUnavailable(
            f"sandbox runtime: cgroup {path} is not writable (run as root or delegate it)"
        )


class WorkerCgroup:
    """One worker's cgroup in every hierarchy: limits, membership, OOM count, teardown."""

    def __init__(self, layout: CgroupLayout, parent: str, name: str) -> None:
        """Name the cgroup; nothing is created until ``create``."""
        self.layout = layout
        self.paths = {c: layout.parent(c, parent) / name for c in V1_CONTROLLERS}

    @property
    def procs_files(self) -> list[Path]:
        """The ``cgroup.procs`` files a new process writes its pid into (one per hierarchy)."""
        return sorted({p / "cgroup.procs" for p in self.paths.values()})

    def create(self, policy: ResourcePolicy) -> None:
        """Create the directories (parents too) and apply ``policy``."""
        for path in set(self.paths.values()):
            if self.layout.version == 2:  # controllers must be enabled on every ancestor
                _enable_controllers(path.parent.parent)
                path.parent.mkdir(exist_ok=True)
                _enable_controllers(path.parent)
            path.mkdir(parents=True, exist_ok=True)
        self.apply(policy)

    def apply(self, policy: ResourcePolicy) -> None:
        """Write ``policy``'s limits (unset ones go back to unlimited)."""
        if self.layout.version == 2:
            self._apply_v2(policy)
        else:
            self._apply_v1(policy)

    def _apply_v1(self, policy: ResourcePolicy) -> None:
        cpu, memory, pids = self.paths["cpu"], self.paths["memory"], self.paths["pids"]
        quota = -1 if policy.max_cpu is None else int(policy.max_cpu * CFS_PERIOD_US)
        _write(cpu / "cpu.cfs_period_us", CFS_PERIOD_US)
        _write(cpu / "cpu.cfs_quota_us", quota)
        _write(cpu / "cpu.shares", _shares(policy.cpu_guarantee))
        limit = -1 if policy.max_memory is None else policy.max_memory
        _write_memory_v1(memory, limit)
        _write(pids / "pids.max", "max" if policy.max_pids is None else policy.max_pids)

    def _apply_v2(self, policy: ResourcePolicy) -> None:
        path = self.paths["cpu"]
        quota = "max" if policy.max_cpu is None else int(policy.max_cpu * CFS_PERIOD_US)
        _write(path / "cpu.max", f"{quota} {CFS_PERIOD_US}")
        weight = round(_shares(policy.cpu_guarantee) * 100 / SHARES_PER_CPU)
        _write(path / "cpu.weight", min(max(weight, 1), 10_000))
        memory = "max" if policy.max_memory is None else policy.max_memory
        _write(path / "memory.max", memory)
        with contextlib.suppress(FileNotFoundError):  # no swap accounting: nothing to cap
            _write(path / "memory.swap.max", 0 if policy.max_memory is not None else "max")
        _write(path / "pids.max", "max" if policy.max_pids is None else policy.max_pids)

    def oom_kills(self) -> int:
        """How many processes the kernel killed here for exceeding the memory limit."""
        memory = self.paths["memory"]
        name = "memory.events" if self.layout.version == 2 else "memory.oom_control"
        try:
            lines = (memory / name).read_text().splitlines()
        except FileNotFoundError:
            return 0
        for line in lines:
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def memory_usage(self) -> int:
        """Bytes charged to the worker now."""
        memory = self.paths["memory"]
        name = "memory.current" if self.layout.version == 2 else "memory.usage_in_bytes"
        return int((memory / name).read_text())

    def pids(self) -> list[int]:
        """Processes in the worker's cgroup."""
        found: set[int] = set()
        for procs in self.procs_files:
            with contextlib.suppress(FileNotFoundError):
                found.update(int(p) for p in procs.read_text().split())
        return sorted(found)

    def destroy(self, deadline: float = 5.0) -> None:
        """Kill every process of the worker (a fork bomb included), then remove the cgroup."""
        kill_file = self.paths["pids"] / "cgroup.kill"
        if self.layout.version == 2 and kill_file.exists():
            _write(kill_file, 1)
        until = time.monotonic() + deadline
        while (pids := self.pids()) and time.monotonic() < until:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.005)
        for path in set(self.paths.values()):
            with contextlib.suppress(FileNotFoundError, OSError):
                path.rmdir()


def _shares(guarantee: float | None) -> int:
    return 1024 if guarantee is None else max(2, int(guarantee * SHARES_PER_CPU))


def _write_memory_v1(path: Path, limit: int) -> None:
    # memsw (memory + swap) must stay >= memory: order the two writes by direction.
    memsw = path / "memory.memsw.limit_in_bytes"
    has_memsw = memsw.exists()
    current = int((path / "memory.limit_in_bytes").read_text())
    raising = limit == -1 or limit > current
    if has_memsw and raising:
        _write(memsw, limit)
    _write(path / "memory.limit_in_bytes", limit)
    if has_memsw and not raising:
        _write(memsw, limit)


def _enable_controllers(path: Path) -> None:
    control = path / "cgroup.subtree_control"
    enabled = control.read_text().split() if control.exists() else []
    wanted = " ".join(f"+{c}" for c in V1_CONTROLLERS if c not in enabled)
    if wanted:
        _write(control, wanted)


def _write(path: Path, value: object) -> None:
    with path.open("w") as handle:
        handle.write(str(value))
