"""The per-worker listening sockets of ``agentgpt serve --workers N`` (server/listeners.py)."""

from __future__ import annotations

import pickle
import socket

import pytest

from agentgpt.server.listeners import ReusePortSocket, reuse_port_supported

pytestmark = pytest.mark.skipif(
    not reuse_port_supported(), reason="SO_REUSEPORT balancing is Linux's"
)


def test_a_reuse_port_socket_unpickles_as_a_new_socket_at_its_address() -> None:
    parent = ReusePortSocket.bind_to("127.0.0.1", 0)
    # What uvicorn's supervisor does to hand its sockets to a spawned worker.
    worker = pickle.loads(pickle.dumps(parent))
    try:
        assert type(worker) is socket.socket
        assert worker.fileno() != parent.fileno()
        assert worker.getsockname() == parent.getsockname()
        assert worker.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
    finally:
        worker.close()
        parent.close()


def test_connections_spread_over_the_workers_sockets_and_never_reach_the_supervisors() -> None:
    parent = ReusePortSocket.bind_to("127.0.0.1", 0)
    workers = [pickle.loads(pickle.dumps(parent)) for _ in range(2)]
    clients: list[socket.socket] = []
    try:
        for sock in workers:
            sock.listen(128)
            sock.setblocking(False)
        for _ in range(64):  # one burst, as a keep-alive pool opens its connections
            clients.append(socket.create_connection(parent.getsockname(), timeout=5))
        accepted = [_accept_all(sock) for sock in workers]
        # All 64 arrived, on both sockets (the chance of one getting all 64 is 2**-63).
        assert sum(accepted) == 64
        assert min(accepted) > 0
    finally:
        for s in [*clients, *workers, parent]:
            s.close()


def test_a_taken_port_is_refused_when_bound_without_reuse_port() -> None:
    plain = socket.socket()
    plain.bind(("127.0.0.1", 0))
    try:
        with pytest.raises(OSError, match="in use"):
            ReusePortSocket.bind_to("127.0.0.1", plain.getsockname()[1])
    finally:
        plain.close()


def _accept_all(sock: socket.socket) -> int:
    count = 0
    while True:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def test_a_port_another_server_listens_on_is_refused_even_with_reuse_port() -> None:
    # Another `agentgpt serve --workers 2` on the same port: its workers listen there with
    # SO_REUSEPORT. Joining them would split their traffic; the bind must fail instead.
    first = ReusePortSocket.bind_to("127.0.0.1", 0)
    worker = pickle.loads(pickle.dumps(first))
    worker.listen(8)
    try:
        with pytest.raises(OSError, match="in use"):
            ReusePortSocket.bind_to("127.0.0.1", first.getsockname()[1])
    finally:
        worker.close()
        first.close()
