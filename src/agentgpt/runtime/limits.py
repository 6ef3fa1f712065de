"""Per-region resource limits, kept in the store so every service process applies them."""

from __future__ import annotations

import re
import time

import msgspec

from agentgpt.config.runtime_settings import REGION_PATTERN
from agentgpt.errors import InvalidInput
from agentgpt.runtime.policy import ResourcePolicy
from agentgpt.store import keys
from agentgpt.store.context_store import RedisContextStore

_REGION = re.compile(REGION_PATTERN)
_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(ResourcePolicy)


def validate_region(region: object, allowed: list[str] | None = None) -> str:
    """Return ``region`` if it is a valid (and, when a list is given, allowed) region name."""
    if not isinstance(region, str) or not _REGION.fullmatch(region):
        raise InvalidInput(
            f"invalid region {str(region)[:40]!r}: use 1-40 characters of A-Z, a-z, 0-9, _ . -"
        )
    if allowed and region not in allowed:
        raise InvalidInput(f"unknown region {region!r}; configured: {', '.join(allowed)}")
    return region


class RegionLimits:
    """Reads and writes each region's ``ResourcePolicy``; reads are cached briefly."""

    def __init__(self, store: RedisContextStore, cache_seconds: float = 5.0) -> None:
        """Use ``store``; a policy read is reused for ``cache_seconds``."""
        self.store = store
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, ResourcePolicy | None]] = {}

    async def set(self, region: str, policy: ResourcePolicy) -> None:
        """Store ``policy`` for ``region`` (replacing the previous one)."""
        validate_region(region)
        client = await self.store.client()
        await self.store.guard(client.hset(keys.limits_key(), region, _encoder.encode(policy)))
        self._cache.pop(region, None)

    async def unset(self, region: str) -> bool:
        """Remove ``region``'s policy; False when it had none."""
        validate_region(region)
        client = await self.store.client()
        removed = await self.store.guard(client.hdel(keys.limits_key(), region))
        self._cache.pop(region, None)
        return bool(removed)

    async def get(self, region: str) -> ResourcePolicy | None:
        """``region``'s policy, or None when none is set."""
        validate_region(region)
        client = await self.store.client()
        raw = await self.store.guard(client.hget(keys.limits_key(), region))
        return _decoder.decode(raw) if raw is not None else None

    async def all(self) -> dict[str, ResourcePolicy]:
        """Every region's policy, by region."""
        client = await self.store.client()
        raw = await self.store.guard(client.hgetall(keys.limits_key()))
        return {k.decode(): _decoder.decode(v) for k, v in sorted(raw.items())}

    async def cached(self, region: str) -> ResourcePolicy:
        """``region``'s policy (empty when none), at most ``cache_seconds`` old."""
        now = time.monotonic()
        hit = self._cache.get(region)
        if hit is None or now - hit[0] > self.cache_seconds:
            hit = (now, await self.get(region))
            self._cache[region] = hit
        return hit[1] or ResourcePolicy()
