"""Run ``agentgpt serve`` as a child process on a free loopback port (demo and benchmarks)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

from agentgpt.errors import ServiceUnavailable

# The demo and the benchmarks drive many customers from one address: the per-user
# defaults are for the internet, not for a load generator on loopback.
LOAD_ENV = {
    "AGENTGPT_SERVER__ENVIRONMENT": "development",
    # The demo and load runs sign their simulated customers in through /v1/demo/token.
    "AGENTGPT_SERVER__DEMO_TOKENS": "true",
    "AGENTGPT_SERVER__RATE_PER_USER": "10000",
    "AGENTGPT_SERVER__RATE_BURST": "10000",
    "AGENTGPT_SESSIONS__MAX_CONCURRENT_SESSIONS": "1000000",
}


def free_port() -> int:
    """A port free on 127.0.0.1 right now (the server binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening_sockets(port: int) -> int | None:
    """How many TCP sockets listen on ``port`` (Linux ``/proc``); None where unknown."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            return None
        for row in rows:
            fields = row.split()
            # local_address is "HEXIP:HEXPORT"; state 0A is LISTEN.
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                count += 1
    return count


class LocalServer:
    """``agentgpt serve`` in a child process; ``async with`` starts it and waits until ready."""

    def __init__(
        self,
        *,
        port: int | None = None,
        workers: int = 1,
        env: dict[str, str] | None = None,
        ready_timeout: float = 60.0,
    ) -> None:
        """Serve on ``port`` (default: a free one) with ``env`` added to this environment."""
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.env = {**os.environ, **LOAD_ENV, **(env or {})}
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self._log = Path(tempfile.mkstemp(prefix="agentgpt-serve-", suffix=".log")[1])

    async def __aenter__(self) -> Self:
        """Start the server and wait for ``/readyz``."""
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop the server."""
        await asyncio.to_thread(self.stop)

    async def start(self) -> None:
        """Start the process; ``ServiceUnavailable`` (one line) if it exits or never gets ready."""
        self._spawn()
        try:
            await self._wait_ready()
        except ServiceUnavailable:
            await asyncio.to_thread(self.stop)
            raise

    def _spawn(self) -> None:
        argv = [
            sys.executable,
            "-m",
            "agentgpt",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]
        with self._log.open("wb") as log:
            # Our own interpreter and fixed arguments: nothing here comes from a user.
            self.proc = subprocess.Popen(argv, env=self.env, stdout=log, stderr=log)  # noqa: S603

    async def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + self.ready_timeout
        async with httpx.AsyncClient(timeout=2.0) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    code = self.proc.returncode
                    raise ServiceUnavailable(
                        f"agentgpt serve exited with code {code}: {self.last_log_line()}"
                    )
                try:
                    ready = (await http.get(self.base_url + "/readyz")).status_code == 200
                except httpx.TransportError:
                    ready = False  # not listening yet
                # /readyz answers from the first worker up. Keep-alive clients that connect
                # before the others listen stay on that worker for good (SO_REUSEPORT spreads
                # new connections only), so a load run would measure one worker.
                if ready and self._all_workers_listen():
                    return
                await asyncio.sleep(0.1)
        raise ServiceUnavailable(
            f"agentgpt serve on port {self.port} was not ready within "
            f"{self.ready_timeout:g}s: {self.last_log_line()}"
        )

    def _all_workers_listen(self) -> bool:
        listening = listening_sockets(self.port)
        return listening is None or self.workers <= 1 or listening >= self.workers

    def last_log_line(self) -> str:
        """The last non-empty line the server wrote (its error, when it failed)."""
        lines = self._log.read_text(errors="replace").strip().splitlines()
        return lines[-1].strip() if lines else "no output"

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL after 15 s) and drop its log."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.unlink(missing_ok=True)
