"""TurnChannel (the turn's pipelined connection) against a real Valkey server."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from agentgpt.store.context_store import RedisContextStore
from agentgpt.store.scripts import SCRIPTS
from agentgpt.store.turn_channel import TurnChannel
from tests import servers


def _channel(url: str, timeout: float = 5.0) -> tuple[Redis, TurnChannel]:
    # The retry policy the service's clients have (store.connection), without the sleeps.
    client = Redis.from_url(url, socket_timeout=timeout, retry=Retry(NoBackoff(), 3))
    return client, TurnChannel(client)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(st.binary(max_size=300), min_size=1, max_size=60))
async def test_concurrent_callers_each_get_their_own_replies(
    standalone_url: str, values: list[bytes]
) -> None:
    client, channel = _channel(standalone_url)
    try:

        async def roundtrip(i: int, value: bytes) -> None:
            key = f"chan:{i}"
            # A pipeline and a single call interleaved with everyone else's on one socket.
            replies = await channel.pipeline([("SET", key, value), ("GET", key)])
            assert replies == [b"OK", value]
            assert await channel.execute("GET", key) == value

        await asyncio.gather(*(roundtrip(i, v) for i, v in enumerate(values)))
    finally:
        await channel.aclose()
        await client.aclose()


async def test_error_replies_are_redis_py_exceptions(standalone_url: str) -> None:
    client, channel = _channel(standalone_url)
    try:
        with pytest.raises(NoScriptError):
            await channel.evalsha("0" * 40, 0)
        # In a pipeline an error reply stays in its place; the others are answered.
        replies = await channel.pipeline([("SET", "chan:e", 1), ("INCRBY", "chan:e", "x")])
        assert replies[0] == b"OK"
        assert isinstance(replies[1], ResponseError)
        assert await channel.execute("GET", "chan:e") == b"1"  # the stream stayed in step
    finally:
        await channel.aclose()
        await client.aclose()


async def test_a_killed_connection_fails_its_calls_and_the_next_call_reconnects(
    standalone_url: str,
) -> None:
    client, channel = _channel(standalone_url)
    try:
        first = await channel.execute("CLIENT", "ID")
        await client.execute_command("CLIENT", "KILL", "ID", first)
        # The client's Retry reconnects: the call succeeds on a new connection.
        assert await channel.execute("PING") == b"PONG"
        assert await channel.execute("CLIENT", "ID") != first
    finally:
        await channel.aclose()
        await client.aclose()


async def test_an_overdue_reply_times_out_and_drops_the_connection(standalone_url: str) -> None:
    client = Redis.from_url(standalone_url, socket_timeout=0.2, retry=None)
    channel = TurnChannel(client)
    try:
        slow = asyncio.ensure_future(channel.execute("BLPOP", "chan:never", "0.6"))
        behind = asyncio.ensure_future(channel.execute("PING"))
        with pytest.raises(RedisTimeoutError):
            await slow
        with pytest.raises(RedisTimeoutError):
            await behind  # its reply would come after the late one: failed with it
        await asyncio.sleep(0.6)
        assert await channel.execute("PING") == b"PONG"
    finally:
        await channel.aclose()
        await client.aclose()


async def test_a_cancelled_caller_does_not_shift_the_replies(standalone_url: str) -> None:
    client, channel = _channel(standalone_url)
    try:
        await channel.execute("SET", "chan:c", "before")
        first = asyncio.ensure_future(channel.execute("BLPOP", "chan:never", "0.1"))
        second = asyncio.ensure_future(channel.execute("GET", "chan:c"))
        await asyncio.sleep(0.01)
        first.cancel()
        assert await second == b"before"
        assert await channel.execute("ECHO", "x") == b"x"
    finally:
        await channel.aclose()
        await client.aclose()


async def test_after_aclose_calls_fail_then_a_new_call_reconnects(standalone_url: str) -> None:
    client = Redis.from_url(standalone_url, socket_timeout=5, retry=None)
    channel = TurnChannel(client)
    try:
        assert await channel.execute("PING") == b"PONG"
        await channel.aclose()
        assert await channel.execute("PING") == b"PONG"  # reconnects on use
    finally:
        await channel.aclose()
        await client.aclose()


async def test_the_store_reloads_its_scripts_through_the_channel(
    standalone_store: RedisContextStore,
) -> None:
    client = await standalone_store.backend.connect()
    assert standalone_store.backend.channel is not None
    await client.script_flush()  # the server forgot every script (a restart or a flush)
    channel = standalone_store.backend.channel
    assert await SCRIPTS.call(channel, "cas_field", ["chan:meta"], ["f", "", "v"]) is not None


async def test_a_commit_on_a_closed_connection_is_not_lost(
    standalone_store: RedisContextStore,
) -> None:
    # The channel's connection dies between two turns: the next call reconnects.
    await standalone_store.backend.connect()
    channel = standalone_store.backend.channel
    assert channel is not None
    await channel.execute("PING")
    wire = channel._wire
    assert wire is not None
    wire.transport.abort()
    await asyncio.sleep(0)
    with pytest.raises(RedisConnectionError):
        await wire.send(b"*1\r\n$4\r\nPING\r\n", 1)
    assert await channel.execute("PING") == b"PONG"


# One write per loop pass: the commands of callers that run in the same pass of the event
# loop go out together. What each caller gets back must not depend on how they were grouped.

_OP = st.one_of(
    st.tuples(st.just("set-get"), st.binary(max_size=100)),
    st.tuples(st.just("error"), st.just(b"")),
    st.tuples(st.just("pipeline"), st.binary(max_size=100)),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    callers=st.lists(
        st.lists(st.tuples(st.integers(0, 3), _OP), min_size=1, max_size=6),
        min_size=1,
        max_size=12,
    )
)
async def test_grouped_writes_keep_each_callers_replies_and_errors_in_order(
    standalone_url: str, callers: list[list[tuple[int, tuple[str, bytes]]]]
) -> None:
    client, channel = _channel(standalone_url)
    try:

        async def caller(i: int, script: list[tuple[int, tuple[str, bytes]]]) -> None:
            key = f"chan:group:{i}"
            for n, (passes, (op, value)) in enumerate(script):
                for _ in range(passes):  # join a later pass: a different grouping
                    await asyncio.sleep(0)
                if op == "set-get":
                    assert await channel.execute("SET", key, value) == b"OK"
                    assert await channel.execute("GET", key) == value
                elif op == "error":  # an error reply is raised to its own caller only
                    with pytest.raises(ResponseError):
                        await channel.execute("INCRBY", key, "x")
                else:  # ... and stays in its place inside a pipeline
                    replies = await channel.pipeline(
                        [("SET", key, value), ("HSET", key, "f", n), ("GET", key)]
                    )
                    assert replies[0] == b"OK"
                    assert isinstance(replies[1], ResponseError)
                    assert replies[2] == value

        await asyncio.gather(*(caller(i, s) for i, s in enumerate(callers)))
    finally:
        await channel.aclose()
        await client.aclose()


async def test_callers_cancelled_before_the_flush_do_not_shift_the_others_replies(
    standalone_url: str,
) -> None:
    client, channel = _channel(standalone_url)
    try:
        tasks = [asyncio.ensure_future(channel.execute("ECHO", str(i))) for i in range(20)]
        await asyncio.sleep(0)  # every caller has written; the flush has not run yet
        for task in tasks[::2]:
            task.cancel()
        for i, task in enumerate(tasks):
            if i % 2:
                assert await task == str(i).encode()
        assert await channel.execute("ECHO", "after") == b"after"
    finally:
        await channel.aclose()
        await client.aclose()


async def test_callers_of_one_loop_pass_share_one_write() -> None:
    # A private server: its read counter must see only this channel's traffic.
    with servers.standalone() as url:
        client, channel = _channel(url)
        try:
            await channel.execute("PING")  # connected
            before = await client.info("stats")
            replies = await asyncio.gather(*(channel.execute("ECHO", str(i)) for i in range(50)))
            after = await client.info("stats")
            assert replies == [str(i).encode() for i in range(50)]
            # One read for the 50 commands (written at once), one for the second INFO.
            reads = after["total_reads_processed"] - before["total_reads_processed"]
            assert reads <= 3, reads
        finally:
            await channel.aclose()
            await client.aclose()
