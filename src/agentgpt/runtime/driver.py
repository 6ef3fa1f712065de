"""The seam between the session engine and an isolated runtime: drivers and their workers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from agentgpt.runtime.policy import ResourcePolicy


@dataclass(frozen=True)
class HandlerSpec:
    """What a worker runs: ``module:factory`` called with ``arg``; ``paths`` to import from."""

    factory: str
    arg: str = ""
    paths: tuple[str, ...] = ()


@runtime_checkable
class Worker(Protocol):
    """One isolated process (or microVM) that answers calls, one at a time.

    Contract: ``call`` raises ``WorkerLimitExceeded`` when the worker went over its memory
    limit or ``time_limit``, ``WorkerFailed`` when it died or broke the protocol, and
    ``AgentError`` when the handler raised; after any of these the worker must not be
    reused (the pool stops it). ``stop`` kills every process the worker started.
    """

    name: str

    async def call(self, body: bytes, time_limit: float) -> bytes:
        """Send one request and return the reply body."""
        ...

    async def apply(self, policy: ResourcePolicy) -> None:
        """Change the worker's limits (at bind time, before the session's first call)."""
        ...

    async def memory_usage(self) -> int:
        """Bytes the worker uses now."""
        ...

    async def stop(self) -> None:
        """Kill the worker and everything it started; wipe what it wrote."""
        ...


@runtime_checkable
class RuntimeDriver(Protocol):
    """Starts isolated workers of one kind (``sandbox``, ``firecracker``)."""

    name: str

    def probe(self) -> None:
        """Check that this machine can run the driver; ``RuntimeUnavailable`` names the gap."""
        ...

    async def start(self, handler: HandlerSpec, policy: ResourcePolicy) -> Worker:
        """Start a worker running ``handler`` under ``policy``; return it once warm."""
        ...
