"""The turn lock: FIFO fenced locks, the turn's begin (lock + data) and commit (+ release).

``begin_turn`` takes a session's lock and returns its metadata and context in the same
round trip; ``commit`` writes the turn with the fencing token and releases the lock in
one script, followed on the same connection by the durability wait when one is
configured (``store.durability``). ``DistributedLock`` is built on ``acquire`` /
``release`` / ``extend`` and never loads data.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError

from agentgpt.config.settings import StoreSettings
from agentgpt.errors import (
    ConcurrentUpdate,
    SessionClosed,
    SessionNotFound,
    StaleFencingToken,
    StoreUnavailable,
)
from agentgpt.store import keys as store_keys
from agentgpt.store.backend import Repository, StoreBackend
from agentgpt.store.buckets import Bucket
from agentgpt.store.connection import Client
from agentgpt.store.durability import Durability
from agentgpt.store.failures import script_failure
from agentgpt.store.schedules import ScheduleRepository
from agentgpt.store.scripts import SCRIPTS
from agentgpt.store.turn_channel import TurnChannel


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


class TurnLockRepository(Repository):
    """Session and resource locks, and the turn's commit under the lock's fence."""

    def __init__(
        self, backend: StoreBackend, settings: StoreSettings, schedules: ScheduleRepository
    ) -> None:
        """Lock and commit through ``backend``; a commit also updates ``schedules``."""
        super().__init__(backend, settings)
        self._schedules = schedules
        self._durability = Durability.of(settings)

    async def acquire(
        self,
        lk: store_keys.LockKeys,
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
        lk: store_keys.LockKeys,
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
        lk: store_keys.LockKeys,
        ticket: str,
        lease_ms: int,
        wait_ttl_ms: int,
        *,
        load: bool,
        bucket: Bucket | None = None,
    ) -> Acquired:
        ctx_key = store_keys.session_keys(lk.session_id).ctx if lk.session_id else lk.lock
        args: list[Any] = [
            ticket,
            lease_ms,
            wait_ttl_ms,
            1 if lk.session_id else 0,
            1 if load else 0,
            self.retention_ms,
        ]
        keys = [lk.lock, lk.queue, lk.heartbeats, lk.fence, ctx_key]
        client = await self._client()
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
        client = await self._client()
        allowed, retry_ms = await self._script(
            client, "token_bucket", [bucket.key], [bucket.rate, bucket.burst]
        )
        return None if allowed else int(retry_ms)

    async def release(self, lock_key: str, value: str) -> bool:
        """Release a lock this holder owns; False if it was lost."""
        client = await self._client()
        return bool(await self._script(client, "release", [lock_key], [value]))

    async def leave_queue(self, keys: store_keys.LockKeys, ticket: str) -> None:
        """Withdraw a waiter's ticket at once (it gave up: timeout or cancellation)."""
        client: Any = await self._client()
        pipe = client.pipeline(transaction=False)
        pipe.zrem(keys.queue, ticket)
        pipe.hdel(keys.heartbeats, ticket)
        await self._guard(pipe.execute())

    async def extend(self, lock_key: str, value: str, lease_ms: int) -> bool:
        """Renew a lock's lease; False if it was lost."""
        client = await self._client()
        return bool(await self._script(client, "extend", [lock_key], [value, lease_ms]))

    async def commit(self, write: TurnWrite) -> int:
        """Commit a turn (one script; plus the activity schedule in the same pipeline)."""
        keys = store_keys.session_keys(write.session_id)
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
        client = await self._client()
        channel = self._channel()
        if channel is not None:
            # One write on the turn channel: the commit script and the schedule update.
            commands: list[Sequence[Any]] = [
                SCRIPTS.command("commit", script_keys, args),
                *self._schedules.commands(write.session_id, _now_ms(), write.owner_hash),
            ]
            try:
                results = await self._guard(_raising(channel.pipeline(commands)))
            except NoScriptError:  # the server restarted without our scripts: load, once
                await self._guard(SCRIPTS.load(channel))
                results = await self._guard(_raising(channel.pipeline(commands)))
            return _check_commit(write.session_id, int(results[0]))
        if isinstance(client, RedisCluster):
            # redis-py refuses scripts in cluster pipelines: run the commit and the
            # schedule update side by side (one round trip each, concurrently).
            code, _ = await asyncio.gather(
                self._durable_script(client, "commit", script_keys, args),
                self._schedules.schedule(write.session_id, _now_ms(), write.owner_hash),
            )
            return _check_commit(write.session_id, int(code))
        now_ms = _now_ms()

        def queue(pipe: Any) -> None:
            SCRIPTS.queue(pipe, "commit", script_keys, args)
            self._schedules.queue(pipe, write.session_id, now_ms, write.owner_hash)
            self._durability.queue(pipe)

        results = await self._waited(client, queue)
        version = _check_commit(write.session_id, int(results[0]))
        if self._durability.waits:
            self._durability.check(results[-1], self.describe())
        return version

    def _channel(self) -> TurnChannel | None:
        """The turn channel when it may serve this store's turn calls (else the client).

        Not when commits wait for durability: a ``WAITAOF`` on the shared connection
        would hold every other caller's replies behind it.
        """
        if self._durability.waits:
            return None
        return self._backend.channel

    async def _waited(self, client: Client, queue: Callable[[Any], None]) -> list[Any]:
        """Run the pipeline ``queue`` fills, whose last command may be a durability wait.

        The same path as every script call: ``SCRIPTS.run_pipeline`` reloads the scripts
        once after ``NOSCRIPT`` and ``guard`` classifies failures. The wait's own error
        (``WAITAOF`` on a server without AOF) comes back as its reply for
        ``Durability.check`` to explain; the other commands' errors are raised, classified
        (a failing script of ours is a bug, not an unavailable store).
        """
        waits = self._durability.waits
        results: list[Any] = await self._guard(
            SCRIPTS.run_pipeline(client, queue, raise_on_error=not waits)
        )
        for reply in results[:-1] if waits else ():
            if isinstance(reply, Exception):
                raise (script_failure(reply) or self._backend.unavailable(reply)) from reply
        return results

    async def _durable_script(
        self, client: RedisCluster, name: str, keys: Sequence[str], args: Sequence[Any]
    ) -> Any:
        """A script on a cluster, followed on its connection by the durability wait."""
        if not self._durability.waits:
            return await self._script(client, name, keys, args)
        node = client.get_node_from_key(keys[0])
        if node is None:
            raise StoreUnavailable(f"session store cluster ({self.describe()}): slot not served")

        def queue(pipe: Any) -> None:
            # EVALSHA as a raw command: the cluster pipeline only blocks the evalsha method.
            pipe.execute_command("EVALSHA", SCRIPTS.shas[name], len(keys), *keys, *args)
            self._durability.queue(pipe, target_nodes=node)

        reply, waited = await self._waited(client, queue)
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
        key = store_keys.session_keys(session_id).idempotency
        client = await self._client()
        route = (
            {"target_nodes": client.get_node_from_key(key)}
            if isinstance(client, RedisCluster)
            else {}
        )

        def queue(pipe: Any) -> None:
            pipe.hset(key, digest, seq)
            pipe.pexpire(key, ttl_ms)
            self._durability.queue(pipe, **route)

        results = await self._waited(client, queue)
        self._durability.check(results[-1], self.describe())


async def _raising(replies: Any) -> list[Any]:
    """The replies of a pipeline, raising its first error reply (as redis-py's would)."""
    results: list[Any] = await replies
    for reply in results:
        if isinstance(reply, Exception):
            raise reply
    return results


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
