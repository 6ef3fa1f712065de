"""Prometheus metrics of one API process (``GET /metrics``)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from agentgpt.sessions.hooks import Event
from agentgpt.store.supervisor import EmbeddedSupervisor, SupervisorState

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """The service's counters, gauges and histograms, in a registry of their own."""

    def __init__(self) -> None:
        """Create every metric (a private registry: apps in one process do not collide)."""
        self.registry = CollectorRegistry()
        r = self.registry
        self.turns = Counter(
            "agentgpt_turns", "Turns processed", ["topic", "escalated"], registry=r
        )
        self.turn_latency = Histogram(
            "agentgpt_turn_latency_seconds", "Turn latency", buckets=_LATENCY_BUCKETS, registry=r
        )
        self.lock_wait = Histogram(
            "agentgpt_lock_wait_seconds",
            "Wait for a session's lock",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.active_sessions = Gauge(
            "agentgpt_active_sessions",
            "Sessions active within the idle timeout (all processes)",
            registry=r,
        )
        self.pool = Gauge("agentgpt_pool_agents", "Agents of the pool", ["state"], registry=r)
        self.pool_wait = Counter(
            "agentgpt_pool_wait_seconds", "Time spent waiting for an agent", registry=r
        )
        self.store_round_trips = Gauge(
            "agentgpt_store_round_trips", "Store round trips made by this process", registry=r
        )
        self.alerts = Counter("agentgpt_alerts", "Alerts raised", ["severity", "rule"], registry=r)
        self.requests = Counter(
            "agentgpt_http_requests", "HTTP requests", ["method", "route", "status"], registry=r
        )
        self.store_restarts = Counter(
            "agentgpt_embedded_store_restarts",
            "Restarts of the crashed embedded store by this process",
            ["outcome"],
            registry=r,
        )
        self.store_supervisor = Gauge(
            "agentgpt_embedded_store_state",
            "1 for the embedded store supervisor's current state",
            ["state"],
            registry=r,
        )
        self._pool_wait_seen = 0.0
        self._restarts_seen = (0, 0)
        # Labelled children by label values: prometheus_client's labels() validates and
        # locks on every call (~10 us on the benchmark machine), twice per turn otherwise.
        self._children: dict[tuple[object, ...], Any] = {}

    def child(self, metric: Any, *values: str) -> Any:
        """``metric.labels(*values)``, looked up once per metric and label values."""
        key = (id(metric), *values)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*values)
        return found

    def on_turn(self, event: Event) -> None:
        """Count a turn (a ``turn`` hook)."""
        data = event.data
        escalated = "escalate_to_human" in (data.get("actions") or [])
        topic = str(data.get("topic") or "none")
        self.child(self.turns, topic, "true" if escalated else "false").inc()
        self.turn_latency.observe(float(data.get("latency_ms", 0.0)) / 1000)
        if "lock_wait_ms" in data:
            self.lock_wait.observe(float(data["lock_wait_ms"]) / 1000)

    def on_alert(self, event: Event) -> None:
        """Count an alert (an ``alert`` hook)."""
        data = event.data
        self.alerts.labels(str(data.get("severity", "info")), str(data.get("rule", ""))).inc()

    def sample(
        self,
        pool: Any,
        active: int | None,
        round_trips: int,
        supervisor: EmbeddedSupervisor | None = None,
    ) -> None:
        """Refresh the gauges read from live objects."""
        self.pool.labels("in_use").set(pool.in_use)
        self.pool.labels("idle").set(pool.idle)
        self.pool.labels("max").set(pool.max_connections)
        self.pool_wait.inc(max(0.0, pool.wait_seconds - self._pool_wait_seen))
        self._pool_wait_seen = pool.wait_seconds
        if active is not None:
            self.active_sessions.set(active)
        self.store_round_trips.set(round_trips)
        if supervisor is not None:
            self._sample_supervisor(supervisor)

    def _sample_supervisor(self, supervisor: EmbeddedSupervisor) -> None:
        ok, failed = supervisor.restarts, supervisor.failed_attempts
        self.store_restarts.labels("ok").inc(ok - self._restarts_seen[0])
        self.store_restarts.labels("failed").inc(failed - self._restarts_seen[1])
        self._restarts_seen = (ok, failed)
        for state in SupervisorState:
            self.store_supervisor.labels(state.value).set(1 if supervisor.state is state else 0)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
