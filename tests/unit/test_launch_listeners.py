"""``LocalServer`` is ready only when every worker listens: ``listening_sockets`` counts them."""

from __future__ import annotations

import socket
import sys

import pytest

from agentgpt.demo.launch import listening_sockets

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _reuse_port_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def test_counts_each_listening_socket_on_the_port_and_no_bound_one() -> None:
    first = _reuse_port_socket(0)
    port = first.getsockname()[1]
    second = _reuse_port_socket(port)
    try:
        assert listening_sockets(port) == 0  # bound, not listening: takes no connection
        first.listen()
        assert listening_sockets(port) == 1
        second.listen()
        assert listening_sockets(port) == 2
    finally:
        first.close()
        second.close()
    assert listening_sockets(port) == 0
