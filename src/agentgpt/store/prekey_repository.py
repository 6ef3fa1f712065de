"""The end-to-end prekeys' storage: identity record, signed and one-time prekeys.

``security.ratchet.prekeys.Prekeys`` decides what the keys are (generation, wrapping,
rotation, retirement); this repository is how they are kept: the identity record (set
once), the signed prekeys hash (with the ``current`` marker), the one-time prekeys hash
and the free list handed out in bundles. Every call is guarded; multi-key writes are one
MULTI/EXEC (the e2e keys share one slot, see ``store.keys``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agentgpt.store import keys
from agentgpt.store.context_store import RedisContextStore

#: The field of the signed prekeys hash that names the current one.
CURRENT_FIELD = "current"


class PrekeyRepository:
    """Reads and writes of the e2e prekey keys of one store."""

    def __init__(self, store: RedisContextStore) -> None:
        """Keep prekeys in ``store``."""
        self.store = store

    async def _run(self, command: str, *args: Any) -> Any:
        client = await self.store.backend.connect()
        return await self.store.backend.guard(getattr(client, command)(*args))

    async def identity(self) -> bytes | None:
        """The encoded identity record, if one was stored."""
        raw: bytes | None = await self._run("get", keys.e2e_identity_key())
        return raw

    async def add_identity(self, record: bytes) -> bytes | None:
        """Store ``record`` unless an identity exists; return the one that is stored."""
        client = await self.store.backend.connect()
        await self.store.backend.guard(client.set(keys.e2e_identity_key(), record, nx=True))
        return await self.identity()

    async def next_prekey_ids(self, count: int = 1) -> int:
        """Reserve ``count`` prekey ids; the last one reserved."""
        return int(await self._run("incrby", keys.e2e_prekey_counter_key(), count))

    async def put_signed(self, prekey_id: int, record: bytes) -> None:
        """Store a signed prekey and make it the current one (one transaction)."""
        client = await self.store.backend.connect()
        pipe = client.pipeline(transaction=True)
        mapping = {str(prekey_id): record, CURRENT_FIELD: str(prekey_id)}
        pipe.hset(keys.e2e_signed_prekeys_key(), mapping=mapping)  # type: ignore[arg-type]
        await self.store.backend.guard(pipe.execute())

    async def current_signed_id(self) -> int | None:
        """The id of the current signed prekey, if any."""
        current = await self._run("hget", keys.e2e_signed_prekeys_key(), CURRENT_FIELD)
        return int(current) if current else None

    async def signed(self, prekey_id: int) -> bytes | None:
        """The encoded signed prekey ``prekey_id``, if it is kept."""
        raw: bytes | None = await self._run("hget", keys.e2e_signed_prekeys_key(), str(prekey_id))
        return raw

    async def signed_all(self) -> dict[bytes, bytes]:
        """Every field of the signed prekeys hash: records by id, and the current marker."""
        records: dict[bytes, bytes] = await self._run("hgetall", keys.e2e_signed_prekeys_key())
        return records

    async def drop_signed(self, prekey_ids: Sequence[bytes]) -> None:
        """Forget these signed prekeys."""
        await self._run("hdel", keys.e2e_signed_prekeys_key(), *prekey_ids)

    async def pop_free(self) -> bytes | None:
        """Hand out the oldest free one-time prekey (``id|public``), if any."""
        free: bytes | None = await self._run("lpop", keys.e2e_free_prekeys_key())
        return free

    async def free_count(self) -> int:
        """How many one-time prekeys are left to hand out."""
        return int(await self._run("llen", keys.e2e_free_prekeys_key()))

    async def add_one_time(self, privates: Mapping[str, bytes], free: Sequence[bytes]) -> None:
        """Store wrapped one-time private keys and queue their public halves (one MULTI)."""
        client = await self.store.backend.connect()
        pipe = client.pipeline(transaction=True)
        pipe.hset(keys.e2e_one_time_prekeys_key(), mapping=dict(privates))  # type: ignore[arg-type]
        pipe.rpush(keys.e2e_free_prekeys_key(), *free)
        await self.store.backend.guard(pipe.execute())

    async def take_one_time(self, prekey_id: int) -> bytes | None:
        """Read and delete one-time prekey ``prekey_id`` at once (None: used or retired)."""
        client = await self.store.backend.connect()
        pipe = client.pipeline(transaction=True)
        pipe.hget(keys.e2e_one_time_prekeys_key(), str(prekey_id))
        pipe.hdel(keys.e2e_one_time_prekeys_key(), str(prekey_id))
        raw, _ = await self.store.backend.guard(pipe.execute())
        result: bytes | None = raw
        return result

    async def one_time_ids(self) -> list[int]:
        """The ids of the stored one-time prekeys."""
        return [int(i) for i in await self._run("hkeys", keys.e2e_one_time_prekeys_key())]

    async def drop_one_time(self, prekey_ids: Sequence[int]) -> None:
        """Forget these one-time prekeys."""
        await self._run("hdel", keys.e2e_one_time_prekeys_key(), *map(str, prekey_ids))
