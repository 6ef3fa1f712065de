"""One multiplexed connection for the turn's store calls: hiredis parses, asyncio frames.

A turn makes two store round trips (acquire-and-load, commit-and-release). Through
redis-py's client each costs ~70 us of CPU for one EVALSHA and ~210 us for the commit's
pipeline of five commands on the benchmark machine (pool checkout, retry wrapper, a
timeout context per read, response callbacks, pipeline bookkeeping); the same calls
written to a socket and parsed by hiredis cost ~14 and ~42 us (bench/store_client.py).
``TurnChannel`` is that lean path, for a standalone store only:

* **one connection, pipelined**: every caller writes its command to the same socket and
  gets the replies in order (the server answers a connection's commands in order); no
  pool checkout, no per-call task or timer;
* **one write per loop iteration**: the commands of every caller that runs in the same
  pass of the event loop are sent in one ``write`` at its end (``call_soon``), so turns
  that overlap share a system call and one wake-up of the server (near saturation, when
  the queue forms, that is most of them);
* **redis-py connects it**: the connection (unix socket, TCP, TLS, AUTH, database) is
  opened and handshaken by redis-py's own connection class with the client's settings,
  then its transport is handed to a ``asyncio.Protocol`` feeding ``hiredis.Reader``;
* **same failures and retries as the client**: error replies become redis-py's exception
  classes (``NoScriptError`` ...), a lost connection or an overdue reply fails every call
  in flight with redis-py's ``ConnectionError`` / ``TimeoutError`` (so ``_guard`` maps
  them to ``StoreUnavailable``), and each call goes through the client's ``Retry``
  (the turn's scripts are written to be retried: a granted acquire or an applied commit
  is recognised by its retry).

Not used for a cluster (slots live on several nodes) nor when a commit waits for
durability (``WAITAOF``/``WAIT`` would hold every caller's replies behind it).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Sequence
from typing import Any, TypeGuard

import hiredis
from redis._parsers.base import BaseParser
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

#: How often an idle-looking but waiting connection is checked for an overdue reply, at most.
_WATCH_MIN_S = 0.05


class _Call:
    """Replies awaited by one caller: ``count`` of them, in order."""

    __slots__ = ("count", "deadline", "future", "replies")

    def __init__(self, future: asyncio.Future[list[Any]], count: int, deadline: float) -> None:
        self.future = future
        self.count = count
        self.deadline = deadline
        self.replies: list[Any] = []


class _Wire(asyncio.Protocol):
    """The protocol of one connection: writes commands, matches replies to callers (FIFO)."""

    def __init__(self, transport: asyncio.Transport, timeout: float | None) -> None:
        self.transport = transport
        self.timeout = timeout
        self.reader = hiredis.Reader(replyError=BaseParser.parse_error)
        self.calls: deque[_Call] = deque()
        self.lost: BaseException | None = None
        self._loop = asyncio.get_running_loop()
        self._watch: asyncio.TimerHandle | None = None
        #: Commands written since the last flush; sent together at the end of this pass.
        self._pending: list[bytes] = []
        #: The stream writer the transport came from (it closes the transport when collected).
        self.writer: object = None

    def send(self, payload: bytes, count: int) -> asyncio.Future[list[Any]]:
        """Write ``count`` packed commands; the future gets their replies."""
        if self.lost is not None:
            raise RedisConnectionError(f"store connection lost: {self.lost}")
        future: asyncio.Future[list[Any]] = self._loop.create_future()
        deadline = self._loop.time() + self.timeout if self.timeout else 0.0
        self.calls.append(_Call(future, count, deadline))
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(payload)
        if self.timeout and self._watch is None:
            self._watch = self._loop.call_later(self.timeout, self._check_overdue)
        return future

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if self.lost is None and pending:  # lost: _fail has failed their calls already
            self.transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def data_received(self, data: bytes) -> None:
        """Parse what arrived and hand each complete reply to its caller."""
        reader = self.reader
        reader.feed(data)
        calls = self.calls
        while (reply := reader.gets()) is not False:
            if not calls:  # a reply nobody asked for: the stream is out of step
                self._fail(RedisConnectionError("store connection out of step (unexpected reply)"))
                return
            call = calls[0]
            call.replies.append(reply)
            if len(call.replies) == call.count:
                calls.popleft()
                if not call.future.done():  # its caller may have been cancelled
                    call.future.set_result(call.replies)

    def connection_lost(self, exc: Exception | None) -> None:
        """Fail every call in flight: their replies will never come."""
        self._fail(RedisConnectionError(f"store connection closed ({exc or 'by the server'})"))

    def _check_overdue(self) -> None:
        self._watch = None
        if not self.calls or self.lost is not None:
            return
        late = self.calls[0].deadline - self._loop.time()
        if late <= 0:
            # The stream's position is unknown now: drop the connection, as redis-py does
            # after a read timeout.
            self._fail(RedisTimeoutError("store reply timed out"))
            return
        self._watch = self._loop.call_later(max(late, _WATCH_MIN_S), self._check_overdue)

    def _fail(self, error: Exception) -> None:
        if self.lost is None:
            self.lost = error
        self._pending = []
        calls, self.calls = self.calls, deque()
        for call in calls:
            if not call.future.done():
                call.future.set_exception(error)
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        self.transport.abort()


class TurnChannel:
    """Pipelined store calls on one connection of ``client``'s settings (standalone only)."""

    def __init__(self, client: Redis) -> None:
        """Describe the channel; it connects on first use (and again after a failure)."""
        self._client = client
        self._retry: Retry | None = client.get_retry()
        pool = client.connection_pool
        self._timeout: float | None = pool.connection_kwargs.get("socket_timeout")
        self._wire: _Wire | None = None
        self._connecting: asyncio.Lock | None = None

    async def execute(self, *args: Any) -> Any:
        """Run one command; an error reply is raised (redis-py's exception class)."""
        reply = (await self._with_retry(hiredis.pack_command(args), 1))[0]
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def pipeline(self, commands: Sequence[Sequence[Any]]) -> list[Any]:
        """Run ``commands`` in one write; error replies are returned in place, not raised."""
        payload = b"".join(hiredis.pack_command(tuple(c)) for c in commands)
        return await self._with_retry(payload, len(commands))

    async def evalsha(self, sha: str, numkeys: int, *keys_and_args: Any) -> Any:
        """``EVALSHA`` (what ``Scripts.call`` runs)."""
        return await self.execute("EVALSHA", sha, numkeys, *keys_and_args)

    async def script_load(self, body: str) -> Any:
        """``SCRIPT LOAD`` (what ``Scripts.load`` runs after ``NOSCRIPT``)."""
        return await self.execute("SCRIPT", "LOAD", body)

    async def aclose(self) -> None:
        """Close the connection (calls in flight fail with ``ConnectionError``)."""
        wire, self._wire = self._wire, None
        if wire is not None and wire.lost is None:
            wire.transport.close()

    async def _with_retry(self, payload: bytes, count: int) -> list[Any]:
        if self._retry is None:
            return await self._once(payload, count)
        return await self._retry.call_with_retry(lambda: self._once(payload, count), self._dropped)

    async def _once(self, payload: bytes, count: int) -> list[Any]:
        wire = self._wire
        if wire is None or wire.lost is not None:
            wire = await self._connect()
        return await wire.send(payload, count)

    async def _dropped(self, error: Exception) -> None:
        wire = self._wire
        if wire is not None and wire.lost is not None:
            self._wire = None

    async def _connect(self) -> _Wire:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            wire = self._wire
            if wire is not None and wire.lost is None:
                return wire
            pool = self._client.connection_pool
            # redis-py opens and handshakes it (TLS, AUTH, SELECT, client name) with the
            # client's own settings; then its transport is ours.
            connection = pool.connection_class(**pool.connection_kwargs)
            await connection.connect()  # type: ignore[no-untyped-call]
            writer = getattr(connection, "_writer", None)
            if writer is None:
                with contextlib.suppress(Exception):
                    await connection.disconnect()
                raise RedisConnectionError("store connection has no transport to take over")
            transport = writer.transport
            wire = _Wire(transport, self._timeout)
            transport.set_protocol(wire)
            # The transport is the wire's now. Its stream writer closes it when collected:
            # the wire keeps the writer; the connection object must let go of both (its
            # own __del__ would close a writer it still holds).
            wire.writer = writer
            connection._writer = connection._reader = None
            self._wire = wire
            return wire


def usable(client: object) -> TypeGuard[Redis]:
    """True when a ``TurnChannel`` can serve ``client`` (redis-py's standalone client)."""
    return isinstance(client, Redis) and hasattr(hiredis, "pack_command")
