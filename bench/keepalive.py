"""A lean HTTP/1.1 keep-alive client for load generation on the same machine as the service.

Why not httpx (the SDK's transport): on the 2-core benchmark machine httpx + httpcore cost
2.3-2.7 ms of CPU per request, more than the service spends on the turn it measures, so the
load generator, not the service, set the ceiling. This client does only what a benchmark
needs: one request at a time per connection, ``Content-Length`` bodies (no chunked
requests), responses parsed by ``httptools`` (the parser uvicorn uses), a fixed set of
connections handed out through a queue. It is not a general HTTP client.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlsplit

import httptools


class ConnectionLost(Exception):
    """The server closed the connection before the response was complete."""


@dataclass
class Reply:
    """Status and body of one response."""

    status: int
    body: bytes
    headers: dict[bytes, bytes] = field(default_factory=dict)


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request in flight at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[Reply] | None = None
        self._body: list[bytes] = []
        self._headers: dict[bytes, bytes] = {}

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionLost(f"bad response: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._fail(ConnectionLost("connection closed by the server"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.lower()] = value

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        reply = Reply(self.parser.get_status_code(), b"".join(self._body), self._headers)
        self._body, self._headers = [], {}
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(reply)

    def _fail(self, exc: Exception) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def send(self, raw: bytes) -> asyncio.Future[Reply]:
        if self.transport is None:
            raise ConnectionLost("connection is closed")
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return self.waiter


class KeepAlivePool:
    """``size`` keep-alive connections to one ``http://host:port``; requests wait for one."""

    def __init__(self, base_url: str, size: int) -> None:
        """Connect lazily on first use."""
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"only http://host:port URLs are supported, not {base_url!r}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.size = size
        # Free slots (None: not connected yet) and callers waiting for one, served in
        # order: asyncio.Queue would let a caller arriving just after a release take the
        # connection ahead of those already waiting (and starve them).
        self._idle: deque[_Connection | None] = deque([None] * size)
        self._waiters: deque[asyncio.Future[_Connection | None]] = deque()
        self._all: list[_Connection] = []
        self._host_header = f"{self.host}:{self.port}".encode()

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Reply:
        """Send one request and return its reply (``ConnectionLost`` if the server hung up)."""
        raw = self._encode(method, path, body, headers or {})
        conn = await self._checkout()
        try:
            if conn is None or conn.transport is None:
                conn = await self._connect()
            reply = await conn.send(raw)
        except BaseException:
            if conn is not None and conn.transport is not None:
                conn.transport.close()  # its state is unknown: do not reuse it
            self._checkin(None)
            raise
        self._checkin(conn)
        return reply

    async def _checkout(self) -> _Connection | None:
        if self._idle and not self._waiters:
            return self._idle.popleft()
        waiter: asyncio.Future[_Connection | None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._checkin(waiter.result())  # handed over as we were cancelled
            raise

    def _checkin(self, conn: _Connection | None) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append(conn)

    def _encode(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
        lines = [f"{method} {path} HTTP/1.1".encode(), b"host: " + self._host_header]
        lines += [f"{k}: {v}".encode() for k, v in headers.items()]
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(b"content-length: " + str(len(body)).encode())
        return b"\r\n".join(lines) + b"\r\n\r\n" + body

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(_Connection, self.host, self.port)
        self._all.append(conn)
        return conn

    async def aclose(self) -> None:
        """Close every connection."""
        for conn in self._all:
            if conn.transport is not None:
                conn.transport.close()
        self._all.clear()
