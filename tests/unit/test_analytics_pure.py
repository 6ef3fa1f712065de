"""Analytics without a server: histogram buckets, windows, trend tests, severities."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentgpt.analytics.aggregates import Figures, add_event, bucket_span
from agentgpt.analytics.alerts import Severity, severity_filter, trend_alerts
from agentgpt.analytics.alerts import rules as rule_book
from agentgpt.analytics.events import TurnEvent
from agentgpt.analytics.histogram import (
    MAX_BUCKET,
    bucket_bounds,
    bucket_of,
    exact_percentile,
    percentile,
)
from agentgpt.analytics.trends import TrendParams, all_trends, drop, surge, topic_trends
from agentgpt.config.settings import AnalyticsSettings
from agentgpt.demo.traffic import Surge, TrafficModel, alerts_over, detect, simulate
from agentgpt.errors import InvalidInput

latencies = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)


@given(latencies)
def test_a_latency_lies_within_its_bucket(ms: float) -> None:
    k = bucket_of(ms)
    low, high = bucket_bounds(k)
    assert 0 <= k <= MAX_BUCKET
    assert low <= ms < high or (k == 0 and ms < 1)


@given(latencies, latencies)
def test_buckets_are_monotonic(a: float, b: float) -> None:
    if a <= b:
        assert bucket_of(a) <= bucket_of(b)


@given(st.lists(latencies, min_size=1, max_size=300), st.sampled_from([0.5, 0.95, 0.99]))
def test_percentile_is_within_one_bucket_of_exact(values: list[float], q: float) -> None:
    counts: dict[int, int] = {}
    for v in values:
        counts[bucket_of(v)] = counts.get(bucket_of(v), 0) + 1
    reported = percentile(counts, q)
    assert reported is not None
    assert abs(bucket_of(reported) - bucket_of(exact_percentile(values, q))) <= 1


def test_odd_latencies_do_not_break_the_histogram() -> None:
    assert bucket_of(math.nan) == 0
    assert bucket_of(-5) == 0
    assert bucket_of(math.inf) == MAX_BUCKET
    assert percentile({}, 0.99) is None


def test_tally_reads_back_exactly() -> None:
    tally: dict[str, int] = {}
    for i in range(10):
        add_event(tally, TurnEvent(time=0, topic="Card issues" if i < 7 else None,
                                   intent="card_block", sentiment=-0.5, latency_ms=100.0,
                                   escalated=i == 0))  # fmt: skip
    fig = Figures.of(tally)
    assert (fig.turns, fig.topic_turns, fig.escalations) == (10, 7, 1)
    assert fig.intents == {"card_block": 10}
    assert fig.sentiment_mean == pytest.approx(-0.5)
    assert fig.latency_mean_ms == pytest.approx(100.0)


@pytest.mark.parametrize(("start", "end"), [(0, 59), (30, 10079), (1439, 1440 * 9 + 3), (61, 61)])
def test_hour_spans_cover_every_minute_once(start: int, end: int) -> None:
    covered: list[int] = []
    for res, idx in bucket_span(start, end, "h"):
        width = 60 if res == "h" else 1440
        covered.extend(range(idx * width, (idx + 1) * width))
    assert covered == list(range((start // 60) * 60, (end // 60) * 60 + 60))
    assert len(bucket_span(0, 10079, "h")) == 7  # 7 whole days read as 7 day buckets


def test_surge_needs_both_ratio_and_significance() -> None:
    params = TrendParams()
    assert surge(200, 1000, 10_000, 100_000, params) is not None  # 10% -> 20%
    assert surge(150, 1000, 10_000, 100_000, params) is None  # significant, only 1.6x
    assert surge(6, 20, 100, 1000, params) is None  # 3.9x but under min_count
    assert drop(40, 1000, 10_000, 100_000, params) is not None
    assert drop(90, 1000, 10_000, 100_000, params) is None


def test_a_doubling_reads_as_at_least_2x_unless_the_point_rule_is_asked() -> None:
    # 180 of 1000 against 10%: an estimated 1.98x, entirely consistent with a doubling.
    assert surge(180, 1000, 10_000, 100_000, TrendParams()) is not None
    assert surge(180, 1000, 10_000, 100_000, TrendParams(ratio_mode="point")) is None


def test_other_rising_is_its_own_kind() -> None:
    current = {"other": 120, "Transfers": 880}
    baseline = {"other": 3000, "Transfers": 97_000}
    kinds = {(f.kind, f.subject) for f in topic_trends(current, [baseline])}
    assert ("other_rising", "other") in kinds


def test_severity_filters() -> None:
    assert severity_filter("prod") is Severity.WARNING
    assert severity_filter("debug") is Severity.DEBUG
    assert severity_filter("Critical") is Severity.CRITICAL
    with pytest.raises(InvalidInput):
        severity_filter("loud")


def test_fraud_surge_is_critical_and_other_surges_warn() -> None:
    current = {"Fraud alerts": 400, "Transfers": 400, "Card issues": 200}
    baseline = {"Fraud alerts": 10_000, "Transfers": 10_000, "Card issues": 80_000}
    flags = topic_trends(current, [baseline])
    book = rule_book(AnalyticsSettings())
    alerts = {a.subject: a.severity for a in trend_alerts(flags, book, ["Fraud alerts"], 0.0)}
    assert alerts["Fraud alerts"] == "critical"
    assert alerts["Transfers"] == "warning"
    assert alerts["Card issues"] == "info"  # a drop


DAY = 1440
START = 20_000 * DAY


def test_stationary_seasonal_traffic_raises_nothing() -> None:
    # One fixed day: the false-alarm *rate* is measured over 30 days by bench/analytics.py.
    traffic = simulate(TrafficModel(), START, 8 * DAY, seed=1)
    assert alerts_over(traffic, START + 7 * DAY, START + 8 * DAY - 1) == []


@pytest.mark.parametrize("topic", ["Fraud alerts", "Loan inquiries", "other"])
def test_injected_surge_is_flagged(topic: str) -> None:
    onset = START + 7 * DAY + 14 * 60
    traffic = simulate(TrafficModel(), START, 8 * DAY, seed=7, surges=[Surge(topic, onset, 3.0)])
    before = [f for m in range(onset - 30, onset) for f in detect(traffic, m)]
    assert before == []
    after = {(f.kind, f.subject) for m in range(onset, onset + 10) for f in detect(traffic, m)}
    kind = "other_rising" if topic == "other" else "surge"
    assert (kind, topic) in after


def _figures(turns: int, escalations: int, mean: float, sd: float) -> Figures:
    return Figures.of({"n": turns, "e": escalations, "sc": turns,
                       "ss": round(turns * mean * 1000),
                       "sq": round(turns * (sd * sd + mean * mean) * 1000)})  # fmt: skip


def test_falling_sentiment_and_rising_escalations_are_flagged() -> None:
    base = _figures(100_000, 3000, 0.10, 0.4)
    kinds = {f.kind for f in all_trends(_figures(1000, 80, -0.20, 0.4), [base])}
    assert kinds == {"sentiment_falling", "escalation_rising"}
    assert all_trends(_figures(1000, 33, 0.08, 0.4), [base]) == []
