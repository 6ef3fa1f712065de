"""Keyspace walks and server figures over every primary (standalone or cluster).

SCAN on a cluster client only sees the node it is sent to, so each primary is walked in
turn; nothing here loads the keyspace into memory at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from redis.asyncio.cluster import RedisCluster

from agentgpt.errors import StoreUnavailable
from agentgpt.store.context_store import RedisContextStore
from agentgpt.store.failures import STORE_FAILURES

#: How many keys one SCAN step asks for (a hint to the server, not a limit).
SCAN_COUNT = 1000


async def scan_keys(store: RedisContextStore, match: str | None = None) -> AsyncIterator[bytes]:
    """Yield every key (matching the glob ``match``) on every primary of the store."""
    client = await store.backend.connect()
    try:
        if isinstance(client, RedisCluster):
            for node in client.get_primaries():
                async for key in client.scan_iter(match=match, count=SCAN_COUNT, target_nodes=node):
                    yield key
            return
        async for key in client.scan_iter(match=match, count=SCAN_COUNT):
            yield key
    except STORE_FAILURES as exc:
        raise StoreUnavailable(f"session store failed while scanning keys: {exc}") from exc


async def memory_usage(store: RedisContextStore) -> dict[str, int]:
    """INFO memory ``used_memory`` and ``used_memory_startup`` summed over the primaries."""
    client = await store.backend.connect()
    if isinstance(client, RedisCluster):
        infos = [
            await store.backend.guard(client.info("memory", target_nodes=node))
            for node in client.get_primaries()
        ]
    else:
        infos = [await store.backend.guard(client.info("memory"))]
    return {
        "used_memory": sum(int(i["used_memory"]) for i in infos),
        "used_memory_startup": sum(int(i.get("used_memory_startup", 0)) for i in infos),
        "primaries": len(infos),
    }
