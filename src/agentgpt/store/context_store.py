"""RedisContextStore: the guide's session store, a facade over the store's repositories.

The store moves opaque bytes; encoding, compression and encryption happen above it. Each
concern has its owner module: the connection and error classification
(``store.backend``), sessions' records (``store.sessions_repository``), the turn lock and
commit (``store.turn_locks``), schedules and leader election (``store.schedules``). A turn
costs two round trips (begin, commit) whatever the number of sessions (DESIGN invariant 4).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from agentgpt.config.defaults import default_settings
from agentgpt.config.settings import StoreSettings
from agentgpt.store import keys as store_keys
from agentgpt.store.backend import DEFAULT_BACKENDS, BackendRegistry, StoreBackend
from agentgpt.store.buckets import Bucket
from agentgpt.store.schedules import ScheduleRepository
from agentgpt.store.scripts import ScriptCall
from agentgpt.store.sessions_repository import SessionsRepository
from agentgpt.store.supervisor import EmbeddedSupervisor
from agentgpt.store.turn_locks import Acquired, TurnLockRepository, TurnWrite

__all__ = ["Acquired", "BackendRegistry", "RedisContextStore", "TurnWrite"]


class RedisContextStore:
    """Session storage on Redis/Valkey: standalone, cluster, TLS, or the embedded server.

    ``RedisContextStore()`` with no argument uses the configuration (``AGENTGPT_CONFIG``,
    ``AGENTGPT_STORE_URL``, ...) and, when none names a server, the embedded Valkey of the
    data directory. Connections are opened on first use and shared by every store object
    of the same settings and registry (default: the process's), so constructing one per
    session (as the guide's example does) costs nothing.
    """

    def __init__(
        self,
        settings: StoreSettings | str | None = None,
        *,
        home: str | None = None,
        registry: BackendRegistry | None = None,
    ) -> None:
        """Describe a store; ``settings`` may be a StoreSettings, a URL or None (default)."""
        if isinstance(settings, str):
            settings = StoreSettings.from_url(settings)
        self.settings = settings if settings is not None else default_settings().store
        self._home = home
        self._registry = registry if registry is not None else DEFAULT_BACKENDS
        #: The connection: for the store's own modules only (tests/unit checks that
        #: nothing outside ``agentgpt.store`` reaches for it).
        self.backend: StoreBackend = self._registry.backend(self.settings, home)
        self.schedules = ScheduleRepository(self.backend, self.settings)
        self.sessions = SessionsRepository(self.backend, self.settings, self.schedules)
        self.turns = TurnLockRepository(self.backend, self.settings, self.schedules)

    def with_retention(
        self, default: timedelta | None = None, sensitive: timedelta | None = None
    ) -> RedisContextStore:
        """Return a store on the same connection with other retention periods."""
        retention = self.settings.data_retention.model_copy(
            update={k: v for k, v in (("default", default), ("sensitive", sensitive)) if v}
        )
        if retention.sensitive > retention.default:
            retention = retention.model_copy(update={"sensitive": retention.default})
        settings = self.settings.model_copy(update={"data_retention": retention})
        return RedisContextStore(settings, home=self._home, registry=self._registry)

    # --- lifecycle ---------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the connections; the embedded server stops when its last user leaves."""
        await self.backend.aclose()

    @property
    def supervisor(self) -> EmbeddedSupervisor | None:
        """The watcher that restarts the embedded server (None for a configured server)."""
        return self.backend.supervisor

    async def ping(self) -> bool:
        """Return True when the store answers."""
        return await self.backend.ping()

    async def check_ready(self) -> None:
        """Raise ``StoreUnavailable`` unless the store serves every session's slot."""
        await self.backend.check_ready()

    @property
    def retention_ms(self) -> int:
        """Default retention in milliseconds."""
        return self.sessions.retention_ms

    @property
    def sensitive_ms(self) -> int:
        """Sensitive-class retention in milliseconds."""
        return self.sessions.sensitive_ms

    @property
    def round_trips(self) -> int:
        """Store calls made through this store's shared connection (for metrics)."""
        return self.backend.round_trips

    def describe(self) -> str:
        """The store as shown in messages: a URL or nodes with credentials masked."""
        return self.backend.describe()

    async def run_script(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """Run one of the store's Lua scripts (``agentgpt.store.scripts``), guarded."""
        return await self.backend.script(name, keys, args)

    async def run_scripts(self, name: str, calls: Sequence[ScriptCall]) -> list[Any]:
        """Run script ``name`` once per (keys, args) in one round trip, guarded."""
        return await self.backend.scripts(name, calls)

    # --- sessions (sessions_repository) -------------------------------------------

    async def create(self, session_id: str, fields: dict[str, bytes | str | int]) -> bool:
        """Create a session's metadata and schedule entries; False if the id exists."""
        return await self.sessions.create(session_id, fields)

    async def admit(
        self, session_id: str, owner_hash: str, idle_ms: int, limit: int, per_user: int
    ) -> tuple[int, int]:
        """Take an admission slot (one script): (1, live) | (0, live) full | (-1, mine)."""
        return await self.sessions.admit(session_id, owner_hash, idle_ms, limit, per_user)

    async def release_admission(self, session_id: str, owner_hash: str) -> None:
        """Give a session's admission slot back (erase, close, or a create that failed)."""
        await self.sessions.release_admission(session_id, owner_hash)

    async def load(self, session_id: str) -> tuple[dict[bytes, bytes], bytes | None]:
        """Return (metadata, context blob) in one round trip; raise SessionNotFound."""
        return await self.sessions.load(session_id)

    async def swap_meta_field(self, session_id: str, field: str, expected: str, value: str) -> bool:
        """Set one metadata field if it still holds ``expected`` (False: changed or erased)."""
        return await self.sessions.swap_meta_field(session_id, field, expected, value)

    async def meta(self, session_id: str) -> dict[bytes, bytes]:
        """Return a session's metadata (empty when it does not exist)."""
        return await self.sessions.meta(session_id)

    async def set_fields(
        self, session_id: str, fields: dict[str, bytes | str | int], fence: int | None = None
    ) -> None:
        """Set metadata fields of a live session (under its lock when ``fence`` is given)."""
        await self.sessions.set_fields(session_id, fields, fence)

    async def read_log(self, session_id: str, start: int = 0, end: int = -1) -> list[bytes]:
        """Return log entries ``start..end`` (inclusive, 0-based) - never on the hot path."""
        return await self.sessions.read_log(session_id, start, end)

    async def idempotent_seq(self, session_id: str, digest: str) -> int | None:
        """The turn committed under an idempotency key digest, if it is still remembered."""
        return await self.sessions.idempotent_seq(session_id, digest)

    async def read_vault(self, session_id: str, seq: int) -> bytes | None:
        """Return the sensitive record of turn ``seq`` if it has not expired."""
        return await self.sessions.read_vault(session_id, seq)

    async def close_session(self, session_id: str) -> None:
        """Mark a session closed (no more turns) and drop it from the active set."""
        await self.sessions.close_session(session_id)

    async def erase(self, session_id: str) -> int:
        """Delete every key of the session (wrapped data key first); return keys deleted."""
        return await self.sessions.erase(session_id)

    async def user_sessions(self, *index_keys: str) -> list[str]:
        """Return the session ids held by the user index keys (``keys.owner_index_key``)."""
        return await self.sessions.user_sessions(*index_keys)

    async def pttl(self, session_id: str) -> int:
        """Milliseconds until the session's metadata expires (-2 gone, -1 no TTL)."""
        return await self.sessions.pttl(session_id)

    # --- turns (turn_locks) -------------------------------------------------------

    async def acquire(
        self,
        lk: store_keys.LockKeys,
        ticket: str,
        lease_ms: int,
        wait_ttl_ms: int,
        *,
        bucket: Bucket | None = None,
    ) -> Acquired:
        """Try to take a lock once (one round trip)."""
        return await self.turns.acquire(lk, ticket, lease_ms, wait_ttl_ms, bucket=bucket)

    async def begin_turn(
        self,
        lk: store_keys.LockKeys,
        ticket: str,
        lease_ms: int,
        wait_ttl_ms: int,
        *,
        bucket: Bucket | None = None,
    ) -> Acquired:
        """Try to take a session's turn lock once; when granted, return meta and context."""
        return await self.turns.begin_turn(lk, ticket, lease_ms, wait_ttl_ms, bucket=bucket)

    async def spend(self, bucket: Bucket) -> int | None:
        """Spend one token of ``bucket``; the retry delay in ms when it is empty."""
        return await self.turns.spend(bucket)

    async def release(self, lock_key: str, value: str) -> bool:
        """Release a lock this holder owns; False if it was lost."""
        return await self.turns.release(lock_key, value)

    async def leave_queue(self, keys: store_keys.LockKeys, ticket: str) -> None:
        """Withdraw a waiter's ticket at once (it gave up: timeout or cancellation)."""
        await self.turns.leave_queue(keys, ticket)

    async def extend(self, lock_key: str, value: str, lease_ms: int) -> bool:
        """Renew a lock's lease; False if it was lost."""
        return await self.turns.extend(lock_key, value, lease_ms)

    async def commit(self, write: TurnWrite) -> int:
        """Commit a turn (one script; plus the activity schedule in the same pipeline)."""
        return await self.turns.commit(write)

    async def confirm_durable(self, session_id: str, digest: str, seq: int, ttl_ms: int) -> None:
        """Wait for the durability of a replayed turn (its first commit may not have had it)."""
        await self.turns.confirm_durable(session_id, digest, seq, ttl_ms)

    # --- schedules (schedules) ----------------------------------------------------

    async def count_active(self, since_ms: int) -> int:
        """Count sessions active since ``since_ms`` (epoch ms), across all shards."""
        return await self.schedules.count_active(since_ms)

    async def due(self, kind: str, shard: int, before_ms: int, limit: int) -> list[str]:
        """Return up to ``limit`` ids whose ``kind`` (active|expiry) score is before a time."""
        return await self.schedules.due(kind, shard, before_ms, limit)

    async def unschedule(self, kind: str, session_id: str) -> None:
        """Remove a session from the ``kind`` (active|expiry) schedule."""
        await self.schedules.unschedule(kind, session_id)

    async def reschedule_expiry(self, session_id: str, at_ms: int) -> None:
        """Move a session's expiry check to ``at_ms``."""
        await self.schedules.reschedule_expiry(session_id, at_ms)

    async def try_lead(self, key: str, holder: str, lease_ms: int) -> bool:
        """Take or keep a leadership lease (the one sweeper among all processes)."""
        return await self.schedules.try_lead(key, holder, lease_ms)
