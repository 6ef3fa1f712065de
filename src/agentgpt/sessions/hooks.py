"""Lifecycle hooks: callbacks (sync or async) on session events."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from agentgpt.errors import InvalidInput

log = logging.getLogger("agentgpt.hooks")


class HookEvent(StrEnum):
    """The events a hook can subscribe to."""

    CREATED = "created"
    TURN = "turn"
    TIMEOUT = "timeout"
    EXPIRED = "expired"
    CLOSED = "closed"
    ERASED = "erased"
    ERROR = "error"
    ALERT = "alert"


@dataclass(frozen=True, slots=True)
class Event:
    """What a hook receives: the event, the session and event-specific data (no PII)."""

    event: HookEvent
    session_id: str
    at: float = field(default_factory=time.time)
    data: dict[str, Any] = field(default_factory=dict)


Hook = Callable[[Event], Awaitable[None] | None]


class HookRegistry:
    """Callbacks by event; a failing callback is logged and never fails the caller."""

    def __init__(self) -> None:
        """Start with no hooks."""
        self._hooks: dict[HookEvent, list[Hook]] = {}
        self.failures = 0

    def register(self, event: str, callback: Hook) -> None:
        """Call ``callback(event)`` whenever ``event`` happens."""
        try:
            kind = HookEvent(event)
        except ValueError:
            names = ", ".join(e.value for e in HookEvent)
            raise InvalidInput(f"unknown hook event {event!r}; use one of: {names}") from None
        if not callable(callback):
            raise InvalidInput("a hook callback must be callable")
        self._hooks.setdefault(kind, []).append(callback)

    def wants(self, event: HookEvent) -> bool:
        """True if any hook listens to ``event`` (lets callers skip building the payload)."""
        return bool(self._hooks.get(event))

    async def fire(self, event: Event) -> None:
        """Run the event's callbacks in registration order."""
        for callback in self._hooks.get(event.event, ()):
            try:
                result = callback(event)
                if inspect.isawaitable(result):
                    await result
            except asyncio.CancelledError:
                raise
            except Exception:
                self.failures += 1
                log.exception("hook %r for %s failed", callback, event.event.value)
