"""Logarithmic latency buckets: four per doubling, so any value is within 19 % of its bucket.

Bucket 0 holds [0, 1) ms; bucket k >= 1 holds [2^((k-1)/4), 2^(k/4)) ms; the last bucket
(about 65 s and above) is open-ended. Percentiles read from bucket counts are the geometric
middle of the bucket holding the nearest-rank value, hence within one bucket of exact.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

PER_DOUBLING = 4
MAX_BUCKET = 1 + PER_DOUBLING * 16  # 2^16 ms ~ 65 s: slower turns share the last bucket
_TOP = 2.0**16


def bucket_of(latency_ms: float) -> int:
    """Return the bucket index of a latency in milliseconds (negatives count as 0)."""
    if not latency_ms >= 1.0:  # also catches NaN
        return 0
    if latency_ms >= _TOP:  # also catches inf, which log2/floor cannot take
        return MAX_BUCKET
    return min(MAX_BUCKET, 1 + math.floor(math.log2(latency_ms) * PER_DOUBLING))


def bucket_bounds(index: int) -> tuple[float, float]:
    """Return [low, high) of bucket ``index`` in milliseconds (the last high is inf)."""
    if index <= 0:
        return 0.0, 1.0
    high = math.inf if index >= MAX_BUCKET else 2.0 ** (index / PER_DOUBLING)
    return 2.0 ** ((index - 1) / PER_DOUBLING), high


def representative(index: int) -> float:
    """The value reported for bucket ``index``: its geometric middle (0.5 ms for bucket 0)."""
    if index <= 0:
        return 0.5
    low, high = bucket_bounds(index)
    if math.isinf(high):
        return low
    return math.sqrt(low * high)


def percentile(counts: Mapping[int, int], q: float) -> float | None:
    """Nearest-rank ``q`` quantile (0 < q <= 1) of bucket counts; None when empty."""
    total = sum(counts.values())
    if total <= 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for index in sorted(counts):
        seen += counts[index]
        if seen >= rank:
            return representative(index)
    return representative(max(counts))


def exact_percentile(values: Iterable[float], q: float) -> float:
    """Nearest-rank quantile of raw values (what the buckets approximate; for tests)."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]
