"""Keeps the embedded Valkey serving: a restart after a crash, from its AOF, on the same socket.

Every process that uses the embedded server watches it (a non-blocking ``waitpid`` on the
server it started, the pidfile's process otherwise). When the server has exited, the
first watcher to take ``start.lock`` starts it again with the same arguments: it loads the
append-only file, so every write it acknowledged before the crash is back, and it listens
on the same unix socket, so the clients' own reconnects find it. A hung server (stopped,
not exited) is left alone: a second server on the same AOF would corrupt it.

Restarts are bounded: at most ``max_restarts`` within ``restart_window``, spaced by an
exponential backoff after the first (immediate) attempt. Once the budget is spent the
supervisor reports ``failed`` and stops trying, so ``/healthz`` can tell an orchestrator
to replace the process instead of leaving it alive but useless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

from redis.backoff import AbstractBackoff, ExponentialBackoff

from agentgpt.errors import EmbeddedServerError
from agentgpt.store.embedded import EmbeddedServer

log = logging.getLogger("agentgpt.store")


class SupervisorState(StrEnum):
    """What the supervisor knows of the embedded server."""

    RUNNING = "running"
    RESTARTING = "restarting"
    FAILED = "failed"


@dataclass(frozen=True)
class RestartPolicy:
    """How often, how fast and how many times a crashed server is restarted."""

    max_restarts: int = 5
    restart_window_s: float = 300.0
    check_interval_s: float = 0.05
    backoff: AbstractBackoff = field(default_factory=lambda: ExponentialBackoff(5.0, 0.25))


class EmbeddedSupervisor:
    """Watches one embedded server from this process and restarts it when it exits."""

    def __init__(self, server: EmbeddedServer, policy: RestartPolicy | None = None) -> None:
        """Watch ``server`` under ``policy`` (nothing runs until ``start``)."""
        self.server = server
        self.policy = policy or RestartPolicy()
        self.state = SupervisorState.RUNNING
        self.restarts = 0
        self.failed_attempts = 0
        self.last_error: str | None = None
        self._attempts: deque[float] = deque()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start watching on the running loop."""
        if self._task is None or self._task.done():
            self._stop.clear()
            self._task = asyncio.get_running_loop().create_task(
                self._watch(), name="agentgpt-embedded-supervisor"
            )

    async def aclose(self) -> None:
        """Stop watching (the server itself is left to its users)."""
        task, self._task = self._task, None
        if task is not None:
            # Stopped by an event, not cancel(): a cancel could land inside a restart.
            self._stop.set()
            await task

    async def _watch(self) -> None:
        while not await self._sleep(self.policy.check_interval_s):
            if self.state is SupervisorState.FAILED:
                return
            # waitpid(WNOHANG) or a /proc read: no disk, no network, safe on the loop.
            if self.server.exited():
                await self._recover()

    async def _recover(self) -> None:
        self.state = SupervisorState.RESTARTING
        crashed_at = time.monotonic()
        log.error(
            "embedded store %s exited (%s); restarting it from its AOF",
            self.server.socket_path,
            self.server.exit_status(),
        )
        attempt = 0
        while not self._stop.is_set():
            if not self._budget_left():
                self.state = SupervisorState.FAILED
                log.critical(
                    "embedded store: %d restarts in %.0f s, giving up (last error: %s); "
                    "this process reports unhealthy",
                    self.policy.max_restarts,
                    self.policy.restart_window_s,
                    self.last_error,
                )
                return
            if attempt and await self._sleep(self.policy.backoff.compute(attempt)):
                return
            attempt += 1
            self._attempts.append(time.monotonic())
            try:
                await asyncio.to_thread(self.server.restart)
            except EmbeddedServerError as exc:
                self.failed_attempts += 1
                self.last_error = str(exc)
                log.error("embedded store restart attempt %d failed: %s", attempt, exc)
                continue
            self.restarts += 1
            self.state = SupervisorState.RUNNING
            log.warning(
                "embedded store restarted (restart %d, attempt %d) %.0f ms after "
                "the crash was seen",
                self.restarts,
                attempt,
                1000 * (time.monotonic() - crashed_at),
            )
            return

    def _budget_left(self) -> bool:
        horizon = time.monotonic() - self.policy.restart_window_s
        while self._attempts and self._attempts[0] < horizon:
            self._attempts.popleft()
        return len(self._attempts) < self.policy.max_restarts

    async def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds``; True when asked to stop meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)
        return self._stop.is_set()
