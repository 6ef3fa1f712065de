"""AggregateWriter: turn events into bucket increments without ever slowing a turn down.

``record`` only updates an in-memory tally of the event's minute (a few microseconds).
A flush sends every pending minute as one single-slot script call per minute, all in one
pipelined round trip, at most once per ``flush_interval`` per process: the per-turn cost
is a fraction of one round trip. A flush that fails or outlives ``flush_timeout`` puts
its tallies back while they fit in ``max_pending_events``; past that bound, events are
dropped and counted in ``dropped``, so a slow or dead store costs memory that is bounded
and a number that is visible, never a failed or blocked turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable

from agentgpt.analytics.aggregates import TURNS, Tally, add_event, merge
from agentgpt.analytics.events import TurnEvent
from agentgpt.config.settings import AnalyticsSettings
from agentgpt.errors import StoreError, StoreScriptError
from agentgpt.store.analytics_repository import AnalyticsRepository
from agentgpt.store.context_store import RedisContextStore
from agentgpt.store.failures import timed_out
from agentgpt.store.keys import analytics_bucket_key

log = logging.getLogger("agentgpt.analytics")

#: What a store that is down, slow or failing raises through the store's guard.
STORE_FAILURES: tuple[type[Exception], ...] = (StoreError, StoreScriptError, TimeoutError)


class AggregateWriter:
    """Buffers turn events per minute and flushes them to one shard of the store."""

    def __init__(
        self,
        store: RedisContextStore,
        settings: AnalyticsSettings,
        clock: Callable[[], float] = time.time,
        shard: int | None = None,
    ) -> None:
        """Write to ``store``; the shard is random per writer unless given."""
        self.store = store
        self.settings = settings
        self.clock = clock
        self.shard = random.randrange(settings.shards) if shard is None else shard
        self._pending: dict[int, Tally] = {}
        self._pending_events = 0
        self._task: asyncio.Task[int] | None = None
        self._last_flush = time.monotonic()
        self.dropped = 0
        self.flushed = 0
        self.flush_failures = 0
        self.failing_since: float | None = None

    @property
    def pending(self) -> int:
        """Events recorded but not yet in the store."""
        return self._pending_events

    def record(self, event: TurnEvent) -> None:
        """Count ``event`` (never raises, never waits); start a flush when one is due."""
        if self._pending_events >= self.settings.max_pending_events:
            self.dropped += 1
            return
        minute = int(event.time // 60)
        tally = self._pending.get(minute)
        if tally is None:
            tally = self._pending[minute] = {}
        add_event(tally, event)
        self._pending_events += 1
        self.maybe_flush()

    def maybe_flush(self) -> None:
        """Start a background flush if the interval has passed and none is running."""
        if self._task is not None and not self._task.done():
            return
        if time.monotonic() - self._last_flush < self.settings.flush_interval.total_seconds():
            return
        with contextlib.suppress(RuntimeError):  # no running loop: the next call flushes
            self._task = asyncio.get_running_loop().create_task(self.flush())

    async def flush(self) -> int:
        """Write every pending minute now; return the events written (0 on failure)."""
        self._last_flush = time.monotonic()
        batch, self._pending, self._pending_events = self._pending, {}, 0
        if not batch:
            return 0
        timeout = self.settings.flush_timeout.total_seconds()
        try:
            await asyncio.wait_for(self.write(batch), timeout)
        except STORE_FAILURES as exc:
            self._failed(batch, exc)
            return 0
        events = sum(t.get(TURNS, 0) for t in batch.values())
        self.flushed += events
        self.failing_since = None
        return events

    async def drain(self) -> None:
        """Wait for a running flush, then flush what is left (on shutdown)."""
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()

    def _failed(self, batch: dict[int, Tally], exc: BaseException) -> None:
        self.flush_failures += 1
        if self.failing_since is None:
            self.failing_since = self.clock()
        log.warning(
            "analytics flush failed (%s); %d events kept", type(exc).__name__, self._pending_events
        )
        # A timeout is ambiguous (part of the pipeline may have run): drop rather than risk
        # counting twice. A refused connection wrote nothing: put the minutes back (oldest
        # first) while they fit in the bound; the rest are dropped.
        ambiguous = timed_out(exc)
        for minute in sorted(batch):
            tally = batch[minute]
            count = tally.get(TURNS, 0)
            if ambiguous or self._pending_events + count > self.settings.max_pending_events:
                self.dropped += count
                continue
            merge(self._pending.setdefault(minute, {}), tally)
            self._pending_events += count

    async def write(self, batch: dict[int, Tally]) -> None:
        """Add tallies by epoch minute to this writer's shard (one pipelined round trip)."""
        minute_ttl = int(self.settings.minute_retention.total_seconds() * 1000)
        long_ttl = int(self.settings.retention.total_seconds() * 1000)
        calls: list[tuple[list[str], list[object]]] = []
        for minute, tally in batch.items():
            keys = [
                analytics_bucket_key(self.shard, "m", minute),
                analytics_bucket_key(self.shard, "h", minute // 60),
                analytics_bucket_key(self.shard, "d", minute // 1440),
            ]
            args: list[object] = [minute_ttl, long_ttl]
            for field, value in tally.items():
                args += [field, value]
            calls.append((keys, args))
        await AnalyticsRepository(self.store).add_buckets(calls)
