"""The sweeper: delivers ``timeout`` and ``expired`` hooks from schedules in the store.

Keyspace notifications are fire-and-forget (lost while no one listens), so the schedules
are sorted sets in the store and one sweeper, elected among all processes by a lease, walks
them. An entry is removed only after its hook ran, so delivery is at-least-once across
process restarts.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable

from agentgpt.background_tasks import stop_task
from agentgpt.errors import StoreUnavailable
from agentgpt.sessions.hooks import Event, HookEvent
from agentgpt.store import keys
from agentgpt.store.context_store import RedisContextStore

log = logging.getLogger("agentgpt.sweeper")
BATCH = 200


class Sweeper:
    """Periodically fires idle-timeout and expiry events while it holds the leadership."""

    def __init__(
        self,
        store: RedisContextStore,
        fire: Callable[[Event], Awaitable[None]],
        *,
        idle_timeout: float,
        interval: float = 1.0,
    ) -> None:
        """Describe a sweeper; ``start`` runs it in the background."""
        self.store = store
        self.fire = fire
        self.idle_timeout = idle_timeout
        self.interval = interval
        self.holder = secrets.token_hex(8)
        self._task: asyncio.Task[None] | None = None
        self.fired = 0

    def start(self) -> None:
        """Run the sweep loop in a background task (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        """Stop the loop."""
        task, self._task = self._task, None
        await stop_task(task)

    async def _loop(self) -> None:
        lease_ms = int(self.interval * 3000) + 1000
        while True:
            try:
                if await self.store.try_lead(keys.SWEEPER_KEY, self.holder, lease_ms):
                    await self.sweep_once()
            except StoreUnavailable as exc:
                log.warning("sweep skipped: %s", exc)
            await asyncio.sleep(self.interval)

    async def sweep_once(self) -> int:
        """Fire every due event once; return how many fired."""
        now_ms = int(time.time() * 1000)
        fired = 0
        idle_before = now_ms - int(self.idle_timeout * 1000)
        for shard in range(keys.SCHEDULE_SHARDS):
            for session_id in await self.store.due("active", shard, idle_before, BATCH):
                await self.fire(Event(HookEvent.TIMEOUT, session_id))
                await self.store.unschedule("active", session_id)
                fired += 1
            for session_id in await self.store.due("expiry", shard, now_ms, BATCH):
                fired += await self._check_expired(session_id, now_ms)
        self.fired += fired
        return fired

    async def _check_expired(self, session_id: str, now_ms: int) -> int:
        pttl = await self.store.pttl(session_id)
        if pttl == -2:
            await self.fire(Event(HookEvent.EXPIRED, session_id))
            await self.store.unschedule("expiry", session_id)
            return 1
        # Still there (its TTL slid, or the store's clock runs behind ours): look again later.
        await self.store.reschedule_expiry(session_id, now_ms + max(pttl, 1000))
        return 0
