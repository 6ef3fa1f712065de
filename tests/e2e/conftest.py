"""The HTTP service: in-process (TestClient) and as real ``agentgpt serve`` processes."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import IO

import httpx
import pytest
from fastapi.testclient import TestClient

from agentgpt.config.settings import Settings
from agentgpt.security.tokens import TokenIssuer
from agentgpt.server import create_app
from tests import servers


def make_settings(url: str, **server: object) -> Settings:
    """Settings for an app on the store at ``url``."""
    values: dict[str, object] = {"rate_per_user": 1000.0, "rate_burst": 1000}
    values.update(server)
    return Settings(store_url=url, server=values)


@pytest.fixture(scope="module")
def issuer() -> TokenIssuer:
    """Mints tokens the app accepts (the test data directory's signing key)."""
    return TokenIssuer()


@pytest.fixture(scope="module")
def client(standalone_url: str) -> Iterator[TestClient]:
    """The app in-process, on the standalone Valkey."""
    with TestClient(create_app(make_settings(standalone_url))) as test_client:
        yield test_client


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"agentgpt serve exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("agentgpt serve did not become ready")


def start_server(
    store_url: str | None,
    stdout: IO[bytes] | int = subprocess.DEVNULL,
    *,
    url_in_env: bool = False,
    **env: str,
) -> tuple[str, subprocess.Popen[bytes]]:
    """Run ``agentgpt serve`` on a free port against ``store_url``; return (base URL, proc).

    ``store_url`` None: the embedded store of ``AGENTGPT_HOME``.

    ``url_in_env`` passes the URL as ``AGENTGPT_STORE_URL`` rather than ``--url`` (a command
    line is visible to every local user: how a URL with a password should be given).
    """
    # free_port() releases the port before the server binds it: another process on the
    # machine can take it in between. A server that lost that race is started again.
    for attempt in range(3):
        try:
            return _start_server(store_url, stdout, url_in_env=url_in_env, **env)
        except PortTaken:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


class PortTaken(RuntimeError):
    """The free port picked for a server was taken before the server bound it."""


def _start_server(
    store_url: str | None,
    stdout: IO[bytes] | int,
    *,
    url_in_env: bool,
    **env: str,
) -> tuple[str, subprocess.Popen[bytes]]:
    port = servers.free_port()
    environ = {**os.environ, "AGENTGPT_SERVER__RATE_PER_USER": "1000",
               "AGENTGPT_SERVER__RATE_BURST": "1000", "AGENTGPT_SERVER__DEMO_TOKENS": "true",
               **env}  # fmt: skip
    argv = [sys.executable, "-m", "agentgpt", "serve", "--port", str(port)]
    if store_url is not None and url_in_env:
        environ["AGENTGPT_STORE_URL"] = store_url
    elif store_url is not None:
        argv += ["--url", store_url]
    # stderr goes to a file, never to a pipe nobody reads while the test runs: the service
    # logs a line per request, and once a pipe's buffer (64 KiB, 4 KiB when the user's pipe
    # quota is spent) is full, its next log write blocks the event loop, and every request
    # stalls until the test drains the pipe (the "~40 s failover stall" of issue 14).
    err = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop_server / server_stderr
    proc = subprocess.Popen(argv, env=environ, stdout=stdout, stderr=err)
    _stderr[proc.pid] = err
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc)
    except RuntimeError:
        proc.kill()
        proc.wait(10)
        text = server_stderr(proc).decode(errors="replace")[-2000:]
        if "address already in use" in text:
            raise PortTaken(text) from None
        raise RuntimeError(text) from None
    return base, proc


#: The stderr file of each running server, by pid.
_stderr: dict[int, IO[bytes]] = {}


def server_stderr(proc: subprocess.Popen[bytes]) -> bytes:
    """What an exited server started by ``start_server`` wrote to stderr (read once)."""
    err = _stderr.pop(proc.pid, None)
    if err is None:
        return b""
    with err:
        err.seek(0)
        return err.read()


def stop_server(proc: subprocess.Popen[bytes]) -> bytes:
    """Stop a server started by ``start_server``; return what it wrote to stderr."""
    proc.terminate()
    try:
        proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate(timeout=5)
    return server_stderr(proc)


@pytest.fixture(scope="module")
def live_server(standalone_url: str) -> Iterator[str]:
    """One real ``agentgpt serve`` process on the standalone Valkey; yields its base URL."""
    base, proc = start_server(standalone_url)
    try:
        yield base
    finally:
        stop_server(proc)
