"""The analytics' data in the store: aggregate buckets, alerts, authentication failures.

Analytics decides what to count and when to alert; this repository is how those numbers
are kept (the ``an_*`` scripts, the alert stream and its acknowledgements). The session's
verification flag is a field of the session's metadata, owned by ``store.records``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentgpt.store import keys
from agentgpt.store.context_store import RedisContextStore
from agentgpt.store.records import FLAG_FIELD
from agentgpt.store.scripts import ScriptCall


class AnalyticsRepository:
    """Reads and writes the analytics keys of one store (every call is guarded)."""

    def __init__(self, store: RedisContextStore) -> None:
        """Keep analytics in ``store``."""
        self.store = store

    async def add_buckets(self, calls: Sequence[ScriptCall]) -> None:
        """Add tallies to minute/hour/day buckets: one ``an_add`` per call, one round trip."""
        await self.store.run_scripts("an_add", calls)

    async def sum_buckets(self, calls: Sequence[ScriptCall]) -> list[Any]:
        """Sum groups of buckets: one ``an_sum`` per shard, one round trip."""
        return await self.store.run_scripts("an_sum", calls)

    async def record_auth(self, session_id: str, args: Sequence[Any]) -> int:
        """Record an authentication attempt; the session's recent failures (-1: no session)."""
        script_keys = [keys.auth_failures_key(session_id), keys.session_keys(session_id).meta]
        return int(await self.store.run_script("an_auth", script_keys, args))

    async def flag(self, session_id: str) -> bytes | None:
        """The session's verification flag (its expiry in ms), if set."""
        client = await self.store.backend.connect()
        value: bytes | None = await self.store.backend.guard(
            client.hget(keys.session_keys(session_id).meta, FLAG_FIELD)
        )
        return value

    async def clear_flag(self, session_id: str) -> bool:
        """Lift the flag and forget the failures; False if no flag was set."""
        client = await self.store.backend.connect()
        pipe = client.pipeline(transaction=False)  # both keys are in the session's slot
        pipe.hdel(keys.session_keys(session_id).meta, FLAG_FIELD)
        pipe.delete(keys.auth_failures_key(session_id))
        removed, _ = await self.store.backend.guard(pipe.execute())
        return bool(removed)

    async def append_alert(self, rule: str, subject: str, args: Sequence[Any]) -> Any:
        """Append an alert unless its cool-down runs (``an_alert``); its id, or None."""
        script_keys = [keys.alert_cooldown_key(rule, subject), keys.alert_stream_key()]
        return await self.store.run_script("an_alert", script_keys, args)

    async def recent_alerts(self, count: int) -> list[tuple[bytes, dict[bytes, bytes]]]:
        """The newest ``count`` entries of the alert stream, newest first."""
        client = await self.store.backend.connect()
        rows: list[tuple[bytes, dict[bytes, bytes]]] = await self.store.backend.guard(
            client.xrevrange(keys.alert_stream_key(), "+", "-", count=count)
        )
        return rows

    async def acknowledged_by(self, alert_ids: Sequence[str]) -> list[bytes | None]:
        """Who acknowledged each alert (None: open)."""
        client = await self.store.backend.connect()
        by: list[bytes | None] = await self.store.backend.guard(
            client.hmget(keys.alert_ack_keys()[1], list(alert_ids))
        )
        return by

    async def acknowledge(self, args: Sequence[Any]) -> bool:
        """Mark an alert handled (``an_ack``); False if it already was."""
        return bool(await self.store.run_script("an_ack", list(keys.alert_ack_keys()), args))
