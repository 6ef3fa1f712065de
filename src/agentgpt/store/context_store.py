"""RedisContextStore: the session store on the Redis protocol.

The store moves opaque bytes; encoding, compression and encryption happen above it. Each
method documents its round trips: a turn costs two (acquire-and-load, commit-and-release)
whatever the number of sessions (DESIGN invariant 4).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError

from agentgpt.config.addresses import describe_store
from agentgpt.config.defaults import default_settings
from agentgpt.config.paths import data_home
from agentgpt.config.settings import StoreSettings
from agentgpt.errors import (
    ConcurrentUpdate,
    SessionClosed,
    SessionNotFound,
    StaleFencingToken,
    StoreUnavailable,
)
from agentgpt.store import keys as K
from agentgpt.store.buckets import Bucket
from agentgpt.store.compaction import ErasureCompactor
from agentgpt.store.connection import Client, create_client
from agentgpt.store.durability import Durability
from agentgpt.store.embedded import EmbeddedServer
from agentgpt.store.failures import STORE_FAILURES, script_failure, store_unavailable
from agentgpt.store.scripts import SCRIPTS, ScriptCall
from agentgpt.store.supervisor import EmbeddedSupervisor, RestartPolicy
from agentgpt.store.turn_channel import TurnChannel, usable

#: Hash slots of a Redis/Valkey cluster: every one must be served for the store to be ready.
CLUSTER_SLOTS = 16384


@dataclass(frozen=True, slots=True)
class Acquired:
    """Reply of an acquire attempt: granted (with fence) or the queue position."""

    granted: bool
    fence: int = 0
    position: int = 0
    meta: dict[bytes, bytes] | None = None
    ctx: bytes | None = None
    #: Set when the caller's rate bucket refused the attempt (nothing was queued).
    retry_after_ms: int | None = None


@dataclass(frozen=True, slots=True)
class TurnWrite:
    """Everything one turn commits, in one script call."""

    session_id: str
    fence: int | None
    expected_version: int
    ctx: bytes
    log_entry: bytes
    head: bytes
    vault: bytes | None = None
    release_value: str | None = None
    owner_hash: str = ""
    e2e: bytes | None = None  # the sealed end-to-end ratchet state after this turn
    idempotency_digest: str | None = None
    idempotency_ttl_ms: int = 0


def _now_ms() -> int:
    return int(time.time() * 1000)


class RedisContextStore:
    """Session storage on Redis/Valkey: standalone, cluster, TLS, or the embedded server.

    ``RedisContextStore()`` with no argument uses the configuration (``AGENTGPT_CONFIG``,
    ``AGENTGPT_STORE_URL``, ...) and, when none names a server, the embedded Valkey of the
    data directory. Connections are opened on first use and shared by every store object
    of the same settings in the process, so constructing one per session (as the guide's
    example does) costs nothing.
    """

    def __init__(
        self, settings: StoreSettings | str | None = None, *, home: str | None = None
    ) -> None:
        """Describe a store; ``settings`` may be a StoreSettings, a URL or None (default)."""
        if isinstance(settings, str):
            settings = StoreSettings.from_url(settings)
        self.settings = settings if settings is not None else default_settings().store
        self._home = home
        self._backend = _Backend.shared(self.settings, home)
        self._durability = Durability.of(self.settings)

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
        return RedisContextStore(settings, home=self._home)

    # --- lifecycle ---------------------------------------------------------------------

    async def client(self) -> Client:
        """Return the connected client (connecting, and starting the embedded server)."""
        return await self._backend.connect()

    async def aclose(self) -> None:
        """Close the connections; the embedded server stops when its last user leaves."""
        await self._backend.aclose()

    @property
    def supervisor(self) -> EmbeddedSupervisor | None:
        """The watcher that restarts the embedded server (None for a configured server)."""
        return self._backend.supervisor

    async def ping(self) -> bool:
        """Return True when the store answers."""
        client = await self.client()
        return bool(await self._guard(client.ping()))

    async def check_ready(self) -> None:
        """Raise ``StoreUnavailable`` unless the store serves every session's slot.

        Standalone: it answers PING. Cluster: every primary of the slot map answers CLUSTER
        INFO and reports ``cluster_state:ok`` with all 16384 slots ok; a primary that does
        not answer is named at once, before the others notice it is gone.
        """
        client = await self.client()
        if not isinstance(client, RedisCluster):
            await self._guard(client.ping())
            return
        await self._guard(client.initialize())  # re-reads the slot map after a failure
        primaries = client.get_primaries()
        if not primaries:
            raise StoreUnavailable(f"session store unreachable ({self.describe()}): no primary")
        for node in primaries:
            try:
                info = await client.cluster_info(target_nodes=node)
            except STORE_FAILURES as exc:
                raise store_unavailable(
                    exc, self.settings, where=self.describe(), node=node.name
                ) from exc
            state, slots_ok = _cluster_health(info)
            if state != "ok" or slots_ok < CLUSTER_SLOTS:
                raise StoreUnavailable(
                    f"session store cluster not serving every slot (node {node.name} of "
                    f"{self.describe()}): cluster_state {state}, {slots_ok}/{CLUSTER_SLOTS} "
                    "slots ok"
                )

    @property
    def retention_ms(self) -> int:
        """Default retention in milliseconds."""
        return int(self.settings.data_retention.default.total_seconds() * 1000)

    @property
    def sensitive_ms(self) -> int:
        """Sensitive-class retention in milliseconds."""
        return int(self.settings.data_retention.sensitive.total_seconds() * 1000)

    # --- sessions ----------------------------------------------------------------------

    async def create(self, session_id: str, fields: dict[str, bytes | str | int]) -> bool:
        """Create a session's metadata and schedule entries; False if the id exists."""
        keys = K.session_keys(session_id)
        args: list[bytes | str | int] = [self.retention_ms]
        for name, value in fields.items():
            args += [name, value]
        client = await self.client()
        created = await self._script(client, "create", [keys.meta], args)
        if created:
            await self._schedule(session_id, _now_ms())
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
        client = await self.client()
        keys = [K.admission_live_key(), K.admission_user_key(owner_hash)]
        args = [session_id, _now_ms(), idle_ms, limit, per_user, self.retention_ms]
        status, count = await self._script(client, "admit", keys, args)
        return int(status), int(count)

    async def release_admission(self, session_id: str, owner_hash: str) -> None:
        """Give a session's admission slot back (erase, close, or a create that failed)."""
        client = await self.client()
        pipe = client.pipeline(transaction=False)
        self._queue_release(pipe, session_id, owner_hash)
        await self._guard(pipe.execute())

    @staticmethod
    def _queue_release(pipe: Any, session_id: str, owner_hash: str) -> None:
        pipe.zrem(K.admission_live_key(), session_id)
        if owner_hash:
            pipe.zrem(K.admission_user_key(owner_hash), session_id)

    async def load(self, session_id: str) -> tuple[dict[bytes, bytes], bytes | None]:
        """Return (metadata, context blob) in one round trip; raise SessionNotFound."""
        keys = K.session_keys(session_id)
        client = await self.client()
        pipe = client.pipeline(transaction=False)
        pipe.hgetall(keys.meta)
        pipe.get(keys.ctx)
        meta, ctx = await self._guard(pipe.execute())
        if not meta:
            raise SessionNotFound(f"session {session_id} does not exist (expired or erased?)")
        return meta, ctx

    async def swap_meta_field(self, session_id: str, field: str, expected: str, value: str) -> bool:
        """Set one metadata field if it still holds ``expected`` (False: changed or erased)."""
        client = await self.client()
        keys = [K.session_keys(session_id).meta]
        return bool(await self._script(client, "cas_field", keys, [field, expected, value]))

    async def meta(self, session_id: str) -> dict[bytes, bytes]:
        """Return a session's metadata (empty when it does not exist)."""
        client = await self.client()
        result: dict[bytes, bytes] = await self._guard(
            client.hgetall(K.session_keys(session_id).meta)
        )
        return result

    async def commit(self, write: TurnWrite) -> int:
        """Commit a turn (one script; plus the activity schedule in the same pipeline)."""
        keys = K.session_keys(write.session_id)
        seq = write.expected_version + 1
        args: list[bytes | str | int] = [
            "" if write.fence is None else write.fence,
            write.expected_version,
            write.ctx,
            write.log_entry,
            write.head,
            _now_ms(),
            self.retention_ms,
            1 if self.settings.data_retention.sliding else 0,
            write.vault or b"",
            self.sensitive_ms,
            1 if write.release_value else 0,
            write.release_value or "",
            write.idempotency_digest or "",
            write.idempotency_ttl_ms,
            write.e2e or b"",
        ]
        script_keys = [keys.meta, keys.ctx, keys.log, keys.lock, keys.vault(seq), keys.idempotency]
        client = await self.client()
        channel = self._channel()
        if channel is not None:
            # One write on the turn channel: the commit script and the schedule update.
            commands: list[Sequence[Any]] = [
                SCRIPTS.command("commit", script_keys, args),
                *self._schedule_commands(write.session_id, _now_ms(), write.owner_hash),
            ]
            try:
                results = await self._guard(_raising(channel.pipeline(commands)))
            except NoScriptError:
                await SCRIPTS.load(channel)
                return await self.commit(write)
            return _check_commit(write.session_id, int(results[0]))
        if isinstance(client, RedisCluster):
            # redis-py refuses scripts in cluster pipelines: run the commit and the
            # schedule update side by side (one round trip each, concurrently).
            code, _ = await asyncio.gather(
                self._durable_script(client, "commit", script_keys, args),
                self._schedule(write.session_id, _now_ms(), write.owner_hash),
            )
            return _check_commit(write.session_id, int(code))
        pipe = client.pipeline(transaction=False)
        SCRIPTS.queue(pipe, "commit", script_keys, args)
        self._queue_schedule(pipe, write.session_id, _now_ms(), write.owner_hash)
        self._durability.queue(pipe)
        try:
            results = await self._waited(pipe)
        except NoScriptError:
            await SCRIPTS.load(client)
            return await self.commit(write)
        version = _check_commit(write.session_id, int(results[0]))
        if self._durability.waits:
            self._durability.check(results[-1], self.describe())
        return version

    async def _waited(self, pipe: Any) -> list[Any]:
        """Run a pipeline whose last command may be a durability wait.

        The wait's own error (``WAITAOF`` on a server without AOF) comes back as its reply
        for ``Durability.check`` to explain; the other commands' errors are raised.
        """
        waits = self._durability.waits
        results: list[Any] = await self._guard(pipe.execute(raise_on_error=not waits))
        for reply in results[:-1] if waits else ():
            if isinstance(reply, NoScriptError):
                raise reply
            if isinstance(reply, Exception):
                raise self._backend.unavailable(reply) from reply
        return results

    async def _durable_script(
        self, client: RedisCluster, name: str, keys: Sequence[str], args: Sequence[Any]
    ) -> Any:
        """A script on a cluster, followed on its connection by the durability wait."""
        if not self._durability.waits:
            return await self._script(client, name, keys, args)
        pipe = client.pipeline(transaction=False)
        # EVALSHA as a raw command: the cluster pipeline only blocks the evalsha method.
        pipe.execute_command("EVALSHA", SCRIPTS.shas[name], len(keys), *keys, *args)
        node = client.get_node_from_key(keys[0])
        if node is None:
            raise StoreUnavailable(f"session store cluster ({self.describe()}): slot not served")
        self._durability.queue(pipe, target_nodes=node)
        try:
            reply, waited = await self._waited(pipe)
        except NoScriptError:
            await SCRIPTS.load(client)
            return await self._durable_script(client, name, keys, args)
        if int(reply) >= 0:
            self._durability.check(waited, f"node {node.name} of {self.describe()}")
        return reply

    async def confirm_durable(self, session_id: str, digest: str, seq: int, ttl_ms: int) -> None:
        """Wait for the durability of a replayed turn (its first commit may not have had it).

        ``WAIT`` counts the calling connection's writes: rewrite the idempotency entry (the
        same value) and wait for that; replication is in order, so the turn is there too.
        """
        if not self._durability.waits:
            return
        key = K.session_keys(session_id).idempotency
        client = await self.client()
        pipe = client.pipeline(transaction=False)
        pipe.hset(key, digest, seq)
        pipe.pexpire(key, ttl_ms)
        route = (
            {"target_nodes": client.get_node_from_key(key)}
            if isinstance(client, RedisCluster)
            else {}
        )
        self._durability.queue(pipe, **route)
        results = await self._waited(pipe)
        self._durability.check(results[-1], self.describe())

    async def set_fields(
        self, session_id: str, fields: dict[str, bytes | str | int], fence: int | None = None
    ) -> None:
        """Set metadata fields of a live session (under its lock when ``fence`` is given)."""
        args: list[bytes | str | int] = ["" if fence is None else fence]
        for name, value in fields.items():
            args += [name, value]
        client = await self.client()
        code = int(
            await self._script(client, "set_fields", [K.session_keys(session_id).meta], args)
        )
        if code == 0:
            raise SessionNotFound(f"session {session_id} does not exist (expired or erased?)")
        if code < 0:
            raise StaleFencingToken(
                f"session {session_id}: the turn lock was lost before the write; retry"
            )

    async def read_log(self, session_id: str, start: int = 0, end: int = -1) -> list[bytes]:
        """Return log entries ``start..end`` (inclusive, 0-based) - never on the hot path."""
        client = await self.client()
        entries: list[bytes] = await self._guard(
            client.lrange(K.session_keys(session_id).log, start, end)
        )
        return entries

    async def idempotent_seq(self, session_id: str, digest: str) -> int | None:
        """The turn committed under an idempotency key digest, if it is still remembered."""
        client = await self.client()
        key = K.session_keys(session_id).idempotency
        seq = await self._guard(client.hget(key, digest))
        return int(seq) if seq is not None else None

    async def read_vault(self, session_id: str, seq: int) -> bytes | None:
        """Return the sensitive record of turn ``seq`` if it has not expired."""
        client = await self.client()
        value: bytes | None = await self._guard(client.get(K.session_keys(session_id).vault(seq)))
        return value

    async def close_session(self, session_id: str) -> None:
        """Mark a session closed (no more turns) and drop it from the active set."""
        keys = K.session_keys(session_id)
        client = await self.client()
        if not await self._guard(client.exists(keys.meta)):
            raise SessionNotFound(f"session {session_id} does not exist")
        owner_hash = await self._guard(client.hget(keys.meta, "oh"))
        pipe = client.pipeline(transaction=False)
        pipe.hset(keys.meta, "closed", "1")
        pipe.zrem(K.active_key(K.shard_of(session_id)), session_id)
        self._queue_release(pipe, session_id, owner_hash.decode() if owner_hash else "")
        await self._guard(pipe.execute())

    async def erase(self, session_id: str) -> int:
        """Delete every key of the session (wrapped data key first); return keys deleted."""
        keys = K.session_keys(session_id)
        client = await self.client()
        owner_hash, owner = await self._guard(client.hmget(keys.meta, "oh", "owner"))
        deleted = await self._script(
            client,
            "erase",
            [*keys, K.auth_failures_key(session_id)],
            [keys.vault_pattern_prefix],
        )
        shard = K.shard_of(session_id)
        pipe = client.pipeline(transaction=False)
        pipe.zrem(K.active_key(shard), session_id)
        pipe.zrem(K.expiry_key(shard), session_id)
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
        acked, ackby = K.alert_ack_keys()
        alert_keys = [
            K.alert_stream_key(),
            acked,
            ackby,
            K.alert_cooldown_key(K.AUTH_FAILURE_RULE, session_id),
        ]
        await self._script(client, "forget_alerts", alert_keys, [session_id])
        self._backend.erased(client)
        return int(deleted)

    async def user_sessions(self, *index_keys: str) -> list[str]:
        """Return the session ids held by the user index keys (``keys.owner_index_key``)."""
        client = await self.client()
        found: set[bytes] = set()
        for index in index_keys:
            found |= await self._guard(client.smembers(index))
        return sorted(m.decode() for m in found)

    # --- locks -------------------------------------------------------------------------

    async def acquire(
        self,
        lk: K.LockKeys,
        ticket: str,
        lease_ms: int,
        wait_ttl_ms: int,
        *,
        bucket: Bucket | None = None,
    ) -> Acquired:
        """Try to take a lock once (one round trip).

        ``bucket``: spend one token of the caller's rate bucket first, in the same script
        on a standalone store (one round trip for both), just before on a cluster (the
        bucket lives in another slot); refused: ``retry_after_ms`` is set.
        """
        return await self._acquire(lk, ticket, lease_ms, wait_ttl_ms, load=False, bucket=bucket)

    async def begin_turn(
        self,
        lk: K.LockKeys,
        ticket: str,
        lease_ms: int,
        wait_ttl_ms: int,
        *,
        bucket: Bucket | None = None,
    ) -> Acquired:
        """Try to take a session's turn lock once; when granted, return meta and context.

        One round trip: the lock and the session's data come back together (DESIGN, the
        turn path step 2). ``bucket``: as for ``acquire`` (the rate token is spent in the
        same script on a standalone store).
        """
        return await self._acquire(lk, ticket, lease_ms, wait_ttl_ms, load=True, bucket=bucket)

    async def _acquire(
        self,
        lk: K.LockKeys,
        ticket: str,
        lease_ms: int,
        wait_ttl_ms: int,
        *,
        load: bool,
        bucket: Bucket | None = None,
    ) -> Acquired:
        ctx_key = K.session_keys(lk.session_id).ctx if lk.session_id else lk.lock
        args: list[Any] = [
            ticket,
            lease_ms,
            wait_ttl_ms,
            1 if lk.session_id else 0,
            1 if load else 0,
            self.retention_ms,
        ]
        keys = [lk.lock, lk.queue, lk.heartbeats, lk.fence, ctx_key]
        client = await self.client()
        if bucket is not None and isinstance(client, RedisCluster):
            retry_ms = await self.spend(bucket)
            if retry_ms is not None:
                return Acquired(granted=False, retry_after_ms=retry_ms)
        elif bucket is not None:
            keys.append(bucket.key)
            args += [bucket.rate, bucket.burst]
        reply = await self._script(self._channel() or client, "acquire", keys, args)
        status = int(reply[0])
        if status == -2:
            return Acquired(granted=False, retry_after_ms=int(reply[1]))
        if status == -1:
            raise SessionNotFound(f"session {lk.session_id} does not exist (expired or erased?)")
        if status == 0:
            return Acquired(granted=False, position=int(reply[1]))
        if len(reply) > 2:
            flat = reply[2]
            meta = {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}
            return Acquired(granted=True, fence=int(reply[1]), meta=meta, ctx=reply[3])
        return Acquired(granted=True, fence=int(reply[1]))

    async def spend(self, bucket: Bucket) -> int | None:
        """Spend one token of ``bucket``; the retry delay in ms when it is empty."""
        client = await self.client()
        allowed, retry_ms = await self._script(
            client, "token_bucket", [bucket.key], [bucket.rate, bucket.burst]
        )
        return None if allowed else int(retry_ms)

    async def release(self, lock_key: str, value: str) -> bool:
        """Release a lock this holder owns; False if it was lost."""
        client = await self.client()
        return bool(await self._script(client, "release", [lock_key], [value]))

    async def leave_queue(self, keys: K.LockKeys, ticket: str) -> None:
        """Withdraw a waiter's ticket at once (it gave up: timeout or cancellation)."""
        client: Any = await self.client()
        pipe = client.pipeline(transaction=False)
        pipe.zrem(keys.queue, ticket)
        pipe.hdel(keys.heartbeats, ticket)
        await self._guard(pipe.execute())

    async def extend(self, lock_key: str, value: str, lease_ms: int) -> bool:
        """Renew a lock's lease; False if it was lost."""
        client = await self.client()
        return bool(await self._script(client, "extend", [lock_key], [value, lease_ms]))

    # --- activity and expiry schedules -------------------------------------------------

    def _queue_schedule(
        self, pipe: Any, session_id: str, now_ms: int, owner_hash: str = ""
    ) -> None:
        for command in self._schedule_commands(session_id, now_ms, owner_hash):
            pipe.execute_command(*command)

    def _schedule_commands(
        self, session_id: str, now_ms: int, owner_hash: str = ""
    ) -> list[tuple[Any, ...]]:
        """The ZADDs recording a session's activity (and its expiry check)."""
        shard = K.shard_of(session_id)
        expiry = now_ms + self.retention_ms
        return [
            ("ZADD", K.active_key(shard), now_ms, session_id),
            # XX: activity keeps an admitted session's slot, it never takes a new one.
            ("ZADD", K.admission_live_key(), "XX", now_ms, session_id),
            *(
                [("ZADD", K.admission_user_key(owner_hash), "XX", now_ms, session_id)]
                if owner_hash
                else []
            ),
            ("ZADD", K.expiry_key(shard), expiry, session_id)
            if self.settings.data_retention.sliding
            else ("ZADD", K.expiry_key(shard), "NX", expiry, session_id),
        ]

    async def _schedule(self, session_id: str, now_ms: int, owner_hash: str = "") -> None:
        client = await self.client()
        pipe = client.pipeline(transaction=False)
        self._queue_schedule(pipe, session_id, now_ms, owner_hash)
        await self._guard(pipe.execute())

    async def count_active(self, since_ms: int) -> int:
        """Count sessions active since ``since_ms`` (epoch ms), across all shards."""
        client = await self.client()
        pipe = client.pipeline(transaction=False)
        for shard in range(K.SCHEDULE_SHARDS):
            pipe.zcount(K.active_key(shard), since_ms, "+inf")
        counts = await self._guard(pipe.execute())
        return sum(int(c) for c in counts)

    async def due(self, kind: str, shard: int, before_ms: int, limit: int) -> list[str]:
        """Return up to ``limit`` ids whose ``kind`` (active|expiry) score is before a time."""
        key = K.active_key(shard) if kind == "active" else K.expiry_key(shard)
        client = await self.client()
        members = await self._guard(
            client.zrangebyscore(key, "-inf", before_ms, start=0, num=limit)
        )
        return [m.decode() for m in members]

    async def unschedule(self, kind: str, session_id: str) -> None:
        """Remove a session from the ``kind`` (active|expiry) schedule."""
        shard = K.shard_of(session_id)
        key = K.active_key(shard) if kind == "active" else K.expiry_key(shard)
        client = await self.client()
        await self._guard(client.zrem(key, session_id))

    async def reschedule_expiry(self, session_id: str, at_ms: int) -> None:
        """Move a session's expiry check to ``at_ms``."""
        client = await self.client()
        await self._guard(client.zadd(K.expiry_key(K.shard_of(session_id)), {session_id: at_ms}))

    async def pttl(self, session_id: str) -> int:
        """Milliseconds until the session's metadata expires (-2 gone, -1 no TTL)."""
        client = await self.client()
        return int(await self._guard(client.pttl(K.session_keys(session_id).meta)))

    async def try_lead(self, key: str, holder: str, lease_ms: int) -> bool:
        """Take or keep a leadership lease (the one sweeper among all processes)."""
        client = await self.client()
        if await self._guard(client.set(key, holder, nx=True, px=lease_ms)):
            return True
        return bool(await self._script(client, "extend", [key], [holder, lease_ms]))

    # --- plumbing ----------------------------------------------------------------------

    def _channel(self) -> TurnChannel | None:
        """The turn channel when it may serve this store's turn calls (else the client).

        Not when commits wait for durability: a ``WAITAOF`` on the shared connection
        would hold every other caller's replies behind it.
        """
        if self._durability.waits:
            return None
        return self._backend.channel

    async def _script(
        self, client: Client | TurnChannel, name: str, keys: Sequence[str], args: Sequence[Any]
    ) -> Any:
        return await self._guard(SCRIPTS.call(client, name, keys, args))

    async def run_script(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """Run one of the store's Lua scripts (``agentgpt.store.scripts``), guarded."""
        return await self._script(await self.client(), name, keys, args)

    async def run_scripts(self, name: str, calls: Sequence[ScriptCall]) -> list[Any]:
        """Run script ``name`` once per (keys, args) in one round trip, guarded."""
        client = await self.client()
        result: list[Any] = await self._guard(SCRIPTS.call_many(client, name, calls))
        return result

    async def guard(self, awaitable: Any) -> Any:
        """Await a store call, turning connection failures into ``StoreUnavailable``."""
        return await self._guard(awaitable)

    @property
    def round_trips(self) -> int:
        """Store calls made through this process's shared connection (for metrics)."""
        return self._backend.round_trips

    def describe(self) -> str:
        """The store as shown in messages: a URL or nodes with credentials masked."""
        return self._backend.describe()

    async def _guard(self, awaitable: Any) -> Any:
        self._backend.round_trips += 1
        try:
            return await awaitable
        except STORE_FAILURES as exc:
            bug = script_failure(exc)
            if bug is not None:
                raise bug from exc
            raise self._backend.unavailable(exc) from exc


async def _raising(replies: Any) -> list[Any]:
    """The replies of a pipeline, raising its first error reply (as redis-py's would)."""
    results: list[Any] = await replies
    for reply in results:
        if isinstance(reply, Exception):
            raise reply
    return results


def _cluster_health(info: Any) -> tuple[str, int]:
    """``cluster_state`` and ``cluster_slots_ok`` of a CLUSTER INFO reply."""

    def text(value: Any) -> str:
        return value.decode() if isinstance(value, bytes) else str(value)

    fields = {text(k): text(v) for k, v in dict(info).items()}
    slots = fields.get("cluster_slots_ok", "0")
    return fields.get("cluster_state", "unknown"), int(slots) if slots.isdigit() else 0


def _index_key(fields: dict[str, Any]) -> str | None:
    # The owner's keyed hash ("oh") names the index; sessions from before it, the clear id.
    owner_hash, owner = fields.get("oh"), fields.get("owner")
    if isinstance(owner_hash, str) and owner_hash:
        return K.owner_index_key(owner_hash)
    if isinstance(owner, str) and owner:
        return K.user_key(owner)
    return None


def _check_commit(session_id: str, code: int) -> int:
    if code >= 0:
        return code
    if code == -1:
        raise StaleFencingToken(
            f"session {session_id}: this turn's lock was taken over (lease expired); "
            "the newer turn was kept and this one was not written"
        )
    if code == -2:
        raise SessionNotFound(f"session {session_id} does not exist (expired or erased?)")
    if code == -3:
        raise SessionClosed(f"session {session_id} is closed; create a new session")
    raise ConcurrentUpdate(
        f"session {session_id} changed since it was loaded; reload it and retry the turn"
    )


class _Backend:
    """One connection (and embedded server) per settings, event loop and process."""

    _shared: dict[tuple[str, str | None, int], _Backend] = {}  # noqa: RUF012

    def __init__(self, settings: StoreSettings, home: str | None) -> None:
        self.settings = settings
        self.home = home
        self.round_trips = 0
        self._client: Client | None = None
        self._embedded: EmbeddedServer | None = None
        #: AOF rewrites after erasures (embedded server only: external ones are the
        #: operator's, see ``agentgpt security compact``).
        self.compactor: ErasureCompactor | None = None
        self.supervisor: EmbeddedSupervisor | None = None
        #: The turn's calls on one pipelined connection (standalone stores only).
        self.channel: TurnChannel | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def shared(cls, settings: StoreSettings, home: str | None) -> _Backend:
        """Return the backend shared by stores of the same settings on this loop."""
        try:
            loop_id = id(asyncio.get_running_loop())
        except RuntimeError:
            loop_id = 0
        # Retention and compression do not change the connection: stores that differ only
        # there (a manager's session_ttl) share one client.
        key = (settings.model_dump_json(exclude={"data_retention", "compression"}), home, loop_id)
        backend = cls._shared.get(key)
        if backend is None:
            backend = cls._shared[key] = cls(settings, home)
        return backend

    def describe(self) -> str:
        """The target as shown in messages and health checks (credentials masked)."""
        socket = str(self._embedded.socket_path) if self._embedded is not None else None
        return describe_store(self.settings, socket)

    def unavailable(self, exc: BaseException, *, hint: bool = False) -> StoreUnavailable:
        """The ``StoreUnavailable`` of a client library error ``exc`` on this store."""
        return store_unavailable(exc, self.settings, where=self.describe(), hint=hint)

    async def connect(self) -> Client:
        """Connect once; later calls return the same client."""
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                self._client = await self._open()
        return self._client

    async def _open(self) -> Client:
        url = None
        if self.settings.is_embedded:
            from pathlib import Path

            home = Path(self.home) if self.home else data_home()
            self._embedded = EmbeddedServer(home, appendfsync=self.settings.appendfsync)
            url = await asyncio.to_thread(self._embedded.acquire)
            policy = RestartPolicy(
                max_restarts=self.settings.embedded_max_restarts,
                restart_window_s=self.settings.embedded_restart_window.total_seconds(),
            )
            if self.supervisor is None:  # a failed connect must not leave a second watcher
                self.supervisor = EmbeddedSupervisor(self._embedded, policy)
                self.supervisor.start()
        client = create_client(self.settings, url)
        try:
            if hasattr(client, "initialize"):
                await client.initialize()
            await SCRIPTS.load(client)
        except STORE_FAILURES as exc:
            with contextlib.suppress(*STORE_FAILURES):
                await client.aclose()
            raise self.unavailable(exc, hint=True) from exc
        self.channel = TurnChannel(client) if usable(client) else None
        return client

    def erased(self, client: Client) -> None:
        """Schedule the rewrite that takes an erasure off the embedded server's disk."""
        if self._embedded is None:
            return
        if self.compactor is None:
            self.compactor = ErasureCompactor(self.settings.erase_compaction_delay.total_seconds())
        self.compactor.erased(client)

    async def aclose(self) -> None:
        """Close the client and leave the embedded server."""
        if self.compactor is not None and self._client is not None:
            await self.compactor.flush()
        client, self._client = self._client, None
        channel, self.channel = self.channel, None
        if channel is not None:
            await channel.aclose()
        if client is not None:
            await client.aclose()
        supervisor, self.supervisor = self.supervisor, None
        if supervisor is not None:
            await supervisor.aclose()
        if self._embedded is not None:
            embedded, self._embedded = self._embedded, None
            await asyncio.to_thread(embedded.release)
        for key, backend in list(self._shared.items()):
            if backend is self:
                del self._shared[key]
