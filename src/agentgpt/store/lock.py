"""DistributedLock: a FIFO, leased, fenced lock on the Redis protocol.

What it guarantees
------------------
* **Mutual exclusion while the lease holds.** Acquire, renew and release are Lua scripts
  on the resource's single slot; release and renew check the holder's value, so a holder
  can never free or extend someone else's lock.
* **FIFO.** Waiters take a ticket stamped with the server's clock; when the lock frees,
  the oldest live ticket wins. Within one process, waiters on the same resource also queue
  on an ``asyncio.Lock`` (FIFO) so only the head of the local queue polls the store.
* **Fencing.** Every grant increments a counter kept next to the protected data (the
  session's metadata for ``session_<id>`` resources). The session commit only accepts the
  newest token issued, so a holder whose lease expired - paused by GC, a slow agent or a
  partition - cannot overwrite the turn of the holder that came after it.
* **Crash release.** A crashed holder's lease expires; a crashed waiter's ticket stops
  being refreshed and is dropped once its heartbeat deadline passes.

What Redis replication cannot guarantee
---------------------------------------
Replication is asynchronous: on a failover the new primary may not have seen a grant, and
two holders can then believe they hold the lock at once. The lock is an efficiency device;
**correctness rests on fencing**, which rejects the stale writer at commit time (a write
that reached the old primary only is lost with it, and was therefore never acknowledged
as committed to that writer either if ``WAIT`` is not used). Clock jumps do not break
exclusion: leases are measured by the server's own expiry, not by the clients' clocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import TracebackType

from agentgpt.errors import AgentGPTError, LockNotHeld, LockTimeout, StoreUnavailable
from agentgpt.store.buckets import Bucket
from agentgpt.store.context_store import Acquired, RedisContextStore
from agentgpt.store.keys import LockKeys, lock_keys
from agentgpt.store.tickets import new_ticket

#: Short, because the lease is renewed every third of it while the holder lives: only a
#: crashed (or stalled) holder lets it run out, and it then blocks the resource this long.
DEFAULT_LEASE = 2.0
DEFAULT_TIMEOUT = 30.0
#: How long a waiter's ticket survives without a refresh (it refreshes on every poll).
WAITER_TTL_MS = 2_000
_POLL_FIRST = 0.001
_POLL_MAX = 0.025


@dataclass(slots=True)
class _Gate:
    key: tuple[int, str]
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0
    waiting: int = 0
    holder_lease: float = DEFAULT_LEASE
    holder: DistributedLock | None = None


#: Locks held by the current task, by resource: lets a Session commit with the fencing
#: token of a lock its caller took (the guide's ``async with DistributedLock(...)`` form).
held_locks: ContextVar[dict[str, DistributedLock] | None] = ContextVar(
    "agentgpt_held_locks", default=None
)


class DistributedLock:
    """An async context manager holding a FIFO, fenced, auto-renewed lock on ``resource``.

    ``DistributedLock(resource=f"session_{session_id}")`` is the same lock that
    ``SessionManager.handle`` takes for that session's turns.
    """

    def __init__(
        self,
        resource: str,
        *,
        store: RedisContextStore | None = None,
        lease: float = DEFAULT_LEASE,
        timeout: float | None = DEFAULT_TIMEOUT,
        bucket: Bucket | None = None,
    ) -> None:
        """Describe a lock; ``lease`` and ``timeout`` in seconds (``None``: wait forever).

        ``bucket``: a caller's rate bucket to spend one token of when the attempt starts
        (in the first acquire round trip when nothing is queued here): ``RateLimited``.
        """
        self.resource = resource
        self.keys: LockKeys = lock_keys(resource)
        self.store = store if store is not None else RedisContextStore()
        self.lease_ms = max(100, int(lease * 1000))
        self.timeout = timeout
        self._bucket = bucket
        self.ticket = new_ticket()
        self.fence = 0
        self.acquired: Acquired | None = None
        self._renewer: asyncio.TimerHandle | None = None
        self._renewal: asyncio.Task[None] | None = None
        self._gate: _Gate | None = None
        self._gate_held = False
        self.lost = False
        self._queued = False
        self._renewed_at = 0.0

    @property
    def value(self) -> str:
        """The holder value stored in the lock key (ticket and fence)."""
        return f"{self.ticket}:{self.fence}"

    @property
    def held(self) -> bool:
        """True between a successful acquire and release (unless the lease was lost)."""
        return self.fence > 0 and not self.lost

    async def acquire(self) -> int:
        """Wait for the lock in FIFO order and return the fencing token."""
        if self.fence:
            raise LockNotHeld(f"lock {self.resource!r} object was already used; make a new one")
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        gate = self._enter_gate()
        try:
            if self._bucket is not None and (gate.lock.locked() or gate.waiting):
                # Queued behind a local turn: the caller is charged now, as on arrival.
                await self._spend_bucket()
            await self._wait_gate(gate, deadline)
            self.acquired = await self._poll(deadline)
        except BaseException:
            self._leave_gate()
            if self._queued:
                # A waiter that gives up must not block the queue until its ticket's
                # heartbeat lapses: withdraw it now (best effort; the TTL is the backstop).
                with contextlib.suppress(AgentGPTError):
                    await asyncio.shield(self.store.leave_queue(self.keys, self.ticket))
            raise
        self.fence = self.acquired.fence
        self._renewed_at = time.monotonic()
        self._schedule_renewal()
        locks = dict(held_locks.get() or {})
        locks[self.resource] = self
        held_locks.set(locks)
        return self.fence

    async def release(self) -> bool:
        """Release the lock; False if the lease had been lost meanwhile."""
        if not self.fence:
            return False
        self._cancel_renewal()
        locks = dict(held_locks.get() or {})
        if locks.get(self.resource) is self:
            del locks[self.resource]
            held_locks.set(locks)
        try:
            return await self.store.release(self.keys.lock, self.value) and not self.lost
        finally:
            self._leave_gate()

    def forget(self) -> None:
        """Mark released without a round trip (a commit script released it already)."""
        self._cancel_renewal()
        locks = dict(held_locks.get() or {})
        if locks.get(self.resource) is self:
            del locks[self.resource]
            held_locks.set(locks)
        self._leave_gate()

    async def __aenter__(self) -> DistributedLock:
        """Acquire on entry."""
        await self.acquire()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Release on exit (even on error)."""
        await self.release()

    # --- waiting -----------------------------------------------------------------------

    def _enter_gate(self) -> _Gate:
        key = (id(asyncio.get_running_loop()), self.keys.lock)
        gates = self.store.backend.lock_gates  # owned by the connection, not the process
        gate = gates.get(key)
        if gate is None:
            gate = gates[key] = _Gate(key)
        gate.users += 1
        self._gate = gate
        return gate

    def _leave_gate(self) -> None:
        gate, self._gate = self._gate, None
        if gate is None:
            return
        if self._gate_held:
            self._gate_held = False
            if gate.holder is self:
                gate.holder = None
            gate.lock.release()
        gate.users -= 1
        gates = self.store.backend.lock_gates
        if gate.users == 0 and gates.get(gate.key) is gate:
            del gates[gate.key]

    async def _wait_gate(self, gate: _Gate, deadline: float | None) -> None:
        # The gate only spares the store from polling by local waiters; it must not outlast
        # a lost lease. Each lease of waiting, look at the local holder: while its lease is
        # renewed (the heartbeat runs), keep the local FIFO order; once it has lost its
        # lease, go to the store directly, which grants the lock in ticket order.
        if not gate.lock.locked() and not gate.waiting:
            # Free and nobody queued here: take it without a timer (also makes a zero
            # timeout mean "try once" rather than "always fail").
            await gate.lock.acquire()
            self._take_gate(gate)
            return
        gate.waiting += 1
        try:
            while True:
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                lease = gate.holder_lease
                wait = lease if remaining is None else min(remaining, lease)
                try:
                    await asyncio.wait_for(gate.lock.acquire(), wait)
                except TimeoutError:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise self._timeout_error() from None
                    if gate.holder is not None and gate.holder.renewing:
                        continue
                    return
                self._take_gate(gate)
                return
        finally:
            gate.waiting -= 1

    @property
    def renewing(self) -> bool:
        """True while this holder's heartbeat has renewed (or taken) its lease lately."""
        return not self.lost and time.monotonic() - self._renewed_at < self.lease_ms / 1000

    def _take_gate(self, gate: _Gate) -> None:
        self._renewed_at = time.monotonic()
        self._gate_held = True
        gate.holder = self
        gate.holder_lease = self.lease_ms / 1000

    async def _poll(self, deadline: float | None) -> Acquired:
        delay = _POLL_FIRST
        while True:
            bucket, self._bucket = self._bucket, None  # the first attempt only
            reply = await self._attempt(bucket)
            if bucket is not None and reply.retry_after_ms is not None:
                raise bucket.refused(reply.retry_after_ms)
            if reply.granted:
                return reply
            self._queued = True
            if deadline is not None and time.monotonic() + delay > deadline:
                raise self._timeout_error(reply.position)
            await asyncio.sleep(delay)
            delay = min(delay * 2, _POLL_MAX)

    async def _attempt(self, bucket: Bucket | None) -> Acquired:
        """Try once to take the lock (a subclass may load its data in the same trip).

        ``bucket``: spend one of its tokens in the same round trip (first attempt only).
        """
        return await self.store.acquire(
            self.keys, self.ticket, self.lease_ms, WAITER_TTL_MS, bucket=bucket
        )

    async def _spend_bucket(self) -> None:
        bucket, self._bucket = self._bucket, None
        if bucket is not None and (retry_ms := await self.store.spend(bucket)) is not None:
            raise bucket.refused(retry_ms)

    def _timeout_error(self, position: int | None = None) -> LockTimeout:
        where = f" (position {position + 1} in the queue)" if position is not None else ""
        return LockTimeout(
            f"could not lock {self.resource!r} within {self.timeout:g}s{where}: another turn of "
            "this session is still running; retry later or raise the lock wait timeout"
        )

    # --- lease renewal -----------------------------------------------------------------

    def _schedule_renewal(self) -> None:
        # A timer instead of a task per lock: most turns end long before a third of the
        # lease, and then renewal costs nothing.
        loop = asyncio.get_running_loop()
        self._renewer = loop.call_later(self.lease_ms / 3000, self._start_renewal)

    def _start_renewal(self) -> None:
        self._renewal = asyncio.get_running_loop().create_task(self._renew())

    async def _renew(self) -> None:
        try:
            ok = await self.store.extend(self.keys.lock, self.value, self.lease_ms)
        except StoreUnavailable:
            ok = True  # keep trying: the lease may still be ours once the store answers
        if not ok:
            self.lost = True
            return
        self._renewed_at = time.monotonic()
        self._schedule_renewal()

    def _cancel_renewal(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            self._renewer = None
        if self._renewal is not None:
            self._renewal.cancel()
            self._renewal = None


def held_fence(resource: str) -> int | None:
    """Return the fencing token of ``resource`` if the current task holds its lock."""
    lock = (held_locks.get() or {}).get(resource)
    return lock.fence if lock is not None and lock.held else None
