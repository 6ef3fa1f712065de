"""The monitor's view of a ``Snapshot``: one dict shape for the HTTP API and the CLI.

Field names are those of ``/v1/monitor`` (``MonitorOut``), so a script reading
``agentgpt session monitor --json`` and one reading the API see the same document.
"""

from __future__ import annotations

import math
from typing import Any

from agentgpt.analytics.alerts import severity_filter
from agentgpt.analytics.snapshot_model import Snapshot


def snapshot_view(snap: Snapshot, severity: str = "info") -> dict[str, Any]:
    """The snapshot as the monitor's document, keeping alerts at or above ``severity``."""
    floor = severity_filter(severity)
    flags = {t.subject: t.kind for t in snap.trends}
    return {
        "window": snap.window,
        "at": snap.at,
        "active_sessions": snap.active_sessions,
        "turns": snap.turns,
        "turns_per_s": snap.turns_per_s,
        "latency": {
            "avg_ms": snap.latency_avg_ms,
            "p50_ms": snap.latency_p50_ms,
            "p95_ms": snap.latency_p95_ms,
            "p99_ms": snap.latency_p99_ms,
        },
        "topics": [
            {"topic": t.topic, "turns": t.turns, "share": t.percent, "trend": flags.get(t.topic)}
            for t in snap.topics
        ],
        "sentiment_avg": snap.sentiment_avg,
        "escalation_rate": snap.escalation_rate,
        "alerts": [
            {
                "id": a.id,
                "rule": a.rule,
                "severity": a.severity,
                "subject": a.subject,
                "message": a.message,
                "at": a.at,
                "acknowledged": a.acknowledged_by is not None,
            }
            for a in snap.alerts
            if a.level >= floor
        ],
        "trends": [
            {
                "kind": t.kind,
                "subject": t.subject,
                "ratio": t.ratio if math.isfinite(t.ratio) else None,
                "p_value": t.p_value,
            }
            for t in snap.trends
        ],
        "dropped_events": snap.dropped_events,
    }
