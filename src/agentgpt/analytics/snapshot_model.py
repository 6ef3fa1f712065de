"""The monitor's snapshot: its windows, its model and how it is built from the figures.

``analytics.snapshot.Analytics`` reads the buckets and the alerts; what it returns is
built here, without I/O.
"""

from __future__ import annotations

import msgspec

from agentgpt.analytics import reader
from agentgpt.analytics.aggregates import Figures
from agentgpt.analytics.alerts import Alert
from agentgpt.analytics.trends import TrendFlag

#: Window name -> minutes. Up to an hour the minute buckets are read; longer windows use
#: hour and day buckets (minute buckets are only kept for ``minute_retention``).
WINDOWS = {"5m": 5, "15m": 15, "1h": 60, "24h": 1440, "7d": 10080}


class TopicShare(msgspec.Struct, frozen=True):
    """A topic's turns and its percentage of the topic-bearing turns of the window."""

    topic: str
    turns: int
    percent: float


class Trend(msgspec.Struct, frozen=True):
    """A trend flag as the snapshot shows it."""

    kind: str
    subject: str
    ratio: float
    p_value: float
    current: float
    expected: float


class Snapshot(msgspec.Struct, kw_only=True):
    """The figures of the monitor screen for one window."""

    window: str
    at: float
    seconds: float
    active_sessions: int
    turns: int
    turns_per_s: float
    latency_avg_ms: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None
    topics: list[TopicShare]
    topic_turns: int
    sentiment_avg: float | None
    escalations: int
    escalation_rate: float | None
    alerts: list[Alert]
    trends: list[Trend]
    dropped_events: int


def baseline_groups(start: int, end: int) -> list[list[tuple[str, int]]]:
    """Baselines by preference: the same hours of the last 7 days, the trailing 24 h."""
    first, last = start // 60, end // 60
    trailing = reader.hours(first - 24, first - 1)
    same = [b for day in range(1, 8) for b in reader.hours(first - 24 * day, last - 24 * day)]
    return [same, trailing]


def build_snapshot(
    window: str,
    now: float,
    seconds: float,
    fig: Figures,
    active: int,
    top: int,
    alerts: list[Alert],
    trends: list[TrendFlag],
    dropped: int,
) -> Snapshot:
    """The snapshot of one window from its figures, alerts and trend flags."""
    topic_turns = fig.topic_turns
    ranked = sorted(fig.topics.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    shares = [TopicShare(t, n, round(100.0 * n / topic_turns, 2)) for t, n in ranked]
    seconds = max(seconds, 1.0)
    return Snapshot(
        window=window,
        at=now,
        seconds=seconds,
        active_sessions=active,
        turns=fig.turns,
        turns_per_s=round(fig.turns / seconds, 3),
        latency_avg_ms=fig.latency_mean_ms,
        latency_p50_ms=fig.latency_percentile(0.50),
        latency_p95_ms=fig.latency_percentile(0.95),
        latency_p99_ms=fig.latency_percentile(0.99),
        topics=shares,
        topic_turns=topic_turns,
        sentiment_avg=fig.sentiment_mean,
        escalations=fig.escalations,
        escalation_rate=fig.escalations / fig.turns if fig.turns else None,
        alerts=sorted(alerts, key=lambda a: (-a.level, -a.at)),
        trends=[
            Trend(t.kind, t.subject, t.ratio, t.p_value, t.current, t.expected) for t in trends
        ],
        dropped_events=dropped,
    )
