"""uvicorn with several workers, each accepting on its own listening socket (SO_REUSEPORT).

Why: uvicorn's workers share one listening socket, and uvloop (libuv) accepts every
pending connection each time its loop wakes on it. Keep-alive clients that connect in a
burst (a gateway's pool, the load generator's 128 connections) all land on the worker
that woke first. Measured at 10,000 sessions and 1,000 turns/s with 2 workers
(docs/benchmarks.md, "Third pass, 2 Dec"): one worker held all 128 connections and the
other none, so one core served every turn (p99 ~400 ms) while the second worker idled.
With a socket per worker bound with ``SO_REUSEPORT`` the kernel spreads new connections
over the workers' sockets (by a hash of the address pair).

How: the supervisor binds the port itself with ``SO_REUSEPORT`` (a taken port fails
before any worker starts, and the port stays held while a worker restarts) and hands it
to uvicorn's supervisor, which passes its sockets to each spawned worker by pickling
them. ``ReusePortSocket`` pickles as its address and unpickles, in the worker, as a new
socket bound to that address with ``SO_REUSEPORT``; uvicorn listens on it as on any
socket it is given. The supervisor's own socket never listens, so it takes no connection.
"""

from __future__ import annotations

import logging
import socket
import sys
from typing import Any, TypeVar

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess

_S = TypeVar("_S", bound=socket.socket)


def reuse_port_supported() -> bool:
    """True where the kernel balances connections over ``SO_REUSEPORT`` sockets (Linux)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _bind(sock: _S, address: Any) -> _S:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock


def _bound(family: int, address: Any) -> socket.socket:
    """The worker's own socket at the supervisor's address (a ``ReusePortSocket`` unpickled)."""
    return _bind(socket.socket(family, socket.SOCK_STREAM), address)


class ReusePortSocket(socket.socket):
    """A bound ``SO_REUSEPORT`` socket that becomes a new one of its own in each process."""

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        """Pickle as (family, address): the worker binds its own socket there."""
        return _bound, (self.family, self.getsockname())

    @classmethod
    def bind_to(cls, host: str, port: int) -> ReusePortSocket:
        """Bind ``host:port`` with ``SO_REUSEPORT`` (IPv6 when ``host`` has a colon)."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # SO_REUSEPORT would let this bind join another server's listeners on the port
        # (same user) and split its traffic: a plain bind first refuses a port in use, as
        # uvicorn's own bind does. Port 0 asks for a free port: nothing to check.
        if port:
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind((host, port))
        return _bind(cls(family, socket.SOCK_STREAM), (host, port))


def run(app: str, *, host: str, port: int, workers: int, **options: Any) -> None:
    """``uvicorn.run(app, ...)``; with several workers on Linux, one listening socket each."""
    if workers <= 1 or not reuse_port_supported():
        uvicorn.run(app, host=host, port=port, workers=workers, **options)
        return
    config = uvicorn.Config(app, host=host, port=port, workers=workers, **options)
    try:
        sock = ReusePortSocket.bind_to(host, port)
    except OSError as exc:
        # uvicorn's own answer to a port it cannot bind (the same line, the same exit code).
        logging.getLogger("uvicorn.error").error(exc)
        sys.exit(STARTUP_FAILURE)
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()
