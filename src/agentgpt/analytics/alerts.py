"""Alerts: severities, the rules that produce them, and the alert stream in the store.

An alert is written once per rule, subject and cool-down across every process (a marker
key set with NX and the XADD run in one script), to a capped stream that operators read
and acknowledge. The rules are pure functions from figures to alerts.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Sequence
from enum import IntEnum
from typing import NamedTuple

import msgspec

from agentgpt.analytics.trends import TrendFlag
from agentgpt.config.settings import AnalyticsSettings
from agentgpt.errors import InvalidInput
from agentgpt.store.analytics_repository import AnalyticsRepository
from agentgpt.store.context_store import RedisContextStore

_STREAM_ID = re.compile(r"\d{1,20}-\d{1,20}")


class Severity(IntEnum):
    """Alert severities, ordered; ``prod`` in a filter means warning and above."""

    DEBUG = 10
    INFO = 20
    WARNING = 30
    CRITICAL = 40


def severity_filter(value: str) -> Severity:
    """The lowest severity a filter value admits: debug, info, warning, critical or prod."""
    name = value.strip().lower() if isinstance(value, str) else ""
    if name == "prod":
        return Severity.WARNING
    try:
        return Severity[name.upper()]
    except KeyError:
        raise InvalidInput(
            f"unknown severity filter {value!r}: use debug, info, warning, critical or prod"
        ) from None


class Alert(msgspec.Struct, kw_only=True):
    """One alert as the stream, the hook and the snapshot carry it (no PII)."""

    rule: str
    severity: str
    subject: str
    message: str
    at: float
    data: dict[str, str] = msgspec.field(default_factory=dict)
    id: str = ""
    acknowledged_by: str | None = None

    @property
    def level(self) -> Severity:
        """The severity as an ordered value."""
        return Severity[self.severity.upper()]


class Rule(NamedTuple):
    """A rule's severity and how long a repeat on the same subject stays silent."""

    name: str
    severity: Severity
    cooldown_s: float


def rules(settings: AnalyticsSettings) -> dict[str, Rule]:
    """The rule book, with cool-downs from the settings."""
    cool = settings.alert_cooldown.total_seconds()
    table = [
        Rule("auth_failures", Severity.CRITICAL, settings.auth_window.total_seconds()),
        Rule("critical_surge", Severity.CRITICAL, cool),
        Rule("topic_surge", Severity.WARNING, cool),
        Rule("other_rising", Severity.WARNING, cool),
        Rule("escalation_rising", Severity.WARNING, cool),
        Rule("sentiment_falling", Severity.WARNING, cool),
        Rule("latency_p99", Severity.WARNING, cool),
        Rule("topic_drop", Severity.INFO, cool),
        Rule("store_unreachable", Severity.CRITICAL, cool),
    ]
    return {r.name: r for r in table}


def make_alert(rule: Rule, subject: str, message: str, at: float, **data: object) -> Alert:
    """Build an alert of ``rule`` (data values are shown as text)."""
    shown = {k: (f"{v:.4g}" if isinstance(v, float) else str(v)) for k, v in data.items()}
    return Alert(
        rule=rule.name,
        severity=rule.severity.name.lower(),
        subject=subject,
        message=message,
        at=at,
        data=shown,
    )


#: What each baseline index of ``all_trends`` means, in an operator's words.
BASELINE_NAMES = ("the same hours of the last 7 days", "the last 24 h")


def trend_alerts(
    flags: Sequence[TrendFlag],
    book: dict[str, Rule],
    critical_topics: Sequence[str],
    at: float,
    *,
    window_min: int = 5,
) -> list[Alert]:
    """Alerts for trend flags: a critical topic's surge is critical, other surges warn."""
    out = []
    for flag in flags:
        if flag.kind == "surge":
            name = "critical_surge" if flag.subject in critical_topics else "topic_surge"
        elif flag.kind == "drop":
            name = "topic_drop"
        else:
            name = flag.kind
        # Non-finite figures stay out of the alert's data: it is shown and sent as JSON.
        figures = {
            k: v for k, v in (("ratio", flag.ratio), ("p_value", flag.p_value)) if math.isfinite(v)
        }
        out.append(
            make_alert(
                book[name],
                flag.subject,
                trend_message(flag, window_min),
                at,
                current=flag.current,
                expected=flag.expected,
                **figures,
            )
        )
    return out


