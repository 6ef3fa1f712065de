"""Cross-session analytics: turn events, time-bucketed aggregates, trends and alerts."""

from agentgpt.analytics.alerts import Alert, AlertLog, Severity, severity_filter
from agentgpt.analytics.events import AuthEvent, TurnEvent
from agentgpt.analytics.snapshot import Analytics
from agentgpt.analytics.snapshot_model import WINDOWS, Snapshot, TopicShare, Trend
from agentgpt.analytics.snapshot_view import snapshot_view
from agentgpt.analytics.trends import TrendFlag, TrendParams

__all__ = [
    "WINDOWS",
    "Alert",
    "AlertLog",
    "Analytics",
    "AuthEvent",
    "Severity",
    "Snapshot",
    "TopicShare",
    "Trend",
    "TrendFlag",
    "TrendParams",
    "TurnEvent",
    "severity_filter",
    "snapshot_view",
]
