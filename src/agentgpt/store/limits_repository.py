"""Per-region resource limit policies in the store, shared by every service process.

``runtime.limits.RegionLimits`` decides what a policy is (encoding, validation, cache);
this repository keeps the encoded policies in one hash (``keys.limits_key``).
"""

from __future__ import annotations

from agentgpt.store import keys
from agentgpt.store.context_store import RedisContextStore


class LimitsRepository:
    """The encoded ``ResourcePolicy`` of each region (every call guarded, one round trip)."""

    def __init__(self, store: RedisContextStore) -> None:
        """Keep the policies in ``store``."""
        self.store = store

    async def put(self, region: str, policy: bytes) -> None:
        """Store ``region``'s encoded policy (replacing the previous one)."""
        client = await self.store.backend.connect()
        await self.store.backend.guard(client.hset(keys.limits_key(), region, policy))

    async def delete(self, region: str) -> bool:
        """Remove ``region``'s policy; False when it had none."""
        client = await self.store.backend.connect()
        return bool(await self.store.backend.guard(client.hdel(keys.limits_key(), region)))

    async def get(self, region: str) -> bytes | None:
        """``region``'s encoded policy, or None."""
        client = await self.store.backend.connect()
        raw: bytes | None = await self.store.backend.guard(client.hget(keys.limits_key(), region))
        return raw

    async def all(self) -> dict[str, bytes]:
        """Every region's encoded policy, by region (sorted)."""
        client = await self.store.backend.connect()
        raw = await self.store.backend.guard(client.hgetall(keys.limits_key()))
        return {k.decode(): v for k, v in sorted(raw.items())}
