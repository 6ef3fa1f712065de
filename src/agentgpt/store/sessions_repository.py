"""The sessions repository: a session's meta hash (``flagged`` included, see
``store.records``), context, log, vault records, idempotency entries, owner indexes and
admission slots.

Reads and writes outside a turn; the turn itself (lock, load, commit) is
``store.turn_locks``. Every session key is under ``ag:{<id>}:`` (``store.keys``).
"""

from __future__ import annotations

import time
from typing import Any

from agentgpt.config.settings import StoreSettings
from agentgpt.errors import SessionNotFound, StaleFencingToken
from agentgpt.store import keys as store_keys
from agentgpt.store.backend import Repository, StoreBackend
from agentgpt.store.connection import Client
from agentgpt.store.schedules import ScheduleRepository


def _now_ms() -> int:
    return int(time.time() * 1000)


class SessionsRepository(Repository):
    """Sessions' records in the store (every call guarded, one round trip unless noted)."""

    def __init__(
        self, backend: StoreBackend, settings: StoreSettings, schedules: ScheduleRepository
    ) -> None:
        """Keep sessions through ``backend``; creating one also schedules it."""
        super().__init__(backend, settings)
        self._schedules = schedules

    async def create(self, session_id: str, fields: dict[str, bytes | str | int]) -> bool:
        """Create a session's metadata and schedule entries; False if the id exists."""
        keys = store_keys.session_keys(session_id)
        args: list[bytes | str | int] = [self.retention_ms]
        for name, value in fields.items():
            args += [name, value]
        client = await self._client()
        created = await self._script(client, "create", [keys.meta], args)
        if created:
            await self._schedules.schedule(session_id, _now_ms())
            index = _index_key(fields)
            if index is not None:
                await self._guard(self._index_user(client, index, session_id))
        return bool(created)

    async def _index_user(self, client: Client, index: str, session_id: str) -> None:
        pipe = client.pipeline(transaction=False)
        pipe.sadd(index, session_id)
        pipe.pexpire(index, self.retention_ms)
        await pipe.execute()

    async def admit(
        self, session_id: str, owner_hash: str, idle_ms: int, limit: int, per_user: int
    ) -> tuple[int, int]:
        """Take an admission slot (one script): (1, live) | (0, live) full | (-1, mine)."""
        client = await self._client()
        keys = [store_keys.admission_live_key(), store_keys.admission_user_key(owner_hash)]
        args = [session_id, _now_ms(), idle_ms, limit, per_user, self.retention_ms]
        status, count = await self._script(client, "admit", keys, args)
        return int(status), int(count)

    async def release_admission(self, session_id: str, owner_hash: str) -> None:
        """Give a session's admission slot back (erase, close, or a create that failed)."""
        client = await self._client()
        pipe = client.pipeline(transaction=False)
        self._queue_release(pipe, session_id, owner_hash)
        await self._guard(pipe.execute())

    @staticmethod
    def _queue_release(pipe: Any, session_id: str, owner_hash: str) -> None:
        pipe.zrem(store_keys.admission_live_key(), session_id)
        if owner_hash:
            pipe.zrem(store_keys.admission_user_key(owner_hash), session_id)

    async def load(self, session_id: str) -> tuple[dict[bytes, bytes], bytes | None]:
        """Return (metadata, context blob) in one round trip; raise SessionNotFound."""
        keys = store_keys.session_keys(session_id)
        client = await self._client()
        pipe = client.pipeline(transaction=False)
        pipe.hgetall(keys.meta)
        pipe.get(keys.ctx)
        meta, ctx = await self._guard(pipe.execute())
        if not meta:
            raise SessionNotFound(f"session {session_id} does not exist (expired or erased?)")
        return meta, ctx

    async def swap_meta_field(self, session_id: str, field: str, expected: str, value: str) -> bool:
        """Set one metadata field if it still holds ``expected`` (False: changed or erased)."""
        client = await self._client()
        keys = [store_keys.session_keys(session_id).meta]
        return bool(await self._script(client, "cas_field", keys, [field, expected, value]))

    async def meta(self, session_id: str) -> dict[bytes, bytes]:
        """Return a session's metadata (empty when it does not exist)."""
        client = await self._client()
        result: dict[bytes, bytes] = await self._guard(
            client.hgetall(store_keys.session_keys(session_id).meta)
        )
        return result

    async def set_fields(
        self, session_id: str, fields: dict[str, bytes | str | int], fence: int | None = None
    ) -> None:
        """Set metadata fields of a live session (under its lock when ``fence`` is given)."""
        args: list[bytes | str | int] = ["" if fence is None else fence]
        for name, value in fields.items():
            args += [name, value]
        client = await self._client()
        code = int(
            await self._script(
                client, "set_fields", [store_keys.session_keys(session_id).meta], args
            )
        )
        if code == 0:
            raise SessionNotFound(f"session {session_id} does not exist (expired or erased?)")
        if code < 0:
            raise StaleFencingToken(
                f"session {session_id}: the turn lock was lost before the write; retry"
            )

    async def read_log(self, session_id: str, start: int = 0, end: int = -1) -> list[bytes]:
        """Return log entries ``start..end`` (inclusive, 0-based) - never on the hot path."""
        client = await self._client()
        entries: list[bytes] = await self._guard(
            client.lrange(store_keys.session_keys(session_id).log, start, end)
        )
        return entries

    async def idempotent_seq(self, session_id: str, digest: str) -> int | None:
        """The turn committed under an idempotency key digest, if it is still remembered."""
        client = await self._client()
        key = store_keys.session_keys(session_id).idempotency
        seq = await self._guard(client.hget(key, digest))
        return int(seq) if seq is not None else None

    async def read_vault(self, session_id: str, seq: int) -> bytes | None:
        """Return the sensitive record of turn ``seq`` if it has not expired."""
        client = await self._client()
        value: bytes | None = await self._guard(
            client.get(store_keys.session_keys(session_id).vault(seq))
        )
        return value

    async def close_session(self, session_id: str) -> None:
        """Mark a session closed (no more turns) and drop it from the active set."""
        keys = store_keys.session_keys(session_id)
        client = await self._client()
        if not await self._guard(client.exists(keys.meta)):
            raise SessionNotFound(f"session {session_id} does not exist")
        owner_hash = await self._guard(client.hget(keys.meta, "oh"))
        pipe = client.pipeline(transaction=False)
        pipe.hset(keys.meta, "closed", "1")
        pipe.zrem(store_keys.active_key(store_keys.shard_of(session_id)), session_id)
        self._queue_release(pipe, session_id, owner_hash.decode() if owner_hash else "")
        await self._guard(pipe.execute())

    async def erase(self, session_id: str) -> int:
        """Delete every key of the session (wrapped data key first); return keys deleted."""
        keys = store_keys.session_keys(session_id)
        client = await self._client()
        owner_hash, owner = await self._guard(client.hmget(keys.meta, "oh", "owner"))
        deleted = await self._script(
            client,
            "erase",
            [*keys, store_keys.auth_failures_key(session_id)],
            [keys.vault_pattern_prefix],
        )
        shard = store_keys.shard_of(session_id)
        pipe = client.pipeline(transaction=False)
        pipe.zrem(store_keys.active_key(shard), session_id)
        pipe.zrem(store_keys.expiry_key(shard), session_id)
        self._queue_release(pipe, session_id, owner_hash.decode() if owner_hash else "")
        index = _index_key(
            {"oh": owner_hash.decode()}
            if owner_hash
            else {"owner": owner.decode()}
            if owner
            else {}
        )
        if index is not None:
            pipe.srem(index, session_id)
        await self._guard(pipe.execute())
        acked, ackby = store_keys.alert_ack_keys()
        alert_keys = [
            store_keys.alert_stream_key(),
            acked,
            ackby,
            store_keys.alert_cooldown_key(store_keys.AUTH_FAILURE_RULE, session_id),
        ]
        await self._script(client, "forget_alerts", alert_keys, [session_id])
        self._backend.erased(client)
        return int(deleted)

    async def user_sessions(self, *index_keys: str) -> list[str]:
        """Return the session ids held by the user index keys (``keys.owner_index_key``)."""
        client = await self._client()
        found: set[bytes] = set()
        for index in index_keys:
            found |= await self._guard(client.smembers(index))
        return sorted(m.decode() for m in found)

    async def pttl(self, session_id: str) -> int:
        """Milliseconds until the session's metadata expires (-2 gone, -1 no TTL)."""
        client = await self._client()
        return int(await self._guard(client.pttl(store_keys.session_keys(session_id).meta)))


def _index_key(fields: dict[str, Any]) -> str | None:
    # The owner's keyed hash ("oh") names the index; sessions from before it, the clear id.
    owner_hash, owner = fields.get("oh"), fields.get("owner")
    if isinstance(owner_hash, str) and owner_hash:
        return store_keys.owner_index_key(owner_hash)
    if isinstance(owner, str) and owner:
        return store_keys.user_key(owner)
    return None