def trend_message(flag: TrendFlag, window_min: int) -> str:
    """What an operator reads: the count now, the count or share usual at this time."""
    since = BASELINE_NAMES[min(flag.baseline, len(BASELINE_NAMES) - 1)]
    span = f"in {window_min} min"
    if flag.kind == "sentiment_falling":
        return (
            f"Customer sentiment: average {flag.current:+.2f} over {flag.turns} turns "
            f"{span}, down from {flag.expected:+.2f} in {since}"
        )
    usual = "none" if flag.base_count <= 0 else f"{_pct(flag.base_count, flag.base_turns)}"
    if flag.kind == "escalation_rising":
        return (
            f"Escalations: {flag.current:.0f} of {flag.turns} turns {span} "
            f"({_pct(flag.current, flag.turns)}), {usual} in {since}"
        )
    now = f"{flag.subject}: {flag.current:.0f} turns {span}"
    if flag.base_count <= 0:
        return f"{now}, none in {since}"
    return (
        f"{now} ({_pct(flag.current, flag.turns)} of turns), about "
        f"{flag.expected:.0f} expected from {since} ({usual})"
    )


def _pct(part: float, whole: float) -> str:
    share = 100.0 * part / whole if whole > 0 else 0.0
    return f"{share:.1f}%" if share < 10 else f"{share:.0f}%"


def latency_alert(
    p99_by_minute: Sequence[float | None], objective_ms: float, book: dict[str, Rule], at: float
) -> Alert | None:
    """Warn when every one of the given complete minutes had its p99 over the objective."""
    if not p99_by_minute or any(p is None or p <= objective_ms for p in p99_by_minute):
        return None
    worst = max(p for p in p99_by_minute if p is not None)
    return make_alert(
        book["latency_p99"],
        "",
        f"latency p99 over {objective_ms:g} ms for "
        f"{len(p99_by_minute)} minutes (worst {worst:.0f} ms)",
        at,
        worst_ms=worst,
    )


class AlertLog:
    """The alert stream: raise (de-duplicated), list recent, acknowledge."""

    def __init__(
        self,
        store: RedisContextStore,
        settings: AnalyticsSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Keep alerts in ``store``."""
        self.store = store
        self.repository = AnalyticsRepository(store)
        self.settings = settings
        self.clock = clock

    async def raise_alert(self, alert: Alert, cooldown_s: float) -> Alert | None:
        """Append ``alert`` unless the same rule and subject fired within the cool-down."""
        entry: list[object] = [
            "rule",
            alert.rule,
            "severity",
            alert.severity,
            "subject",
            alert.subject,
            "message",
            alert.message,
            "at",
            repr(alert.at),
            "data",
            json.dumps(alert.data),
        ]
        args: list[object] = [max(1, int(cooldown_s * 1000)), self.settings.alert_stream_maxlen]
        reply = await self.repository.append_alert(alert.rule, alert.subject, args + entry)
        if not reply:
            return None
        return msgspec.structs.replace(alert, id=_text(reply))

    async def recent(
        self,
        limit: int = 50,
        *,
        since: float | None = None,
        min_severity: Severity | str = Severity.INFO,
        include_acknowledged: bool = False,
    ) -> list[Alert]:
        """The newest alerts first, at or above ``min_severity``, open ones unless asked."""
        floor = severity_filter(min_severity) if isinstance(min_severity, str) else min_severity
        # Filter on the alert's own time, not the stream id: ids carry the server's clock.
        rows = await self.repository.recent_alerts(max(1, limit * 4))
        alerts = [_decode(row_id, fields) for row_id, fields in rows]
        alerts = [a for a in alerts if a.level >= floor and (since is None or a.at >= since)]
        if alerts:
            by = await self.repository.acknowledged_by([a.id for a in alerts])
            for alert, operator in zip(alerts, by, strict=True):
                alert.acknowledged_by = _text(operator) if operator is not None else None
        if not include_acknowledged:
            alerts = [a for a in alerts if a.acknowledged_by is None]
        return alerts[:limit]

    async def acknowledge(self, alert_id: str, operator: str) -> bool:
        """Mark an alert handled by ``operator``; False if it was already acknowledged."""
        if not isinstance(operator, str) or not operator.strip() or len(operator) > 128:
            raise InvalidInput("operator must be a non-empty name of at most 128 characters")
        if not isinstance(alert_id, str) or not _STREAM_ID.fullmatch(alert_id):
            raise InvalidInput(f"invalid alert id {alert_id!r:.40}: expected <ms>-<seq>")
        now_ms = int(self.clock() * 1000)
        retention = int(self.settings.retention.total_seconds() * 1000)
        args: list[object] = [alert_id, operator, now_ms, retention]
        return await self.repository.acknowledge(args)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _decode(row_id: object, fields: dict[bytes, bytes]) -> Alert:
    get = {_text(k): _text(v) for k, v in fields.items()}
    return Alert(
        rule=get.get("rule", ""),
        severity=get.get("severity", "info"),
        subject=get.get("subject", ""),
        message=get.get("message", ""),
        at=float(get.get("at", "0")),
        data=json.loads(get.get("data", "{}")),
        id=_text(row_id),
    )
