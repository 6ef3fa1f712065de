"""``agentgpt serve --workers 2``: a burst of keep-alive connections is served by both workers."""

from __future__ import annotations

import asyncio
import contextlib
import time
from urllib.parse import urlsplit

import psutil
import pytest

from agentgpt.server.listeners import reuse_port_supported
from tests.e2e.conftest import start_server, stop_server

pytestmark = pytest.mark.skipif(
    not reuse_port_supported(), reason="SO_REUSEPORT balancing is Linux's"
)


def _workers(pid: int) -> list[psutil.Process]:
    workers = []
    for child in psutil.Process(pid).children():
        try:  # a short-lived child (or one that just ended) is not a worker
            if child.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(child.cmdline()):
                workers.append(child)
        except psutil.Error:
            continue
    return workers


def _listening(proc: psutil.Process, port: int) -> bool:
    return any(
        c.status == psutil.CONN_LISTEN and c.laddr.port == port
        for c in proc.net_connections(kind="tcp")
    )


def _established(proc: psutil.Process, port: int) -> int:
    return sum(
        1
        for c in proc.net_connections(kind="tcp")
        if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port
    )


async def _get_healthz(port: int) -> tuple[bytes, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /healthz HTTP/1.1\r\nhost: test\r\n\r\n")
    await writer.drain()
    status = await reader.readline()
    return status, writer  # kept open: a keep-alive connection


async def test_a_burst_of_connections_lands_on_both_workers(standalone_url: str) -> None:
    base, proc = start_server(standalone_url, AGENTGPT_SERVER__WORKERS="2")
    port = urlsplit(base).port
    assert port is not None
    writers: list[asyncio.StreamWriter] = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # /readyz answered: one worker is up, maybe not both
            workers = _workers(proc.pid)
            with contextlib.suppress(psutil.Error):  # a worker that just ended
                if len(workers) == 2 and all(_listening(w, port) for w in workers):
                    break
            await asyncio.sleep(0.1)
        else:
            pytest.fail("the two workers did not both listen within 30 s")
        # The supervisor holds the port but never listens on it (with one shared socket it did,
        # and a burst could land on one worker: the balance below is then only luck).
        assert not _listening(psutil.Process(proc.pid), port)
        # 64 connections at once: with one shared socket the first worker to wake took them all.
        replies = await asyncio.gather(*(_get_healthz(port) for _ in range(64)))
        writers = [w for _, w in replies]
        assert all(status.startswith(b"HTTP/1.1 200") for status, _ in replies)
        held = [_established(w, port) for w in workers]
        assert sum(held) == 64
        assert min(held) > 0, held
    finally:
        for w in writers:
            w.close()
        stop_server(proc)
