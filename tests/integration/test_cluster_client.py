"""The cluster client through a primary's crash: healthy shards keep serving (issue 14).

redis-py's own client "resets" on a failing pipeline by disconnecting every node's
connections, in-use ones included: with traffic on a dead shard, commands on the healthy
shards failed too, some with an ``AttributeError`` (a 500 in the service).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError

from agentgpt.config.settings import StoreSettings
from agentgpt.store.cluster_client import FailoverCluster, _Connection
from agentgpt.store.connection import create_client
from tests import servers


def _keys_by_shard(client: RedisCluster, victim: str) -> tuple[list[str], list[str]]:
    """Keys served by ``victim`` and keys served by the other primaries."""
    dead, alive = [], []
    for i in range(400):
        key = f"shard-probe-{i}"
        node = client.get_node_from_key(key)
        assert node is not None
        (dead if node.name == victim else alive).append(key)
    return dead, alive


async def _hammer(client: RedisCluster, keys: list[str], until: float, seen: Counter[str]) -> None:
    """Pipelined writes on ``keys`` until ``until``; count "ok" and each error type."""
    i = 0
    while time.monotonic() < until:
        pipe = client.pipeline(transaction=False)
        key = keys[i % len(keys)]
        pipe.set(key, i)
        pipe.get(key)
        i += 1
        try:
            await pipe.execute()
            seen["ok"] += 1
        except Exception as exc:  # every failure is what this test counts
            seen[type(exc).__name__] += 1
        await asyncio.sleep(0)


@pytest.mark.cluster
@pytest.mark.slow
async def test_healthy_shards_keep_serving_while_a_primary_is_dead() -> None:
    # A long node timeout: the cluster does not notice the crash during the test, so every
    # failure on the healthy shards would be the client's own doing.
    with servers.replicated_cluster(node_timeout_ms=15_000) as nodes:
        client = create_client(StoreSettings(cluster_mode=True, nodes=nodes.nodes))
        assert isinstance(client, FailoverCluster)
        try:
            await client.initialize()
            victim = nodes.primary_of("shard-probe-0")
            dead, alive = _keys_by_shard(client, nodes.nodes[victim])
            healthy: Counter[str] = Counter()
            failing: Counter[str] = Counter()
            await asyncio.to_thread(nodes.kill, victim)
            until = time.monotonic() + 3.0
            await asyncio.gather(
                *(_hammer(client, dead, until, failing) for _ in range(4)),
                *(_hammer(client, alive, until, healthy) for _ in range(8)),
            )
            assert failing["ok"] == 0  # the dead shard failed...
            assert sum(failing.values()) > 0  # ...every time it was asked
            assert healthy["ok"] > 0
            assert healthy == Counter(ok=healthy["ok"]), f"healthy shards saw {healthy}"
            # Failures asked for topology refreshes, at most one per interval.
            assert 0 < client.refreshes <= 3.0 / 0.25 + 1
        finally:
            await client.aclose()


@pytest.mark.parametrize("connection_class", [_Connection])
async def test_a_connection_closed_under_a_send_is_a_connection_error(
    standalone_url: str, connection_class: type[Connection]
) -> None:
    settings = StoreSettings.from_url(standalone_url)
    host, port = settings.url.split("//")[1].split("/")[0].split(":")  # type: ignore[union-attr]
    conn = connection_class(host=host, port=int(port))
    await conn.connect()
    send = asyncio.create_task(conn.send_packed_command(conn.pack_command("PING")))
    await asyncio.sleep(0)  # the send waits for its write task to run
    await conn.disconnect(nowait=True)  # another task closes the connection meanwhile
    with pytest.raises(RedisConnectionError, match="closed while sending"):
        await send
    # The connection is usable again: the next command reconnects.
    await conn.send_packed_command(conn.pack_command("PING"))
    assert await conn.read_response() == b"PONG"
    await conn.disconnect()
