"""Activity and expiry schedules, and the sweeper's leadership lease.

Each session is scored in a sharded sorted set of activity (last turn) and of expiry (when
its retention runs out); the sweeper walks the due entries. Admission slots are kept warm
by activity here too (``XX``: activity never takes a new slot).
"""

from __future__ import annotations

from typing import Any

from agentgpt.store import keys
from agentgpt.store.backend import Repository


class ScheduleRepository(Repository):
    """The activity/expiry schedules of sessions and the leadership lease."""

    def queue(self, pipe: Any, session_id: str, now_ms: int, owner_hash: str = "") -> None:
        """Queue a session's activity (and expiry) entries on pipe."""
        for command in self.commands(session_id, now_ms, owner_hash):
            pipe.execute_command(*command)

    def commands(self, session_id: str, now_ms: int, owner_hash: str = "") -> list[tuple[Any, ...]]:
        """The ZADDs recording a session's activity (and its expiry check)."""
        shard = keys.shard_of(session_id)
        expiry = now_ms + self.retention_ms
        return [
            ("ZADD", keys.active_key(shard), now_ms, session_id),
            # XX: activity keeps an admitted session's slot, it never takes a new one.
            ("ZADD", keys.admission_live_key(), "XX", now_ms, session_id),
            *(
                [("ZADD", keys.admission_user_key(owner_hash), "XX", now_ms, session_id)]
                if owner_hash
                else []
            ),
            ("ZADD", keys.expiry_key(shard), expiry, session_id)
            if self.settings.data_retention.sliding
            else ("ZADD", keys.expiry_key(shard), "NX", expiry, session_id),
        ]

    async def schedule(self, session_id: str, now_ms: int, owner_hash: str = "") -> None:
        """Record a session's activity at now_ms (one round trip)."""
        client = await self._client()
        pipe = client.pipeline(transaction=False)
        self.queue(pipe, session_id, now_ms, owner_hash)
        await self._guard(pipe.execute())

    async def count_active(self, since_ms: int) -> int:
        """Count sessions active since ``since_ms`` (epoch ms), across all shards."""
        client = await self._client()
        pipe = client.pipeline(transaction=False)
        for shard in range(keys.SCHEDULE_SHARDS):
            pipe.zcount(keys.active_key(shard), since_ms, "+inf")
        counts = await self._guard(pipe.execute())
        return sum(int(c) for c in counts)

    async def due(self, kind: str, shard: int, before_ms: int, limit: int) -> list[str]:
        """Return up to ``limit`` ids whose ``kind`` (active|expiry) score is before a time."""
        key = keys.active_key(shard) if kind == "active" else keys.expiry_key(shard)
        client = await self._client()
        members = await self._guard(
            client.zrangebyscore(key, "-inf", before_ms, start=0, num=limit)
        )
        return [m.decode() for m in members]

    async def unschedule(self, kind: str, session_id: str) -> None:
        """Remove a session from the ``kind`` (active|expiry) schedule."""
        shard = keys.shard_of(session_id)
        key = keys.active_key(shard) if kind == "active" else keys.expiry_key(shard)
        client = await self._client()
        await self._guard(client.zrem(key, session_id))

    async def reschedule_expiry(self, session_id: str, at_ms: int) -> None:
        """Move a session's expiry check to ``at_ms``."""
        client = await self._client()
        await self._guard(
            client.zadd(keys.expiry_key(keys.shard_of(session_id)), {session_id: at_ms})
        )

    async def try_lead(self, key: str, holder: str, lease_ms: int) -> bool:
        """Take or keep a leadership lease (the one sweeper among all processes)."""
        client = await self._client()
        if await self._guard(client.set(key, holder, nx=True, px=lease_ms)):
            return True
        return bool(await self._script(client, "extend", [key], [holder, lease_ms]))
