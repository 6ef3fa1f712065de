"""Read summed buckets: one single-slot script per shard, all shards in one round trip."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError

from agentgpt.analytics.aggregates import Tally, bucket_span, decode, merge
from agentgpt.analytics.writer import SCRIPTS, call_script
from agentgpt.store import keys as K
from agentgpt.store.context_store import RedisContextStore

Span = Sequence[tuple[str, int]]


def minutes(start: int, end: int) -> list[tuple[str, int]]:
    """Minute buckets ``start..end`` inclusive (epoch minutes)."""
    return bucket_span(start, end, "m")


def hours(start_hour: int, end_hour: int) -> list[tuple[str, int]]:
    """Hour (and whole-day) buckets covering hours ``start..end`` inclusive."""
    return bucket_span(start_hour * 60, end_hour * 60 + 59, "h")


async def sum_groups(store: RedisContextStore, shards: int, groups: Sequence[Span]) -> list[Tally]:
    """Return, for each group of buckets, the sum of its buckets over every shard."""
    client = await store.client()
    calls = []
    for shard in range(shards):
        keys = [K.analytics_bucket_key(shard, res, idx) for group in groups for res, idx in group]
        calls.append((keys, [len(g) for g in groups]))
    if isinstance(client, RedisCluster):
        # Scripts cannot ride a cluster pipeline; one concurrent call per shard instead.
        replies = await store._guard(
            asyncio.gather(*(call_script(client, "an_sum", k, list(a)) for k, a in calls))
        )
    else:
        try:
            replies = await store._guard(_pipelined(client, calls))
        except NoScriptError:
            await SCRIPTS.load(client)
            replies = await store._guard(_pipelined(client, calls))
    totals: list[Tally] = [{} for _ in groups]
    for reply in replies:
        for total, flat in zip(totals, reply, strict=True):
            merge(total, decode(flat))
    return totals


async def _pipelined(client: object, calls: list[tuple[list[str], list[int]]]) -> list[object]:
    pipe = client.pipeline(transaction=False)  # type: ignore[attr-defined]
    for keys, sizes in calls:
        SCRIPTS.queue(pipe, "an_sum", keys, sizes)
    result: list[object] = await pipe.execute()
    return result
