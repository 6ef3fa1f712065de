"""Every document the service sends is strict JSON; alert texts read like an operator's note."""

from __future__ import annotations

import json
import math

from hypothesis import given
from hypothesis import strategies as st

from agentgpt.analytics.aggregates import Figures
from agentgpt.analytics.alerts import Alert, rules, trend_alerts
from agentgpt.analytics.snapshot import Snapshot, TopicShare, Trend
from agentgpt.analytics.trends import all_trends, topic_trends
from agentgpt.config.settings import AnalyticsSettings
from agentgpt.server.monitor_api import snapshot_event
from agentgpt.server.strict_json import StrictJSONResponse, dumps


def strict_loads(text: str) -> object:
    """``json.loads`` that refuses Infinity, -Infinity and NaN, like a browser's JSON.parse."""

    def refuse(name: str) -> object:
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


numbers = st.floats(allow_nan=True, allow_infinity=True)
maybe = st.none() | numbers
text = st.text(max_size=20)
counts = st.integers(min_value=0, max_value=10**9)
alerts = st.builds(
    Alert, rule=st.sampled_from(["topic_surge", "latency_p99"]),
    severity=st.sampled_from(["debug", "info", "warning", "critical"]), subject=text,
    message=text, at=numbers, id=text,
)  # fmt: skip
snapshots = st.builds(
    Snapshot, window=st.sampled_from(["5m", "15m", "1h"]), at=numbers, seconds=numbers,
    active_sessions=counts, turns=counts, turns_per_s=numbers, latency_avg_ms=maybe,
    latency_p50_ms=maybe, latency_p95_ms=maybe, latency_p99_ms=maybe,
    topics=st.lists(st.builds(TopicShare, topic=text, turns=counts, percent=numbers),
                    max_size=5),
    topic_turns=counts, sentiment_avg=maybe, escalations=counts, escalation_rate=maybe,
    alerts=st.lists(alerts, max_size=3),
    trends=st.lists(st.builds(Trend, kind=st.sampled_from(["surge", "drop"]), subject=text,
                              ratio=numbers, p_value=numbers, current=numbers,
                              expected=numbers), max_size=3),
    dropped_events=counts,
)  # fmt: skip


def _non_finite_paths(value: object, path: str = "") -> set[str]:
    if isinstance(value, float) and not math.isfinite(value):
        return {path}
    if isinstance(value, dict):
        return set().union(*(_non_finite_paths(v, f"{path}.{k}") for k, v in value.items()))
    if isinstance(value, list):
        return set().union(*(_non_finite_paths(v, f"{path}[{i}]") for i, v in enumerate(value)))
    return set()


def _at(doc: object, path: str) -> object:
    for part in path.replace("[", ".").replace("]", "").split(".")[1:]:
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]  # type: ignore[index]
    return doc


@given(snapshots)
def test_every_snapshot_event_is_strict_json(snap: Snapshot) -> None:
    event = snapshot_event(snap, "debug")
    assert event["event"] == "snapshot"
    doc = strict_loads(event["data"])
    assert isinstance(doc, dict)
    assert doc["turns"] == snap.turns
    assert len(doc["trends"]) == len(snap.trends)


@given(st.recursive(st.none() | st.booleans() | numbers | text | counts,
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(text, inner, max_size=4), max_leaves=20))  # fmt: skip
def test_the_encoder_writes_non_finite_numbers_as_null(value: object) -> None:
    doc = strict_loads(dumps(value))
    assert strict_loads(StrictJSONResponse(value).body.decode()) == doc
    for path in _non_finite_paths(value):
        assert _at(doc, path) is None


def test_a_surge_from_zero_says_none_before_and_no_infinity() -> None:
    baseline = {"Transfers": 900, "Card issues": 600}
    flags = topic_trends({"Fraud alerts": 48}, [baseline])
    assert [(f.kind, f.subject) for f in flags] == [("surge", "Fraud alerts")]
    assert math.isinf(flags[0].ratio)
    (alert,) = trend_alerts(flags, rules(AnalyticsSettings()), ["Fraud alerts"], 0.0,
                            window_min=15)  # fmt: skip
    assert alert.message == "Fraud alerts: 48 turns in 15 min, none in the same hours of " \
        "the last 7 days"  # fmt: skip
    assert "inf" not in json.dumps(alert.data)


def test_a_surge_against_history_gives_counts_now_and_usually() -> None:
    current = {"Fraud alerts": 400, "Transfers": 400, "Card issues": 200}
    baseline = {"Fraud alerts": 10_000, "Transfers": 10_000, "Card issues": 80_000}
    flags = [f for f in topic_trends(current, [{}, baseline]) if f.subject == "Fraud alerts"]
    (alert,) = trend_alerts(flags, rules(AnalyticsSettings()), [], 0.0)
    assert alert.message == (
        "Fraud alerts: 400 turns in 5 min (40% of turns), about 100 expected from the last "
        "24 h (10%)"
    )


def _figures(turns: int, escalations: int, mean: float, sd: float) -> Figures:
    return Figures.of({"n": turns, "e": escalations, "sc": turns,
                       "ss": round(turns * mean * 1000),
                       "sq": round(turns * (sd * sd + mean * mean) * 1000)})  # fmt: skip


def test_sentiment_and_escalation_texts_have_no_negative_ratio() -> None:
    flags = all_trends(_figures(1000, 80, -0.20, 0.4), [_figures(100_000, 3000, 0.12, 0.4)])
    texts = {a.rule: a.message for a in trend_alerts(flags, rules(AnalyticsSettings()), [], 0)}
    assert texts == {
        "escalation_rising": "Escalations: 80 of 1000 turns in 5 min (8.0%), 3.0% in the same "
        "hours of the last 7 days",
        "sentiment_falling": "Customer sentiment: average -0.20 over 1000 turns in 5 min, down "
        "from +0.12 in the same hours of the last 7 days",
    }
