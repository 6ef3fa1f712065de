"""Analytics: record events, read the operators' figures, run the alert rules.

``await Analytics(store).snapshot("15m")`` returns every figure of the monitor screen for
a window (5m, 15m, 1h at minute resolution; 24h, 7d at hour resolution, starting on the
hour) in one round trip to the buckets plus the active-session count and the open alerts,
read concurrently. The snapshot's models and builder live in ``snapshot_model`` (no I/O);
the models are re-exported here, their former home.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import math
import os
import random
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable

from agentgpt.analytics import reader
from agentgpt.analytics.aggregates import Figures
from agentgpt.analytics.alerts import (
    Alert,
    AlertLog,
    latency_alert,
    make_alert,
    rules,
    severity_filter,
    trend_alerts,
)
from agentgpt.analytics.events import AuthEvent, TurnEvent
from agentgpt.analytics.snapshot_model import WINDOWS as WINDOWS
from agentgpt.analytics.snapshot_model import Snapshot as Snapshot
from agentgpt.analytics.snapshot_model import TopicShare as TopicShare
from agentgpt.analytics.snapshot_model import Trend as Trend
from agentgpt.analytics.snapshot_model import baseline_groups, build_snapshot
from agentgpt.analytics.trends import TrendParams, all_trends
from agentgpt.analytics.writer import STORE_FAILURES, AggregateWriter
from agentgpt.background_tasks import stop_task
from agentgpt.config.settings import AnalyticsSettings
from agentgpt.errors import InvalidInput, SessionNotFound
from agentgpt.store import keys
from agentgpt.store.analytics_repository import AnalyticsRepository
from agentgpt.store.context_store import RedisContextStore
from agentgpt.store.records import FLAG_FIELD, flag_active

log = logging.getLogger("agentgpt.analytics")

AlertCallback = Callable[[Alert], Awaitable[None] | None]
_METHOD = re.compile(r"[A-Za-z0-9_.-]{1,40}")


class Analytics:
    """Cross-session analytics over one store, shared by every process that writes to it."""

    def __init__(
        self,
        store: RedisContextStore | None = None,
        settings: AnalyticsSettings | None = None,
        *,
        idle_timeout: float = 900.0,
        clock: Callable[[], float] = time.time,
        on_alert: AlertCallback | None = None,
        shard: int | None = None,
    ) -> None:
        """Aggregate into ``store``; ``clock`` and ``shard`` are injectable for tests."""
        self.store = store if store is not None else RedisContextStore()
        self.settings = settings if settings is not None else AnalyticsSettings()
        self.idle_timeout = idle_timeout
        self.clock = clock
        self.on_alert = on_alert
        self.writer = AggregateWriter(self.store, self.settings, clock, shard)
        self.alerts = AlertLog(self.store, self.settings, clock)
        self.repository = AnalyticsRepository(self.store)
        self.book = rules(self.settings)
        self.params = TrendParams(
            surge_ratio=self.settings.surge_ratio,
            significance=self.settings.significance,
            min_count=self.settings.min_count,
            other_topic=self.settings.other_topic,
            ratio_mode=self.settings.ratio_mode,
            ratio_alpha=self.settings.ratio_alpha,
        )
        self._local: deque[Alert] = deque(maxlen=100)
        self._local_cool: dict[tuple[str, str], float] = {}
        self._loop: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._holder = f"{os.getpid()}-{random.getrandbits(48):x}"

    # --- writing -----------------------------------------------------------------------

    @property
    def dropped(self) -> int:
        """Turn events lost because the store was slow or unreachable (bounded, counted)."""
        return self.writer.dropped

    def record_turn(self, event: TurnEvent) -> None:
        """Count a turn (in memory; flushed in the background); never raises or waits."""
        if self.settings.enabled:
            self.writer.record(event)
            self._check_store()

    async def flush(self) -> int:
        """Write pending events now; return how many were written."""
        written = await self.writer.flush()
        # A failed flush may be the one that crosses `unreachable_after`: judge it now, not
        # only at the next recorded turn (which may never come while the store is down).
        self._check_store()
        return written

    async def record_auth(self, session_id: str, success: bool, method: str) -> int:
        """Record an authentication attempt; return the failures within the window.

        At ``auth_failures`` failures within ``auth_window`` the session is flagged (its
        next sensitive action needs verification, see ``is_flagged``) and a critical alert
        is raised once per window.
        """
        if not isinstance(method, str) or not _METHOD.fullmatch(method):
            raise InvalidInput("method must be a short name such as otp, password, biometric")
        event = AuthEvent(
            session_id=session_id, success=bool(success), method=method, time=self.clock()
        )
        return await self.record_auth_event(event)

    async def record_auth_event(self, event: AuthEvent) -> int:
        """``record_auth`` for an ``AuthEvent`` (its ``time`` is the attempt's time)."""
        session_id, now = event.session_id, event.time
        now_ms = int(now * 1000)
        s = self.settings
        args: list[object] = [
            1 if event.success else 0,
            now_ms,
            int(s.auth_window.total_seconds() * 1000),
            s.auth_failures,
            int(s.flag_ttl.total_seconds() * 1000),
            f"{now_ms}-{random.getrandbits(32):08x}",
        ]
        count = await self.repository.record_auth(session_id, args)
        if count < 0:
            raise SessionNotFound(f"session {session_id} does not exist (expired or erased?)")
        if count >= s.auth_failures:
            alert = make_alert(
                self.book["auth_failures"],
                session_id,
                f'Session "{session_id}": {count} failed auth attempts',
                now,
                failures=count,
                method=event.method,
            )
            await self.raise_alert(alert)
        return count

    async def is_flagged(self, session_id: str) -> bool:
        """True when the session's next sensitive action requires verification."""
        value = await self.repository.flag(session_id)
        return flag_active({FLAG_FIELD: value} if value is not None else {}, self.clock())

    async def clear_flag(self, session_id: str) -> bool:
        """Lift the flag (after a successful verification); False if it was not set."""
        return await self.repository.clear_flag(session_id)

    # --- alerts ------------------------------------------------------------------------

    async def raise_alert(self, alert: Alert) -> Alert | None:
        """Store and announce ``alert`` unless de-duplicated (kept locally if the store is down)."""
        cooldown = self.book[alert.rule].cooldown_s
        try:
            stored = await self.alerts.raise_alert(alert, cooldown)
        except STORE_FAILURES:
            stored = self._raise_locally(alert, cooldown)
        if stored is not None:
            await self._announce(stored)
        return stored

    def _raise_locally(self, alert: Alert, cooldown: float) -> Alert | None:
        key = (alert.rule, alert.subject)
        if self.clock() < self._local_cool.get(key, -math.inf):
            return None
        self._local_cool[key] = self.clock() + cooldown
        self._local.append(alert)
        return alert

    async def _announce(self, alert: Alert) -> None:
        if self.on_alert is None:
            return
        try:
            result = self.on_alert(alert)
            if inspect.isawaitable(result):
                await result
        except asyncio.CancelledError:
            raise
        except Exception:  # a reporter's bug must not break the rule engine
            log.exception("alert callback failed for %s", alert.rule)

    def _check_store(self) -> None:
        since = self.writer.failing_since
        if since is None or self.clock() - since < self.settings.unreachable_after.total_seconds():
            return
        key = ("store_unreachable", "")
        if self.clock() < self._local_cool.get(key, -math.inf):
            return
        alert = make_alert(
            self.book["store_unreachable"],
            "",
            "analytics store unreachable "
            f"for {self.clock() - since:.0f} s; {self.dropped} events dropped",
            self.clock(),
            dropped=self.dropped,
        )
        if self._raise_locally(alert, self.book["store_unreachable"].cooldown_s) is not None:
            with contextlib.suppress(RuntimeError):
                task = asyncio.get_running_loop().create_task(self._announce(alert))
                # The loop keeps only weak references to tasks: hold it until it is done.
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def evaluate(self, now: float | None = None) -> list[Alert]:
        """Run the trend and latency rules over the last complete minutes; return new alerts."""
        now = self.clock() if now is None else now
        end = int(now // 60) - 1  # the last complete minute
        window = int(self.settings.detection_window.total_seconds() // 60) or 1
        breach = int(self.settings.latency_breach_for.total_seconds() // 60) or 1
        groups = [reader.minutes(end - window + 1, end), *baseline_groups(end - window + 1, end)]
        groups += [reader.minutes(m, m) for m in range(end - breach + 1, end + 1)]
        tallies = await reader.sum_groups(self.store, self.settings.shards, groups)
        current, *rest = (Figures.of(t) for t in tallies)
        baselines, minutes = rest[:2], rest[2:]
        found = trend_alerts(
            all_trends(current, baselines, self.params),
            self.book,
            self.settings.critical_topics,
            now,
            window_min=window,
        )
        slow = latency_alert(
            [m.latency_percentile(0.99) for m in minutes],
            self.settings.latency_objective_p99_ms,
            self.book,
            now,
        )
        if slow is not None:
            found.append(slow)
        raised = [await self.raise_alert(a) for a in found]
        self._check_store()
        return [a for a in raised if a is not None]

    # --- reading -----------------------------------------------------------------------

    async def snapshot(
        self, window: str = "15m", *, top: int | None = None, now: float | None = None
    ) -> Snapshot:
        """The monitor's figures over ``window`` (5m, 15m, 1h, 24h, 7d)."""
        if window not in WINDOWS:
            raise InvalidInput(f"unknown window {window!r}: use one of {', '.join(WINDOWS)}")
        now = self.clock() if now is None else now
        span = WINDOWS[window]
        end = int(now // 60)
        start = end - span + 1
        if span <= 60:
            groups, seconds = [reader.minutes(start, end)], now - start * 60
        else:
            groups, seconds = [reader.hours(start // 60, end // 60)], now - (start // 60) * 3600
        if span <= 60:
            groups += baseline_groups(start, end)
        elif span <= 1440:  # a whole day has no "same hour": compare with the day before
            groups.append(reader.hours(start // 60 - 24, start // 60 - 1))
        since_ms = int((now - self.idle_timeout) * 1000)
        tallies, active, alerts = await asyncio.gather(
            reader.sum_groups(self.store, self.settings.shards, groups),
            self.store.count_active(since_ms),
            self.alerts.recent(
                20, since=now - 86400, min_severity=severity_filter(self.settings.severity)
            ),
        )
        current, *baselines = (Figures.of(t) for t in tallies)
        trends = all_trends(current, baselines, self.params) if baselines else []
        floor = severity_filter(self.settings.severity)
        alerts += [a for a in self._local if a.level >= floor and a.at >= now - 86400]
        return build_snapshot(
            window,
            now,
            seconds,
            current,
            active,
            top or self.settings.top_topics,
            alerts,
            trends,
            self.dropped,
        )

    # --- background work ---------------------------------------------------------------

    def start(self) -> None:
        """Flush every ``flush_interval`` and evaluate rules every ``evaluate_interval``."""
        if self._loop is None or self._loop.done():
            self._loop = asyncio.get_running_loop().create_task(self._run())

    async def aclose(self) -> None:
        """Stop background work and flush what is pending (best effort)."""
        task, self._loop = self._loop, None
        await stop_task(task)
        await self.writer.drain()

    async def _run(self) -> None:
        every = self.settings.evaluate_interval.total_seconds()
        lease = int(every * 2000)
        next_eval = time.monotonic() + every
        while True:
            await asyncio.sleep(self.settings.flush_interval.total_seconds())
            await self.writer.flush()
            self._check_store()
            if time.monotonic() < next_eval:
                continue
            next_eval = time.monotonic() + every
            try:
                # One process evaluates per interval; the cool-down markers de-duplicate
                # anyway, the lease only saves the other processes the reads.
                if await self.store.try_lead(keys.analytics_leader_key(), self._holder, lease):
                    await self.evaluate()
            except STORE_FAILURES as exc:
                log.warning("analytics rules not evaluated: %s", exc)
