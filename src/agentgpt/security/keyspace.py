"""Walk the keyspace of a store on every primary (standalone or cluster), in bounded steps.

SCAN on a cluster client only sees the node it is sent to, so each primary is walked in
turn; nothing here loads the keyspace into memory at once.
"""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

from redis.asyncio.cluster import RedisCluster

from agentgpt.errors import StoreUnavailable
from agentgpt.store import keys as K
from agentgpt.store.context_store import RedisContextStore
from agentgpt.store.failures import STORE_FAILURES

#: How many keys one SCAN step asks for (a hint to the server, not a limit).
SCAN_COUNT = 1000
META_MATCH = f"{K.PREFIX}:{{*}}:meta"
_META = re.compile(rb"ag:\{([A-Za-z0-9_-]{8,128})\}:meta")
T = TypeVar("T")


async def guarded(awaitable: Awaitable[T]) -> T:
    """Await a store call, turning redis and socket errors into ``StoreUnavailable``."""
    try:
        return await awaitable
    except STORE_FAILURES as exc:
        raise StoreUnavailable(
            f"session store failed during the audit: {exc}; check the URL, network and "
            "credentials, then run the audit again"
        ) from exc


async def scan_keys(store: RedisContextStore, match: str | None = None) -> AsyncIterator[bytes]:
    """Yield every key (matching the glob ``match``) on every primary of the store."""
    client = await store.client()
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


def session_of_meta(key: bytes) -> str | None:
    """Return the session id of a metadata key, or None if ``key`` is not one."""
    found = _META.fullmatch(key)
    return found.group(1).decode() if found else None


async def session_ids(store: RedisContextStore) -> AsyncIterator[str]:
    """Yield the id of every session in the store (one SCAN over the metadata keys)."""
    async for key in scan_keys(store, META_MATCH):
        session_id = session_of_meta(key)
        if session_id is not None:
            yield session_id


async def sample_session_ids(store: RedisContextStore, n: int) -> list[str]:
    """Return ``n`` session ids picked uniformly at random (reservoir: O(n) memory)."""
    sample: list[str] = []
    seen = 0
    async for session_id in session_ids(store):
        seen += 1
        if len(sample) < n:
            sample.append(session_id)
        else:
            # Algorithm R: each id stays with probability n/seen.
            slot = random.randrange(seen)
            if slot < n:
                sample[slot] = session_id
    return sample


#: Keys of the namespace that are deliberately not hash-tagged (one each per store).
UNTAGGED_KEYS = frozenset({K.SCHEMA_KEY.encode(), K.SWEEPER_KEY.encode()})


def hash_tag(key: bytes) -> bytes | None:
    """Return the key's hash tag as the cluster computes it, or None if it has none."""
    start = key.find(b"{")
    if start < 0:
        return None
    end = key.find(b"}", start + 1)
    if end < 0 or end == start + 1:
        return None  # no closing brace or an empty tag: the whole key is hashed
    return key[start + 1 : end]


def misplaced(key: bytes) -> tuple[str, str] | None:
    """Return (problem, why) when ``key`` is outside the namespace or has no hash tag."""
    if not key.startswith(K.PREFIX.encode() + b":"):
        return "outside-namespace", f"key does not start with '{K.PREFIX}:'"
    if key in UNTAGGED_KEYS or hash_tag(key) is not None:
        return None
    return "no-hash-tag", (
        "key has no hash tag: it is not in its session's slot, so per-session scripts "
        "and erasure cannot reach it"
    )


async def list_page(store: RedisContextStore, key: str, start: int, size: int) -> list[bytes]:
    """Return ``size`` items of the list ``key`` from index ``start`` (one round trip)."""
    client = await store.client()
    items = await guarded(client.lrange(key, start, start + size - 1))
    # The clients are built with decode_responses=False: items are bytes.
    return [item if isinstance(item, bytes) else item.encode() for item in items]
