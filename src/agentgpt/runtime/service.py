"""RuntimeService: the drivers, their warm pools and the region limits of one process."""

from __future__ import annotations

import asyncio

from agentgpt.config.runtime_settings import RuntimeSettings
from agentgpt.errors import InvalidInput
from agentgpt.runtime.driver import HandlerSpec, RuntimeDriver
from agentgpt.runtime.firecracker import FirecrackerDriver
from agentgpt.runtime.limits import RegionLimits
from agentgpt.runtime.policy import ResourcePolicy, parse_memory
from agentgpt.runtime.pool import WorkerPool
from agentgpt.runtime.sandbox import SandboxDriver
from agentgpt.store.context_store import RedisContextStore

RUNTIMES = ("sandbox", "firecracker")


def make_driver(name: str, settings: RuntimeSettings) -> RuntimeDriver:
    """The driver called ``name`` configured from ``settings``."""
    if name == "sandbox":
        return SandboxDriver(settings.cgroup_parent, settings.start_timeout.total_seconds())
    if name == "firecracker":
        return FirecrackerDriver(settings.firecracker)
    raise InvalidInput(f"unknown runtime {name!r}; use one of: {', '.join(RUNTIMES)}")


class RuntimeService:
    """Runs isolated turns: one warm pool per driver, limits per region from the store."""

    def __init__(
        self, settings: RuntimeSettings, store: RedisContextStore, handler: HandlerSpec
    ) -> None:
        """Configure; pools start on first use (or ``start``)."""
        self.settings = settings
        self.handler = handler
        self.limits = RegionLimits(store, settings.limits_cache.total_seconds())
        self.base_policy = ResourcePolicy(
            max_memory=parse_memory(settings.default_memory, "default_memory"),
            max_pids=settings.default_pids,
            max_cpu=settings.default_cpu,
        )
        self._pools: dict[str, WorkerPool] = {}
        self._starting: dict[str, asyncio.Task[WorkerPool]] = {}

    async def pool(self, runtime: str) -> WorkerPool:
        """The started pool of ``runtime`` (probing its driver the first time)."""
        pool = self._pools.get(runtime)
        if pool is not None:
            return pool
        task = self._starting.get(runtime)
        if task is None:
            task = asyncio.create_task(self._start_pool(runtime))
            self._starting[runtime] = task
        try:
            return await asyncio.shield(task)
        finally:
            if task.done():
                self._starting.pop(runtime, None)

    async def _start_pool(self, runtime: str) -> WorkerPool:
        pool = WorkerPool(
            make_driver(runtime, self.settings),
            self.handler,
            min_ready=self.settings.min_ready,
            max_workers=self.settings.max_workers,
            idle_recycle=self.settings.idle_recycle.total_seconds(),
            base_policy=self.base_policy,
        )
        await pool.start()
        self._pools[runtime] = pool
        return pool

    async def call(
        self, runtime: str, session_id: str, region: str, cpu_guarantee: float | None, body: bytes
    ) -> bytes:
        """Run one turn request for ``session_id`` in its bound worker of ``runtime``."""
        pool = await self.pool(runtime)
        # The session's CPU weight, then its region's caps, then the service's defaults.
        region_policy = await self.limits.cached(region)
        policy = ResourcePolicy(cpu_guarantee=cpu_guarantee).merged(region_policy)
        time_limit = self.settings.turn_timeout.total_seconds()
        return await pool.call(session_id, policy, body, time_limit)

    async def release(self, session_id: str) -> None:
        """Kill the worker bound to ``session_id`` in every pool (erase, close)."""
        for pool in self._pools.values():
            await pool.release(session_id)

    async def aclose(self) -> None:
        """Stop every pool and its workers."""
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()
