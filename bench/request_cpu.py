"""CPU per request of the service, in-process: the turn alone, the framework, the whole route.

Builds the FastAPI app with ``create_app()`` on a fresh data directory (embedded Valkey),
runs its lifespan, and calls it as an ASGI application directly (no sockets, no HTTP
parsing), sequentially, so each figure is CPU time of this process per call (the NLU
worker thread included; Valkey's own CPU not). Prints one JSON line:

* ``handle_ms``: ``SessionManager.handle`` alone (lock, load, decrypt, NLU agent, encrypt,
  commit, analytics event);
* ``healthz_ms``: the cheapest route (middleware, routing, a small JSON response);
* ``post_message_ms``: ``POST /v1/sessions/{id}/messages`` (token check, rate-limit
  script, validation, the turn, serialisation).

``post_message_ms - handle_ms`` is what the HTTP layer adds per turn.

    python bench/request_cpu.py --calls 1000
"""

from __future__ import annotations

import sys
from pathlib import Path

# a module here could shadow a stdlib one (bench/http.py did) (see that file): drop this
# folder from the path before anything imports it.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

import uvloop

MESSAGE = "I lost my card, please block it"


# A minimal ASGI call rather than httpx's ASGITransport: the figure is this process's CPU,
# and httpx would add its own ~2 ms per request on the benchmark machine to it.
async def call(app: Any, method: str, path: str, body: bytes = b"",
               headers: tuple[tuple[bytes, bytes], ...] = ()) -> tuple[int, bytes]:  # fmt: skip
    """One ASGI HTTP request; returns status and body."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
        "headers": [(b"host", b"bench"), (b"content-length", str(len(body)).encode()),
                    (b"content-type", b"application/json"), *headers],
    }  # fmt: skip
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # never disconnects
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        else:
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def cpu_ms(fn: Callable[[], Awaitable[Any]], calls: int) -> float:
    """CPU milliseconds of this process per ``fn()`` call, after a warm-up."""
    for _ in range(min(100, calls)):
        await fn()
    started = time.process_time()
    for _ in range(calls):
        await fn()
    return (time.process_time() - started) / calls * 1000


async def main_async(calls: int) -> dict[str, Any]:
    """Start the app, open a session, time the three paths."""
    from agentgpt.server.app import create_app

    app = create_app()
    async with app.router.lifespan_context(app):
        _, body = await call(app, "POST", "/v1/demo/token", b'{"user": "bench"}')
        auth = ((b"authorization", b"Bearer " + json.loads(body)["token"].encode()),)
        status, body = await call(app, "POST", "/v1/sessions", headers=auth)
        assert status == 201, body
        session_id = json.loads(body)["id"]
        manager = app.state.services.manager
        message = json.dumps({"text": MESSAGE}).encode()
        path = f"/v1/sessions/{session_id}/messages"

        async def post() -> None:
            status, body = await call(app, "POST", path, message, auth)
            assert status == 200, body

        return {
            "calls": calls,
            "handle_ms": round(await cpu_ms(lambda: manager.handle(session_id, MESSAGE), calls), 3),
            "healthz_ms": round(await cpu_ms(lambda: call(app, "GET", "/healthz"), calls), 3),
            "post_message_ms": round(await cpu_ms(post, calls), 3),
        }


def main() -> None:
    """Parse arguments, run on a fresh data directory, print one JSON line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    os.environ["AGENTGPT_HOME"] = tempfile.mkdtemp(prefix="agentgpt-bench-cpu-")
    os.environ.setdefault("AGENTGPT_SERVER__ENVIRONMENT", "development")
    os.environ["AGENTGPT_SERVER__RATE_PER_USER"] = "1000000"
    os.environ["AGENTGPT_SERVER__RATE_BURST"] = "1000000"
    print(json.dumps(uvloop.run(main_async(args.calls))))


if __name__ == "__main__":
    main()
