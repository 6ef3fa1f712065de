"""Bulk reads of sessions' records for the audits (verify, leakage scan): never the hot path.

The audits decide what is wrong; this repository is how they read what a session stores,
in pipelined pages, so that no code outside the store holds a client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from agentgpt.store import keys
from agentgpt.store.context_store import RedisContextStore
from agentgpt.store.failures import STORE_FAILURES, store_unavailable


class SessionRecords:
    """Pipelined reads of metadata, context, log pages, vault records and their TTLs."""

    def __init__(self, store: RedisContextStore) -> None:
        """Read from ``store`` (every call guarded as the store's own)."""
        self.store = store

    async def snapshot(self, session_id: str, ttl_keys: Sequence[str]) -> list[Any]:
        """One MULTI/EXEC: [meta hash, context, log length, *PTTL of ``ttl_keys``].

        All keys share the session's slot, so the reply is one consistent snapshot.
        """
        session = keys.session_keys(session_id)
        client = await self.store.backend.connect()
        pipe = client.pipeline(transaction=True)
        pipe.hgetall(session.meta)
        pipe.get(session.ctx)
        pipe.llen(session.log)
        for key in ttl_keys:
            pipe.pttl(key)
        result: list[Any] = await self.store.backend.guard(pipe.execute())
        return result

    async def vault_page(self, session_id: str, seqs: Sequence[int]) -> list[tuple[Any, int]]:
        """(sealed record or None, PTTL) of the vault records ``seqs`` (one round trip)."""
        session = keys.session_keys(session_id)
        client = await self.store.backend.connect()
        pipe = client.pipeline(transaction=False)
        for seq in seqs:
            pipe.get(session.vault(seq))
            pipe.pttl(session.vault(seq))
        replies = await self.store.backend.guard(pipe.execute())
        return [(blob, int(pttl)) for blob, pttl in zip(replies[::2], replies[1::2], strict=True)]

    async def metas(self, session_ids: Sequence[str]) -> list[dict[bytes, bytes]]:
        """The meta hash of each session ({} when gone), one round trip."""
        return await self._pipelined([("hgetall", keys.session_keys(s).meta) for s in session_ids])

    async def vault_records(self, wanted: Sequence[tuple[str, int]]) -> list[bytes | None]:
        """The sealed vault record of each (session, seq), one round trip."""
        return await self._pipelined([("get", keys.session_keys(s).vault(n)) for s, n in wanted])

    async def contexts_and_first_pages(
        self, session_ids: Sequence[str], size: int
    ) -> list[tuple[bytes | None, list[bytes]]]:
        """Each session's sealed context and its first ``size`` log entries."""
        client = await self.store.backend.connect()
        pipe = client.pipeline(transaction=False)
        for session_id in session_ids:
            session = keys.session_keys(session_id)
            pipe.get(session.ctx)
            pipe.lrange(session.log, 0, size - 1)
        replies = await self.store.backend.guard(pipe.execute())
        return list(zip(replies[::2], replies[1::2], strict=True))

    async def log_page(self, session_id: str, start: int, size: int) -> list[bytes]:
        """``size`` log entries from index ``start`` (one round trip)."""
        return await self.store.read_log(session_id, start, start + size - 1)

    async def meta_keys(self, batch: int) -> AsyncIterator[bytes]:
        """Every session's metadata key, ``batch`` per SCAN step (all primaries)."""
        client = await self.store.backend.connect()
        try:
            async for key in client.scan_iter(match=keys.META_MATCH, count=batch):
                yield key
        except STORE_FAILURES as exc:
            raise store_unavailable(exc, self.store.settings) from exc

    async def wrapped_keys(self, meta_keys: Sequence[bytes]) -> list[bytes | None]:
        """The wrapped data key (``dk``) of each metadata key, one round trip."""
        if not meta_keys:
            return []
        client = await self.store.backend.connect()
        pipe = client.pipeline(transaction=False)
        for key in meta_keys:
            pipe.hget(key, "dk")
        result: list[bytes | None] = await self.store.backend.guard(pipe.execute())
        return result

    async def scheduled_sessions(self) -> int:
        """Sessions in the expiry schedule, over every shard (one round trip)."""
        client = await self.store.backend.connect()
        pipe = client.pipeline(transaction=False)
        for shard in range(keys.SCHEDULE_SHARDS):
            pipe.zcard(keys.expiry_key(shard))
        counts = await self.store.backend.guard(pipe.execute())
        return sum(int(c) for c in counts)

    async def _pipelined(self, calls: Sequence[tuple[str, str]]) -> list[Any]:
        if not calls:
            return []
        client = await self.store.backend.connect()
        pipe = client.pipeline(transaction=False)
        for command, key in calls:
            getattr(pipe, command)(key)
        result: list[Any] = await self.store.backend.guard(pipe.execute())
        return result
