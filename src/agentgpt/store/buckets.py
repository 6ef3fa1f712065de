"""A caller's token bucket as the turn's lock script spends it (one round trip fewer)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from agentgpt.errors import RateLimited


@dataclass(frozen=True, slots=True)
class Bucket:
    """One caller's request bucket: its key, refill rate (tokens/s) and burst."""

    key: str
    rate: float
    burst: int
    per: str = "per user"

    def refused(self, retry_after_ms: float) -> RateLimited:
        """The error of a request this bucket refused (retry in whole seconds, >= 1)."""
        seconds = max(1, math.ceil(retry_after_ms / 1000))
        return RateLimited(
            f"too many requests: the limit is {self.rate:g}/s {self.per}; retry in {seconds}s",
            retry_after=seconds,
        )
