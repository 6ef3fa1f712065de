"""LeanBlockingPool and the hiredis packer against a real Valkey server."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.asyncio import Connection, Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from agentgpt.config.settings import StoreSettings
from agentgpt.errors import StoreUnavailable
from agentgpt.store.connection import create_client
from agentgpt.store.connection_pool import LeanBlockingPool, hiredis_packing
from agentgpt.store.context_store import RedisContextStore


def _pool(url: str, size: int, timeout: float | None = 5.0) -> LeanBlockingPool:
    pool = LeanBlockingPool.from_url(url, max_connections=size, timeout=timeout)
    pool.connection_class = hiredis_packing(pool.connection_class)
    return pool


async def test_waiters_are_served_in_order_and_nothing_leaks(standalone_url: str) -> None:
    pool = _pool(standalone_url, 2)
    client = Redis.from_pool(pool)
    try:
        order: list[int] = []

        async def one(i: int) -> None:
            await client.rpush("order-test", i)
            order.append(i)

        await client.delete("order-test")
        await asyncio.gather(*(one(i) for i in range(50)))
        assert sorted(order) == list(range(50))
        assert await client.llen("order-test") == 50
        assert len(pool._in_use_connections) == 0
        assert len(pool._available_connections) <= 2
        assert not pool._waiters
    finally:
        await client.aclose()


async def test_a_full_pool_times_out_with_a_connection_error(standalone_url: str) -> None:
    pool = _pool(standalone_url, 1, timeout=0.2)
    client = Redis.from_pool(pool)
    try:
        held = await pool.get_connection()
        with pytest.raises(RedisConnectionError, match="No connection available"):
            await client.ping()
        await pool.release(held)
        assert await client.ping()
        assert not pool._waiters
    finally:
        await client.aclose()


async def test_a_cancelled_waiter_does_not_swallow_a_connection(standalone_url: str) -> None:
    pool = _pool(standalone_url, 1)
    client = Redis.from_pool(pool)
    try:
        held = await pool.get_connection()
        waiting = asyncio.create_task(client.ping())
        await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await pool.release(held)
        # The one connection went back to the pool, not to the cancelled waiter.
        assert await asyncio.wait_for(client.ping(), 2)
    finally:
        await client.aclose()


async def test_a_killed_connection_is_replaced(standalone_url: str) -> None:
    settings = StoreSettings.from_url(standalone_url).model_copy(update={"max_connections": 1})
    client = create_client(settings)
    assert isinstance(client, Redis)
    try:
        my_id = await client.client_id()
        admin = Redis.from_url(standalone_url)
        await admin.client_kill_filter(_id=my_id)
        await admin.aclose()
        # The store's retry policy reconnects, as with redis-py's own pool.
        assert await client.set("k", "v")
        assert await client.client_id() != my_id
    finally:
        await client.aclose()


async def test_multi_word_commands_and_scripts_pack(standalone_url: str) -> None:
    client = Redis.from_pool(_pool(standalone_url, 2))
    try:
        sha = await client.script_load("return {ARGV[1], ARGV[2]}")
        assert await client.evalsha(sha, 0, 1.5, "é") == [b"1.5", "é".encode()]
        assert await client.config_get("maxmemory-policy")
    finally:
        await client.aclose()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=64),
            st.text(max_size=32),
            st.integers(min_value=-(2**63), max_value=2**63 - 1),
            st.floats(allow_nan=False, allow_infinity=False),
        ),
        max_size=12,
    )
)
def test_hiredis_packing_matches_redis_py(args: list[bytes | str | int | float]) -> None:
    stock = Connection()
    fast = hiredis_packing(Connection)()
    command = ("EVALSHA", "a" * 40, 0, *args)
    assert b"".join(fast.pack_command(*command)) == b"".join(stock.pack_command(*command))


async def test_turns_use_the_lean_pool(standalone_url: str) -> None:
    store = RedisContextStore(StoreSettings.from_url(standalone_url))
    client = await store.backend.connect()
    assert isinstance(client.connection_pool, LeanBlockingPool)
    assert client.connection_pool.connection_class.pack_command is not Connection.pack_command


async def test_an_unreachable_store_still_raises_store_unavailable() -> None:
    store = RedisContextStore(StoreSettings.from_url("redis://127.0.0.1:1"))
    with pytest.raises(StoreUnavailable):
        await store.meta("nobody")
