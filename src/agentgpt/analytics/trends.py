"""Trend detection as pure functions over counts (unit-testable, no store, no clock).

A topic's *rate* is measured against the rest of the traffic: under the baseline, a topic
holds share ``p0`` of topic-bearing turns, so with ``n`` turns now it is expected
``n * p0`` times. The effect size is the odds ratio ``(c / (n - c)) / (p0 / (1 - p0))``:
it equals the topic's rate multiplier when the other topics keep their rates, and it is
blind to the daily swing of total volume (seasonality cancels out). A surge needs
``c >= min_count``, an exact binomial tail ``P(X >= c) < p`` (the excess is significant),
and a rate of at least ``surge_ratio`` times the baseline. ``ratio_mode`` says how that
last condition reads the data: ``point`` wants the estimated ratio >= 2, which a topic
that exactly doubles meets only half the time; ``consistent`` (the default) wants the
data not to show the ratio below 2 (one-sided test at ``ratio_alpha`` = 0.1), which a
doubling meets 90 % of the time while a 1.3x wobble at any useful count fails it. The
defaults (``min_count`` 40, ``ratio_alpha`` 0.1) were chosen with bench/analytics.py on
30 simulated stationary days and 24 doublings: see docs/benchmarks.md.
A drop mirrors a surge (``1 / surge_ratio``, ``n * p0 >= min_count``, ``P(X <= c) < p``).
Baselines come in order of preference: the same hours of the last 7 days first (it
carries the daily swing of the topic mix, e.g. fraud reports at night), the trailing 24 h
when there is not yet enough same-hour history (``min_baseline`` turns).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from agentgpt.analytics.aggregates import Figures

#: z for a one-sided p of 0.001 (sentiment uses a normal test on the mean).
_Z = {0.001: 3.090232306167813, 0.01: 2.3263478740408408, 0.05: 1.6448536269514722}


@dataclass(frozen=True, slots=True)
class TrendParams:
    """Thresholds of the detector (defaults: the issue's 2x at p < 0.001)."""

    surge_ratio: float = 2.0
    significance: float = 0.001
    min_count: int = 40
    min_baseline: int = 500
    sentiment_drop: float = 0.15
    other_topic: str = "other"
    ratio_mode: str = "consistent"
    ratio_alpha: float = 0.1


@dataclass(frozen=True, slots=True)
class TrendFlag:
    """One detected trend: ``kind`` surge|drop|other_rising|sentiment_falling|escalation_rising."""

    kind: str
    subject: str
    ratio: float
    p_value: float
    current: float
    expected: float
    #: What the alert text needs: turns in the window, the baseline's count and turns, and
    #: which baseline was used (0: same hours of the last 7 days, 1: the trailing 24 h).
    turns: int = 0
    base_count: float = 0.0
    base_turns: float = 0.0
    baseline: int = 0


def binom_sf(c: int, n: int, p: float) -> float:
    """P(X >= c) for X ~ Binomial(n, p)."""
    from scipy.stats import binom  # imported late: scipy costs ~0.3 s of start-up

    return float(binom.sf(c - 1, n, p))


def binom_cdf(c: int, n: int, p: float) -> float:
    """P(X <= c) for X ~ Binomial(n, p)."""
    from scipy.stats import binom

    return float(binom.cdf(c, n, p))


def _p0(count: int, total: int) -> float:
    # Laplace smoothing: a topic never seen in the baseline still has a finite rate.
    return (count + 0.5) / (total + 1.0)


def odds_ratio(c: int, n: int, p0: float) -> float:
    """Odds of the topic now over its baseline odds (inf when every turn is the topic)."""
    if c >= n:
        return math.inf
    return (c / (n - c)) / (p0 / (1.0 - p0))


def surge(c: int, n: int, base_c: int, base_n: int, params: TrendParams) -> TrendFlag | None:
    """Flag ``c`` of ``n`` turns as a surge over ``base_c`` of ``base_n``, else None."""
    if c < params.min_count or base_n < params.min_baseline or n <= 0:
        return None
    p0 = _p0(base_c, base_n)
    ratio = odds_ratio(c, n, p0)
    if ratio <= 1.0 or not _at_least(c, n, p0, params.surge_ratio, params):
        return None
    p_value = binom_sf(c, n, p0)
    if p_value >= params.significance:
        return None
    return TrendFlag("surge", "", ratio, p_value, c, n * p0, n, base_c, base_n)


def drop(c: int, n: int, base_c: int, base_n: int, params: TrendParams) -> TrendFlag | None:
    """Flag ``c`` of ``n`` turns as a drop under ``base_c`` of ``base_n``, else None."""
    if base_n < params.min_baseline or n <= 0:
        return None
    p0 = _p0(base_c, base_n)
    if n * p0 < params.min_count:
        return None
    ratio = odds_ratio(c, n, p0)
    if ratio >= 1.0 or not _at_least(c, n, p0, 1.0 / params.surge_ratio, params):
        return None
    p_value = binom_cdf(c, n, p0)
    if p_value >= params.significance:
        return None
    return TrendFlag("drop", "", ratio, p_value, c, n * p0, n, base_c, base_n)


def _at_least(c: int, n: int, p0: float, factor: float, params: TrendParams) -> bool:
    """Is the odds ratio at least ``factor`` (at most, when ``factor`` < 1)?"""
    ratio = odds_ratio(c, n, p0)
    if params.ratio_mode == "point":
        return ratio >= factor if factor >= 1 else ratio <= factor
    odds = p0 / (1.0 - p0) * factor
    target = odds / (1.0 + odds)  # the topic's probability if its odds moved by ``factor``
    if factor >= 1:
        return ratio >= factor or binom_cdf(c, n, target) >= params.ratio_alpha
    return ratio <= factor or binom_sf(c, n, target) >= params.ratio_alpha


Test = Callable[[int, int, int, int, TrendParams], TrendFlag | None]


def _against_best(
    test: Test, c: int, n: int, baselines: Sequence[tuple[int, int]], params: TrendParams
) -> TrendFlag | None:
    for index, (bc, bn) in enumerate(baselines):
        if bn >= params.min_baseline:
            flag = test(c, n, bc, bn, params)
            return None if flag is None else replace(flag, baseline=index)
    return None


def topic_trends(
    current: Mapping[str, int],
    baselines: Sequence[Mapping[str, int]],
    params: TrendParams | None = None,
) -> list[TrendFlag]:
    """Surges and drops of every topic of ``current`` against the preferred usable baseline."""
    params = params or TrendParams()
    n = sum(current.values())
    totals = [sum(b.values()) for b in baselines]
    flags: list[TrendFlag] = []
    for topic in sorted(set(current).union(*baselines)):
        c = current.get(topic, 0)
        pairs = [(b.get(topic, 0), t) for b, t in zip(baselines, totals, strict=True)]
        for test in (surge, drop):
            flag = _against_best(test, c, n, pairs, params)
            if flag is None:
                continue
            kind = flag.kind
            if kind == "surge" and topic == params.other_topic:
                kind = "other_rising"
            flags.append(replace(flag, kind=kind, subject=topic))
    return flags


def escalation_trend(
    current: Figures, baselines: Sequence[Figures], params: TrendParams | None = None
) -> TrendFlag | None:
    """Flag a rising escalation rate (escalations per turn) against the preferred baseline."""
    params = params or TrendParams()
    pairs = [(b.escalations, b.turns) for b in baselines]
    flag = _against_best(surge, current.escalations, current.turns, pairs, params)
    if flag is None:
        return None
    return replace(flag, kind="escalation_rising")


def sentiment_trend(
    current: Figures, baselines: Sequence[Figures], params: TrendParams | None = None
) -> TrendFlag | None:
    """Flag a falling average sentiment (one-sided z-test on the mean) vs the preferred baseline."""
    params = params or TrendParams()
    z_crit = _Z.get(params.significance) or _z_for(params.significance)
    mean = current.sentiment_mean
    if mean is None or current.sentiment_n < params.min_count:
        return None
    usable = [(i, b) for i, b in enumerate(baselines) if b.sentiment_n >= params.min_baseline]
    if not usable:
        return None
    index, base = usable[0]
    base_mean, var = base.sentiment_mean, base.sentiment_var
    if base_mean is None or var is None:
        return None
    fall = base_mean - mean
    z = fall / math.sqrt(max(var, 1e-6) / current.sentiment_n)
    if fall < params.sentiment_drop or z < z_crit:
        return None
    p_value = 0.5 * math.erfc(z / math.sqrt(2))
    return TrendFlag(
        "sentiment_falling",
        "",
        mean - base_mean,
        p_value,
        mean,
        base_mean,
        current.sentiment_n,
        base_mean,
        base.sentiment_n,
        index,
    )


def _z_for(p: float) -> float:
    from scipy.stats import norm

    return float(norm.isf(p))


def all_trends(
    current: Figures, baselines: Sequence[Figures], params: TrendParams | None = None
) -> list[TrendFlag]:
    """Every trend flag of ``current`` against ``baselines`` (topics, escalation, sentiment)."""
    params = params or TrendParams()
    flags = topic_trends(current.topics, [b.topics for b in baselines], params)
    for extra in (
        escalation_trend(current, baselines, params),
        sentiment_trend(current, baselines, params),
    ):
        if extra is not None:
            flags.append(extra)
    return flags
