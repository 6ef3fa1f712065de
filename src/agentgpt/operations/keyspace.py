"""Walk the keyspace of a store on every primary (standalone or cluster), in bounded steps.

The walk itself is the store's (``agentgpt.store.keyspace``); this module knows which keys
are sessions' and how the cluster places them.
"""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator

from agentgpt.store import keys
from agentgpt.store.context_store import RedisContextStore
from agentgpt.store.keyspace import SCAN_COUNT, scan_keys

META_MATCH = f"{keys.PREFIX}:{{*}}:meta"
_META = re.compile(rb"ag:\{([A-Za-z0-9_-]{8,128})\}:meta")

__all__ = ["SCAN_COUNT", "sample_session_ids", "scan_keys", "session_ids"]


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
UNTAGGED_KEYS = frozenset({keys.SCHEMA_KEY.encode(), keys.SWEEPER_KEY.encode()})


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
    if not key.startswith(keys.PREFIX.encode() + b":"):
        return "outside-namespace", f"key does not start with '{keys.PREFIX}:'"
    if key in UNTAGGED_KEYS or hash_tag(key) is not None:
        return None
    return "no-hash-tag", (
        "key has no hash tag: it is not in its session's slot, so per-session scripts "
        "and erasure cannot reach it"
    )
