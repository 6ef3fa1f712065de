"""The caller's rate bucket spent in the turn's lock round trip (issue 16)."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio.cluster import RedisCluster

from agentgpt import AgentPool, SessionManager
from agentgpt.errors import InvalidInput, RateLimited
from agentgpt.store.buckets import Bucket
from agentgpt.store.context_store import RedisContextStore
from agentgpt.store.rate_limit import TokenBucketLimiter
from tests.integration.agents_for_tests import EchoAgent


def _manager(store: RedisContextStore) -> SessionManager:
    m = SessionManager(store=store)
    m.agents = AgentPool(EchoAgent, min_ready=1, max_connections=8)  # type: ignore[attr-defined]
    return m


async def test_turns_spend_the_bucket_and_a_refusal_stores_nothing(
    store: RedisContextStore,
) -> None:
    m = _manager(store)
    session = await m.create_session("rate-user")
    bucket = TokenBucketLimiter(store, rate=0.01, burst=2).bucket("rate-user")
    before = store.round_trips
    await m.handle(session.id, "one", rate_bucket=bucket)
    await m.handle(session.id, "two", rate_bucket=bucket)
    with pytest.raises(RateLimited) as refused:
        await m.handle(session.id, "three", rate_bucket=bucket)
    assert refused.value.retry_after >= 1
    assert "per user" in str(refused.value)
    assert (await m.load_session(session.id)).version == 2  # the refused turn left no trace
    # The lock is free again: a turn without a bucket goes through at once.
    await m.handle(session.id, "four", lock_wait=0.0)
    if not isinstance(await store.backend.connect(), RedisCluster):
        # Two turns, a refusal, a load, a turn without a bucket: 2 + 2 + 1 + 1 + 2.
        assert store.round_trips - before == 8


async def test_queued_and_invalid_requests_are_charged_on_arrival(
    store: RedisContextStore,
) -> None:
    m = _manager(store)
    session = await m.create_session("rate-user-2")
    limiter = TokenBucketLimiter(store, rate=0.01, burst=3)
    bucket = limiter.bucket("rate-user-2")
    with pytest.raises(InvalidInput):
        await m.handle(session.id, "   ", rate_bucket=bucket)  # charged, then refused
    # Two at once: the second queues behind the first locally and is charged on arrival.
    await asyncio.gather(m.handle(session.id, "a", rate_bucket=bucket),
                         m.handle(session.id, "b", rate_bucket=bucket))  # fmt: skip
    with pytest.raises(RateLimited):
        await m.handle(session.id, "   ", rate_bucket=bucket)  # 429 before 422, as over HTTP
    assert not (await limiter.take("rate-user-2")).allowed


def test_refusal_says_when_to_retry() -> None:
    error = Bucket("k", 0.5, 2, per="per client address").refused(1001)
    assert error.retry_after == 2
    assert str(error) == "too many requests: the limit is 0.5/s per client address; retry in 2s"
