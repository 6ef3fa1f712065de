"""Latency percentiles of a load run (the demo's summary and the benchmarks)."""

from __future__ import annotations

import statistics


def percentiles(latencies_ms: list[float]) -> dict[str, float]:
    """p50, p95, p99 and max in milliseconds (zeros for an empty run)."""
    if not latencies_ms:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
    if len(latencies_ms) == 1:
        only = round(latencies_ms[0], 2)
        return {"p50_ms": only, "p95_ms": only, "p99_ms": only, "max_ms": only}
    q = statistics.quantiles(latencies_ms, n=100, method="inclusive")
    return {
        "p50_ms": round(statistics.median(latencies_ms), 2),
        "p95_ms": round(q[94], 2),
        "p99_ms": round(q[98], 2),
        "max_ms": round(max(latencies_ms), 2),
    }
