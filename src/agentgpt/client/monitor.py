"""The operators' monitor snapshot (``GET /v1/monitor``) as typed structs."""

from __future__ import annotations

import msgspec


class Latency(msgspec.Struct, frozen=True):
    """Turn latency over the window, in milliseconds (None without turns)."""

    avg_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


class TopicShare(msgspec.Struct, frozen=True):
    """One concern topic's share of the topic-bearing turns."""

    topic: str
    turns: int
    share: float
    trend: str | None = None


class Alert(msgspec.Struct, frozen=True):
    """An alert raised by the analytics rules."""

    id: str
    rule: str
    severity: str
    subject: str
    message: str
    at: float
    acknowledged: bool


class Trend(msgspec.Struct, frozen=True):
    """A significant change against the baseline."""

    kind: str
    subject: str
    ratio: float
    p_value: float


class Snapshot(msgspec.Struct, frozen=True):
    """The monitor screen's figures for one window."""

    window: str
    at: float
    active_sessions: int
    turns: int
    turns_per_s: float
    latency: Latency
    topics: list[TopicShare]
    sentiment_avg: float | None
    escalation_rate: float | None
    alerts: list[Alert]
    trends: list[Trend]
    dropped_events: int
