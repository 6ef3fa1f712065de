"""Synthetic cross-session traffic with daily seasonality, for measuring the detector.

Volume follows a daily sinusoid around ``rate_per_s`` (peak at ``peak_hour``), each topic's
share wobbles over the day (fraud reports peak at night), and counts are Poisson and
multinomial draws, so a stationary day has exactly the noise real traffic has. A
``Surge`` multiplies one topic's rate from an onset minute. ``detect`` runs the same
trend functions over the same buckets as ``Analytics.evaluate``, without a store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from agentgpt.analytics.aggregates import Figures, Tally
from agentgpt.analytics.histogram import MAX_BUCKET, bucket_bounds
from agentgpt.analytics.trends import TrendFlag, TrendParams, all_trends
from agentgpt.analytics.writer import AggregateWriter
from agentgpt.config.settings import AnalyticsSettings
from agentgpt.store.context_store import RedisContextStore

#: The guide's concern topics with a plausible mix (percent of topic-bearing turns).
DEFAULT_MIX: dict[str, float] = {
    "Password & access": 30.0,
    "Fraud alerts": 20.0,
    "Card issues": 15.0,
    "Transfers": 12.0,
    "Loan inquiries": 10.0,
    "Conversation": 10.0,
    "other": 3.0,
}


@dataclass(frozen=True, slots=True)
class Surge:
    """From minute ``onset`` on, ``topic`` arrives ``factor`` times as often."""

    topic: str
    onset: int
    factor: float = 2.0


@dataclass(frozen=True, slots=True)
class TrafficModel:
    """Daily-seasonal traffic: mean rate, swing, topic mix and per-turn distributions."""

    rate_per_s: float = 10.0
    amplitude: float = 0.6
    peak_hour: float = 14.0
    mix: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    mix_wobble: float = 0.2
    escalation_rate: float = 0.04
    sentiment_mean: float = 0.05
    sentiment_sd: float = 0.4
    latency_median_ms: float = 140.0
    latency_sigma: float = 0.6


@dataclass
class Traffic:
    """Per-minute counts from ``start`` (epoch minute): turns, topics, escalations, sentiment."""

    start: int
    topics: list[str]
    counts: np.ndarray  # minutes x topics
    escalations: np.ndarray
    sent_sum: np.ndarray
    sent_sq: np.ndarray
    latency: list[dict[int, int]] | None = None

    @property
    def turns(self) -> np.ndarray:
        """Turns per minute (every simulated turn bears a topic)."""
        return np.asarray(self.counts.sum(axis=1))

    def figures(self, first: int, last: int) -> Figures:
        """Figures of epoch minutes ``first..last`` inclusive (clipped to the simulation)."""
        a, b = max(0, first - self.start), min(len(self.counts), last - self.start + 1)
        if b <= a:
            return Figures.of({})
        counts = self.counts[a:b].sum(axis=0)
        turns = int(counts.sum())
        tally: Tally = {
            "n": turns,
            "sc": turns,
            "e": int(self.escalations[a:b].sum()),
            "ss": int(self.sent_sum[a:b].sum()),
            "sq": int(self.sent_sq[a:b].sum()),
        }
        for topic, n in zip(self.topics, counts, strict=True):
            if n:
                tally["t:" + topic] = int(n)
        return Figures.of(tally)

    def tally(self, minute: int) -> Tally:
        """The bucket tally of one epoch minute (for seeding a store)."""
        i = minute - self.start
        fig = self.figures(minute, minute)
        tally: Tally = {
            "n": fig.turns,
            "sc": fig.turns,
            "e": fig.escalations,
            "ss": int(self.sent_sum[i]),
            "sq": int(self.sent_sq[i]),
        }
        tally.update({"t:" + t: n for t, n in fig.topics.items()})
        # Two intents per topic, one region, a confidence sum: the fields real buckets carry.
        for t, n in fig.topics.items():
            tally[f"i:{t}/a"], tally[f"i:{t}/b"] = n - n // 3, n // 3
        tally["r:default"], tally["cf"] = fig.turns, fig.turns * 870
        if self.latency is not None:
            tally.update({f"l:{k}": n for k, n in self.latency[i].items()})
            tally["lu"] = int(sum(n * 1000 * _mid(k) for k, n in self.latency[i].items()))
        return tally


def _bucket_probs(median_ms: float, sigma: float) -> np.ndarray:
    from scipy.stats import lognorm

    edges = np.array([bucket_bounds(k)[1] for k in range(MAX_BUCKET + 1)])
    cdf = lognorm.cdf(edges, sigma, scale=median_ms)
    probs = np.diff(np.concatenate([[0.0], cdf]))
    probs[-1] += 1.0 - probs.sum()
    return np.clip(probs, 0.0, 1.0)


def _mid(k: int) -> float:
    return float(2 ** ((k - 0.5) / 4)) if k else 0.5


def simulate(
    model: TrafficModel,
    start: int,
    minutes: int,
    *,
    seed: int = 0,
    surges: Sequence[Surge] = (),
    latency: bool = False,
) -> Traffic:
    """Draw ``minutes`` of traffic from epoch minute ``start``."""
    rng = np.random.default_rng(seed)
    topics = list(model.mix)
    base = np.array([model.mix[t] for t in topics], dtype=float)
    base /= base.sum()
    idx = np.arange(start, start + minutes)
    hour = (idx % 1440) / 60.0
    volume = 1 + model.amplitude * np.cos(2 * np.pi * (hour - model.peak_hour) / 24)
    rates = np.outer(volume * model.rate_per_s * 60, base)  # expected turns per minute/topic
    # Each topic peaks at its own hour: the mix moves over the day like a real one does.
    phase = np.linspace(0, 2 * np.pi, len(topics), endpoint=False)
    rates *= 1 + model.mix_wobble * np.sin(2 * np.pi * hour[:, None] / 24 + phase[None, :])
    for surge in surges:
        col = topics.index(surge.topic)
        rates[idx >= surge.onset, col] *= surge.factor
    counts = rng.poisson(rates)
    turns = counts.sum(axis=1)
    escalations = rng.binomial(turns, model.escalation_rate)
    # Sums of n normal scores: mean n*mu, and the sum of squares via a chi-square-like draw.
    s_sum = rng.normal(turns * model.sentiment_mean, np.sqrt(turns) * model.sentiment_sd)
    s_sq = turns * (model.sentiment_sd**2 + model.sentiment_mean**2)
    hist = None
    if latency:
        # The histogram of n lognormal latencies is a multinomial draw over the buckets'
        # probabilities: exact in distribution and fast for a month of minutes.
        probs = _bucket_probs(model.latency_median_ms, model.latency_sigma)
        drawn = rng.multinomial(turns, probs)
        hist = [{int(k): int(row[k]) for k in np.flatnonzero(row)} for row in drawn]
    return Traffic(
        start, topics, counts, escalations, np.round(s_sum * 1000), np.round(s_sq * 1000), hist
    )


def detect(
    traffic: Traffic, end: int, params: TrendParams | None = None, window: int = 5
) -> list[TrendFlag]:
    """Trend flags at epoch minute ``end`` (the last complete minute), as evaluate() reads them."""
    first = end - window + 1
    h0, h1 = first // 60, end // 60
    current = traffic.figures(first, end)
    trailing = traffic.figures((h0 - 24) * 60, h0 * 60 - 1)
    same = [traffic.figures((h0 - 24 * d) * 60, (h1 - 24 * d) * 60 + 59) for d in range(1, 8)]
    same_total = _sum_figures(same)
    return all_trends(current, [same_total, trailing], params)


def _sum_figures(parts: Sequence[Figures]) -> Figures:
    tally: Tally = {}
    for f in parts:
        sums = {
            "n": f.turns,
            "sc": f.sentiment_n,
            "e": f.escalations,
            "ss": round(f.sentiment_sum * 1000),
            "sq": round(f.sentiment_sq * 1000),
        }
        for k, v in sums.items():
            tally[k] = tally.get(k, 0) + v
        for t, n in f.topics.items():
            tally["t:" + t] = tally.get("t:" + t, 0) + n
    return Figures.of(tally)


def alerts_over(
    traffic: Traffic,
    first: int,
    last: int,
    params: TrendParams | None = None,
    cooldown_min: int = 30,
    window: int = 5,
) -> list[tuple[int, TrendFlag]]:
    """Evaluate every minute ``first..last``; return flags that would alert (after cool-down)."""
    quiet_until: dict[tuple[str, str], int] = {}
    out = []
    for minute in range(first, last + 1):
        for flag in detect(traffic, minute, params, window):
            key = (flag.kind, flag.subject)
            if minute < quiet_until.get(key, -1):
                continue
            quiet_until[key] = minute + cooldown_min
            out.append((minute, flag))
    return out


async def seed(
    store: RedisContextStore,
    settings: AnalyticsSettings,
    traffic: Traffic,
    first: int,
    last: int,
    shard: int = 0,
) -> int:
    """Write the simulated minutes ``first..last`` into the store's buckets; return turns."""
    writer = AggregateWriter(store, settings, shard=shard)
    turns = 0
    for chunk in range(first, last + 1, 720):
        batch = {m: traffic.tally(m) for m in range(chunk, min(last, chunk + 719) + 1)}
        turns += sum(t.get("n", 0) for t in batch.values())
        await writer.write(batch)
    return turns
