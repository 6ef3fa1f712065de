"""Tallies: the integer counters one bucket holds, and what they read back as.

A tally is a flat ``field -> int`` map (a Redis hash in the store). Fields:

``n`` turns; ``t:<topic>`` / ``i:<intent>`` / ``r:<region>`` counts; ``ss`` / ``sq`` the sum
of sentiment scores and of their squares (milli-units, so sums stay exact integers);
``sc`` scored turns; ``cf`` confidence sum (milli); ``e`` escalations; ``l:<k>`` latency
histogram counts (see ``histogram``); ``lu`` latency sum (microseconds).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from agentgpt.analytics.events import TurnEvent
from agentgpt.analytics.histogram import bucket_of, percentile

TURNS = "n"
TOPIC = "t:"
INTENT = "i:"
REGION = "r:"
SENT_SUM = "ss"
SENT_SQ = "sq"
SENT_N = "sc"
CONFIDENCE = "cf"
ESCALATIONS = "e"
LATENCY = "l:"
LATENCY_SUM = "lu"
_LABEL_MAX = 80  # a label is a bucket field: bound its size whatever a model emits

Tally = dict[str, int]


def add_event(tally: Tally, event: TurnEvent) -> None:
    """Count one turn into ``tally`` (the hot path: a handful of dict updates)."""
    get = tally.get
    tally[TURNS] = get(TURNS, 0) + 1
    if event.topic:
        key = TOPIC + event.topic[:_LABEL_MAX]
        tally[key] = get(key, 0) + 1
    if event.intent:
        key = INTENT + event.intent[:_LABEL_MAX]
        tally[key] = get(key, 0) + 1
    key = REGION + event.region[:_LABEL_MAX]
    tally[key] = get(key, 0) + 1
    score = event.sentiment if math.isfinite(event.sentiment) else 0.0
    tally[SENT_SUM] = get(SENT_SUM, 0) + round(score * 1000)
    tally[SENT_SQ] = get(SENT_SQ, 0) + round(score * score * 1000)
    tally[SENT_N] = get(SENT_N, 0) + 1
    confidence = event.confidence if math.isfinite(event.confidence) else 0.0
    tally[CONFIDENCE] = get(CONFIDENCE, 0) + round(confidence * 1000)
    if event.escalated:
        tally[ESCALATIONS] = get(ESCALATIONS, 0) + 1
    latency = event.latency_ms if math.isfinite(event.latency_ms) else 0.0
    key = LATENCY + str(bucket_of(latency))
    tally[key] = get(key, 0) + 1
    tally[LATENCY_SUM] = get(LATENCY_SUM, 0) + max(0, round(latency * 1000))


def merge(into: Tally, other: Mapping[str, int]) -> Tally:
    """Add ``other``'s counters to ``into`` and return it."""
    for field, value in other.items():
        into[field] = into.get(field, 0) + value
    return into


def decode(flat: Iterable[object]) -> Tally:
    """Turn a flat ``[field, value, ...]`` script reply into a tally."""
    items = list(flat)
    out: Tally = {}
    for i in range(0, len(items) - 1, 2):
        field = items[i]
        name = field.decode() if isinstance(field, bytes) else str(field)
        value = items[i + 1]
        out[name] = int(value.decode() if isinstance(value, bytes) else value)  # type: ignore[call-overload]
    return out


@dataclass(frozen=True, slots=True)
class Figures:
    """What a tally reads back as (the numbers behind one window of the screen)."""

    turns: int
    topics: dict[str, int]
    intents: dict[str, int]
    regions: dict[str, int]
    escalations: int
    sentiment_n: int
    sentiment_sum: float
    sentiment_sq: float
    confidence_sum: float
    latency: dict[int, int]
    latency_sum_ms: float

    @classmethod
    def of(cls, tally: Mapping[str, int]) -> Figures:
        """Read a tally."""
        topics, intents, regions, latency = {}, {}, {}, {}
        for field, value in tally.items():
            if field.startswith(TOPIC):
                topics[field[2:]] = value
            elif field.startswith(INTENT):
                intents[field[2:]] = value
            elif field.startswith(REGION):
                regions[field[2:]] = value
            elif field.startswith(LATENCY):
                latency[int(field[2:])] = value
        return cls(
            turns=tally.get(TURNS, 0),
            topics=topics,
            intents=intents,
            regions=regions,
            escalations=tally.get(ESCALATIONS, 0),
            sentiment_n=tally.get(SENT_N, 0),
            sentiment_sum=tally.get(SENT_SUM, 0) / 1000,
            sentiment_sq=tally.get(SENT_SQ, 0) / 1000,
            confidence_sum=tally.get(CONFIDENCE, 0) / 1000,
            latency=latency,
            latency_sum_ms=tally.get(LATENCY_SUM, 0) / 1000,
        )

    @property
    def topic_turns(self) -> int:
        """Turns that carried a topic (the denominator of topic shares)."""
        return sum(self.topics.values())

    @property
    def sentiment_mean(self) -> float | None:
        """Average sentiment score, None without scored turns."""
        return self.sentiment_sum / self.sentiment_n if self.sentiment_n else None

    @property
    def sentiment_var(self) -> float | None:
        """Population variance of the sentiment scores, None without scored turns."""
        if not self.sentiment_n:
            return None
        mean = self.sentiment_sum / self.sentiment_n
        return max(0.0, self.sentiment_sq / self.sentiment_n - mean * mean)

    @property
    def latency_mean_ms(self) -> float | None:
        """Mean turn latency (exact, from the sum), None without turns."""
        count = sum(self.latency.values())
        return self.latency_sum_ms / count if count else None

    def latency_percentile(self, q: float) -> float | None:
        """Latency quantile from the histogram (within one bucket of exact)."""
        return percentile(self.latency, q)


# --- windows over buckets ------------------------------------------------------------------


def bucket_span(start_minute: int, end_minute: int, resolution: str) -> list[tuple[str, int]]:
    """The buckets covering minutes ``start..end`` (inclusive).

    ``resolution`` ``m`` lists minutes; ``h`` starts at the hour holding ``start`` (minute
    buckets are not kept for long windows) and uses whole days where they fit.
    """
    if resolution == "m":
        return [("m", m) for m in range(start_minute, end_minute + 1)]
    hour, last = start_minute // 60, end_minute // 60
    out: list[tuple[str, int]] = []
    while hour <= last and hour % 24:
        out.append(("h", hour))
        hour += 1
    while hour + 23 <= last:
        out.append(("d", hour // 24))
        hour += 24
    out.extend(("h", h) for h in range(hour, last + 1))
    return out
