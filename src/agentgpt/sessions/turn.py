"""The lock of one session's turns, granted together with the session's data.

``DistributedLock`` is a general lock and knows nothing of sessions. A turn needs the lock
and the session's metadata and context, and must get them in one round trip (DESIGN, the
turn path step 2; invariant 4): ``TurnLock`` asks the store's ``begin_turn`` for both and
hands the data to the pipeline, which commits with the lock's fencing token.
"""

from __future__ import annotations

from agentgpt.store.buckets import Bucket
from agentgpt.store.context_store import Acquired, RedisContextStore
from agentgpt.store.keys import SESSION_RESOURCE_PREFIX
from agentgpt.store.lock import WAITER_TTL_MS, DistributedLock


class TurnLock(DistributedLock):
    """The FIFO, fenced lock of ``session_<id>``; its grant carries the session's data."""

    def __init__(
        self,
        session_id: str,
        *,
        store: RedisContextStore,
        lease: float,
        timeout: float | None,
        bucket: Bucket | None = None,
    ) -> None:
        """Describe the turn lock of ``session_id``.

        ``bucket``: the caller's rate bucket, charged one token in the first attempt's
        round trip (``DistributedLock``): ``RateLimited`` when it is empty.
        """
        super().__init__(
            SESSION_RESOURCE_PREFIX + session_id,
            store=store,
            lease=lease,
            timeout=timeout,
            bucket=bucket,
        )
        self.session_id = session_id
        #: The session's metadata hash and sealed context, as of the grant.
        self.meta: dict[bytes, bytes] = {}
        self.ctx: bytes | None = None

    async def _attempt(self, bucket: Bucket | None) -> Acquired:
        reply = await self.store.begin_turn(
            self.keys, self.ticket, self.lease_ms, WAITER_TTL_MS, bucket=bucket
        )
        if reply.granted:
            self.meta, self.ctx = reply.meta or {}, reply.ctx
        return reply
