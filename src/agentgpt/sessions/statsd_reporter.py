"""Hook callbacks that report session events to statsd.

``manager.register_hook(event="timeout", callback=partial(log_timeout, reporter=statsd))``
with ``statsd = statsd.StatsClient("localhost", 8125)``.
"""

from __future__ import annotations

from typing import Protocol

from agentgpt.sessions.hooks import Event


class StatsReporter(Protocol):
    """The part of ``statsd.StatsClient`` the hooks use."""

    def incr(self, stat: str, count: int = 1, rate: float = 1) -> None:
        """Increment a counter."""
        ...

    def timing(self, stat: str, delta: float, rate: float = 1) -> None:
        """Record a timing in milliseconds."""
        ...


def log_event(event: Event, reporter: StatsReporter, prefix: str = "agentgpt.session") -> None:
    """Count ``event`` as ``<prefix>.<event>``; turns also report their latency."""
    reporter.incr(f"{prefix}.{event.event.value}")
    latency = event.data.get("latency_ms")
    if isinstance(latency, int | float):
        reporter.timing(f"{prefix}.turn_latency", latency)


def log_timeout(event: Event, reporter: StatsReporter) -> None:
    """Count an idle timeout (the guide's example hook)."""
    log_event(event, reporter)


def log_alert(event: Event, reporter: StatsReporter, prefix: str = "agentgpt.alert") -> None:
    """Count an ``alert`` hook event as ``<prefix>.<severity>.<rule>`` (a pager can key on it)."""
    rule = str(event.data.get("rule", "unknown"))
    severity = str(event.data.get("severity", "info"))
    reporter.incr(f"{prefix}.{severity}.{rule}")
