"""The worker process: ``python -m agentgpt.runtime.worker MODULE:FACTORY [ARG]``.

It keeps the protocol on private copies of stdin/stdout and points fd 1 at stderr, so an
agent that prints cannot corrupt a frame. ``FACTORY(ARG)`` returns the handler (an async
bytes -> bytes) once, before ``hello``: imports and models load while the worker is still idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable

from agentgpt.runtime.frames import (
    PROTOCOL_VERSION,
    Frame,
    read_frame_blocking,
    write_frame_blocking,
)

Handler = Callable[[bytes], Awaitable[bytes]]
#: Set by drivers that give the worker its own pid namespace: after every turn, every
#: other process in it (what the agent forked) is killed, so nothing outlives a turn.
REAP_ENV = "AGENTGPT_WORKER_REAP"


def load_handler(spec: str, arg: str) -> Handler:
    """Import ``module:factory`` and call it with ``arg``."""
    module_name, _, attr = spec.partition(":")
    factory = getattr(importlib.import_module(module_name), attr)
    handler: Handler = factory(arg)
    return handler


def echo_handler(_: str) -> Handler:
    """A handler that answers each body with itself: the bare round trip of a worker."""

    async def echo(body: bytes) -> bytes:
        return body

    return echo


async def serve(handler: Handler, fd_in: int, fd_out: int) -> None:
    """Answer calls until the service closes the pipe.

    One task for the worker's life: each call awaits the handler in it (no task and no
    loop pass per call unless the agent really waits). The reads block the loop on
    purpose: between calls this worker has nothing else to run.
    """
    while (frame := read_frame_blocking(fd_in)) is not None:
        try:
            reply = Frame(PROTOCOL_VERSION, "reply", frame.id, await handler(frame.body))
        except Exception as exc:  # the agent's failure is reported, the worker goes on
            reply = Frame(PROTOCOL_VERSION, "error", frame.id, error=_describe(exc))
        if os.environ.get(REAP_ENV) == "1":
            reap_others()
        write_frame_blocking(fd_out, reply)


def reap_others(time_limit: float = 1.0) -> None:
    """Kill and reap every process of the pid namespace but its init (1) and this worker.

    Under ``--as-pid-1`` the worker is the namespace's init: every other process in it is a
    descendant, and orphans come back to it, so "no child" means nothing is left (one
    waitpid, no /proc sweep) and the killed are reaped here before the reply goes out.
    """
    until = time.monotonic() + time_limit
    while True:
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass  # reap the dead
        except ChildProcessError:
            if os.getpid() == 1:
                return
        if time.monotonic() > until:
            return  # still dying: the cgroup kills them when the worker goes
        keep = {1, os.getpid()}
        pids = [int(e) for e in os.listdir("/proc") if e.isdigit() and int(e) not in keep]
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.001)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def main(argv: list[str]) -> int:
    """Load the handler, say hello, serve."""
    fd_in, fd_out = os.dup(0), os.dup(1)
    os.dup2(2, 1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    try:
        handler = load_handler(argv[0], argv[1] if len(argv) > 1 else "")
    except Exception as exc:  # reported to the service as the reason the worker failed
        write_frame_blocking(fd_out, Frame(PROTOCOL_VERSION, "error", error=_describe(exc)))
        return 1
    write_frame_blocking(fd_out, Frame(PROTOCOL_VERSION, "hello", os.getpid()))
    asyncio.run(serve(handler, fd_in, fd_out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
