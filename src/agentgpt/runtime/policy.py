"""Resource policies of workers: CPU, memory and process limits, parsed and combined."""

from __future__ import annotations

import re

import msgspec

from agentgpt.errors import InvalidInput

_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?|[kmgt]i?|B|b)?\s*$")
_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "m": 10**6,
    "g": 10**9,
    "t": 10**12,
    "ki": 2**10,
    "mi": 2**20,
    "gi": 2**30,
    "ti": 2**40,
}
#: Below this a Python worker cannot even start (the interpreter alone takes ~10 MiB).
MIN_MEMORY = 32 * 2**20
MAX_CPU = 1024.0
MIN_PIDS, MAX_PIDS = 8, 100_000


class ResourcePolicy(msgspec.Struct, frozen=True, kw_only=True):
    """Limits one worker runs under; ``None`` means the driver's default.

    ``max_cpu`` caps CPUs (a CFS quota); ``cpu_guarantee`` is the session's share when the
    machine is busy (a CFS weight: proportional, not a reservation); ``max_memory`` in bytes
    (the kernel kills the worker beyond it); ``max_pids`` bounds processes and threads.
    """

    max_cpu: float | None = None
    max_memory: int | None = None
    max_pids: int | None = None
    cpu_guarantee: float | None = None

    def merged(self, other: ResourcePolicy) -> ResourcePolicy:
        """This policy with ``other``'s values where this one has none."""
        return ResourcePolicy(
            max_cpu=self.max_cpu if self.max_cpu is not None else other.max_cpu,
            max_memory=self.max_memory if self.max_memory is not None else other.max_memory,
            max_pids=self.max_pids if self.max_pids is not None else other.max_pids,
            cpu_guarantee=self.cpu_guarantee
            if self.cpu_guarantee is not None
            else other.cpu_guarantee,
        )

    def describe(self) -> str:
        """One line for people: ``cpu=2 memory=512Mi pids=64``."""
        parts = []
        if self.max_cpu is not None:
            parts.append(f"cpu={self.max_cpu:g}")
        if self.max_memory is not None:
            parts.append(f"memory={format_memory(self.max_memory)}")
        if self.max_pids is not None:
            parts.append(f"pids={self.max_pids}")
        if self.cpu_guarantee is not None:
            parts.append(f"cpu_guarantee={self.cpu_guarantee:g}")
        return " ".join(parts) or "no limits"


def parse_cpu(value: str | float, name: str = "max-cpu") -> float:
    """CPUs as ``2``, ``0.5`` or ``500m`` (millicores); positive, at most 1024."""
    text = str(value).strip()
    try:
        cpus = float(text[:-1]) / 1000 if text.endswith("m") else float(text)
    except ValueError:
        raise InvalidInput(f"{name} must be a number of CPUs such as 2, 0.5 or 500m") from None
    if not 0.01 <= cpus <= MAX_CPU:
        raise InvalidInput(f"{name} must be between 0.01 and {MAX_CPU:g} CPUs, not {text}")
    return cpus


def parse_memory(value: str | int, name: str = "max-memory") -> int:
    """Bytes from ``512Mi``, ``2Gi``, ``1G`` or a plain byte count; at least 32 MiB."""
    match = _MEMORY.match(str(value))
    if match is None:
        raise InvalidInput(f"{name} must be a size such as 512Mi, 2Gi or 1G, not {value!r}")
    size = int(float(match.group(1)) * _UNITS[(match.group(2) or "").lower()])
    if size < MIN_MEMORY:
        raise InvalidInput(f"{name} must be at least 32Mi (a worker needs that to start)")
    return size


def parse_pids(value: int | str, name: str = "max-pids") -> int:
    """A process/thread count between 8 and 100000."""
    try:
        pids = int(value)
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number of processes") from None
    if not MIN_PIDS <= pids <= MAX_PIDS:
        raise InvalidInput(f"{name} must be between {MIN_PIDS} and {MAX_PIDS}, not {pids}")
    return pids


def format_memory(size: int) -> str:
    """The largest binary unit that divides ``size`` exactly (``536870912`` -> ``512Mi``)."""
    for unit in ("Ti", "Gi", "Mi", "Ki"):
        factor = _UNITS[unit.lower()]
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)
