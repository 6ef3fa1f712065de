"""WorkerPool: pre-warmed isolated workers, each bound to at most one session in its life.

A session's first turn takes a warm worker (a replacement starts in the background, so
steady-state turns never wait for a cold start); the worker then serves that session only.
When the session has been idle for ``idle_recycle`` seconds, or a turn failed, the worker
is killed (its private tmp goes with it) and never serves anyone again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field

from agentgpt.background_tasks import stop_task
from agentgpt.errors import AgentError, AgentGPTError, PoolTimeout
from agentgpt.runtime.driver import HandlerSpec, RuntimeDriver, Worker
from agentgpt.runtime.policy import ResourcePolicy

log = logging.getLogger("agentgpt.runtime")


@dataclass
class _Binding:
    worker: Worker
    last_used: float = field(default_factory=time.monotonic)
    busy: int = 0


class WorkerPool:
    """Warm workers of one driver, and the session each busy worker is bound to."""

    def __init__(
        self,
        driver: RuntimeDriver,
        handler: HandlerSpec,
        *,
        min_ready: int = 2,
        max_workers: int = 64,
        idle_recycle: float = 60.0,
        base_policy: ResourcePolicy | None = None,
    ) -> None:
        """Describe the pool; ``start`` warms it."""
        self.driver = driver
        self.handler = handler
        self.min_ready = min_ready
        self.max_workers = max_workers
        self.idle_recycle = idle_recycle
        self.base_policy = base_policy or ResourcePolicy()
        self._ready: list[Worker] = []
        self._bound: dict[str, _Binding] = {}
        self._starting = 0
        self._refill: asyncio.Task[None] | None = None
        self._janitor: asyncio.Task[None] | None = None
        self.cold_starts = 0
        self.recycled = 0
        self.replaced = 0

    @property
    def ready(self) -> int:
        """Warm workers waiting for a session."""
        return len(self._ready)

    @property
    def bound(self) -> int:
        """Workers bound to a session now."""
        return len(self._bound)

    def bound_worker(self, session_id: str) -> Worker | None:
        """The worker serving ``session_id``, if any."""
        binding = self._bound.get(session_id)
        return binding.worker if binding else None

    async def start(self) -> None:
        """Check the driver, warm ``min_ready`` workers, start the idle recycler."""
        await asyncio.to_thread(self.driver.probe)
        await self._fill()
        if self._janitor is None:
            self._janitor = asyncio.create_task(self._recycle_loop(), name="runtime-recycler")

    async def call(
        self, session_id: str, policy: ResourcePolicy, body: bytes, time_limit: float
    ) -> bytes:
        """Run one request in the session's worker; a failed worker is replaced."""
        binding = await self._bind(session_id, policy)
        binding.busy += 1
        try:
            return await binding.worker.call(body, time_limit)
        except (AgentGPTError, OSError) as exc:
            # Whatever the agent did (forked, filled /tmp, half-wrote state) dies with it.
            self._bound.pop(session_id, None)
            self.replaced += 1
            await binding.worker.stop()
            if isinstance(exc, AgentGPTError):
                raise
            raise AgentError(f"the isolated worker failed ({exc}); it was replaced") from exc
        finally:
            binding.busy -= 1
            binding.last_used = time.monotonic()

    async def release(self, session_id: str) -> None:
        """Unbind the session and kill its worker (on erase, close, idle)."""
        binding = self._bound.pop(session_id, None)
        if binding is not None:
            self.recycled += 1
            await binding.worker.stop()

    async def _bind(self, session_id: str, policy: ResourcePolicy) -> _Binding:
        binding = self._bound.get(session_id)
        if binding is not None:
            return binding
        if self._ready:
            worker = self._ready.pop()
        else:
            await self._make_room()
            self.cold_starts += 1
            worker = await self.driver.start(self.handler, self.base_policy)
        binding = self._bound.setdefault(session_id, _Binding(worker))
        if binding.worker is not worker:  # a concurrent first turn bound one meanwhile
            self._ready.append(worker)
            return binding
        try:
            await worker.apply(policy.merged(self.base_policy))
        except BaseException:
            self._bound.pop(session_id, None)
            await worker.stop()
            raise
        self._schedule_refill()
        return binding

    async def _make_room(self) -> None:
        if len(self._bound) + self._starting < self.max_workers:
            return
        idle = [(b.last_used, sid) for sid, b in self._bound.items() if not b.busy]
        if not idle:
            raise PoolTimeout(
                f"all {self.max_workers} isolated workers are busy; raise "
                "sessions.runtime.max_workers or shed load"
            )
        await self.release(min(idle)[1])

    def _schedule_refill(self) -> None:
        if self._refill is None or self._refill.done():
            self._refill = asyncio.create_task(self._fill(), name="runtime-refill")

    async def _fill(self) -> None:
        while len(self._ready) + self._starting < self.min_ready and (
            len(self._ready) + len(self._bound) + self._starting < self.max_workers
        ):
            self._starting += 1
            try:
                worker = await self.driver.start(self.handler, self.base_policy)
            finally:
                self._starting -= 1
            self._ready.append(worker)

    async def _recycle_loop(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.idle_recycle / 2))
            cutoff = time.monotonic() - self.idle_recycle
            for session_id, binding in list(self._bound.items()):
                if not binding.busy and binding.last_used < cutoff:
                    await self.release(session_id)
            try:
                await self._fill()
            except AgentGPTError as exc:  # a failed warm-up is retried on the next round
                log.warning("could not pre-warm an isolated worker: %s", exc)

    async def aclose(self) -> None:
        """Stop the recycler and every worker."""
        await stop_task(self._janitor)
        await stop_task(self._refill)
        self._janitor = self._refill = None
        workers = [*self._ready, *(b.worker for b in self._bound.values())]
        self._ready.clear()
        self._bound.clear()
        for worker in workers:
            with contextlib.suppress(AgentGPTError, OSError):
                await worker.stop()
