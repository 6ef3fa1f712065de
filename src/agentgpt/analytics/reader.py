"""Read summed buckets: one single-slot script per shard, all shards in one round trip."""

from __future__ import annotations

from collections.abc import Sequence

from agentgpt.analytics.aggregates import Tally, bucket_span, decode, merge
from agentgpt.store.analytics_repository import AnalyticsRepository
from agentgpt.store.context_store import RedisContextStore
from agentgpt.store.keys import analytics_bucket_key

Span = Sequence[tuple[str, int]]


def minutes(start: int, end: int) -> list[tuple[str, int]]:
    """Minute buckets ``start..end`` inclusive (epoch minutes)."""
    return bucket_span(start, end, "m")


def hours(start_hour: int, end_hour: int) -> list[tuple[str, int]]:
    """Hour (and whole-day) buckets covering hours ``start..end`` inclusive."""
    return bucket_span(start_hour * 60, end_hour * 60 + 59, "h")


async def sum_groups(store: RedisContextStore, shards: int, groups: Sequence[Span]) -> list[Tally]:
    """Return, for each group of buckets, the sum of its buckets over every shard."""
    calls = []
    for shard in range(shards):
        keys = [analytics_bucket_key(shard, res, idx) for group in groups for res, idx in group]
        calls.append((keys, [len(g) for g in groups]))
    replies = await AnalyticsRepository(store).sum_buckets(calls)
    totals: list[Tally] = [{} for _ in groups]
    for reply in replies:
        for total, flat in zip(totals, reply, strict=True):
            merge(total, decode(flat))
    return totals
