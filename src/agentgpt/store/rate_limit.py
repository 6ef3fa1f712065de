"""Per-caller request rate limits: a token bucket in the store, shared by every process."""

from __future__ import annotations

from dataclasses import dataclass

from agentgpt.errors import InvalidInput
from agentgpt.store import keys
from agentgpt.store.buckets import Bucket
from agentgpt.store.context_store import RedisContextStore
from agentgpt.store.scripts import SCRIPTS


@dataclass(frozen=True)
class RateDecision:
    """Whether a request may proceed, and if not, when to retry."""

    allowed: bool
    retry_after_s: float


class TokenBucketLimiter:
    """``rate`` requests per second per subject, with bursts up to ``burst``.

    The bucket lives in the store (one single-slot script call per request) so that N API
    processes enforce one limit per user rather than N.
    """

    def __init__(self, store: RedisContextStore, rate: float, burst: int) -> None:
        """Limit to ``rate`` requests/s with bursts of ``burst``."""
        if rate <= 0 or burst < 1:
            raise InvalidInput("a rate limit needs rate > 0 and burst >= 1")
        self.store = store
        self.rate = rate
        self.burst = burst

    def bucket(self, subject: str, per: str = "per user") -> Bucket:
        """``subject``'s bucket, for a store call that spends it along the way."""
        return Bucket(keys.rate_key(subject), self.rate, self.burst, per)

    async def take(self, subject: str) -> RateDecision:
        """Spend one token of ``subject``'s bucket."""
        client = await self.store.backend.connect()
        allowed, retry_ms = await self.store.backend.guard(
            SCRIPTS.call(client, "token_bucket", [keys.rate_key(subject)], [self.rate, self.burst])
        )
        return RateDecision(bool(allowed), int(retry_ms) / 1000)
