"""A hostile custom agent (issue 18): each message names an attack it then carries out.

It implements the Agent protocol for real; run in an isolated worker, each attack must be
contained: ``spin`` (busy loop), ``alloc`` (2 GiB), ``fork`` (fork bomb), ``daemon`` (an
orphaned grandchild that sleeps on), ``read <path>``
(another session's files), ``connect <host> <port>`` (a socket to the store), ``scribble``
(a file in /tmp, to check the next worker starts clean). Anything else is echoed.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Sequence

from agentgpt.agents.context import Context
from agentgpt.agents.response import Response

SPIN_SECONDS = 30.0
MARK = "/tmp/hostile-mark"


class HostileAgent:
    """Does what the message asks, however harmful; reports what it managed."""

    def __init__(self) -> None:
        self.capabilities: frozenset[str] = frozenset()

    def configure(self, capabilities: Sequence[str]) -> None:
        self.capabilities = frozenset(capabilities)

    def reset(self) -> None:
        return None

    def holds_state(self) -> bool:
        return False

    async def process(self, input: str, context: Context) -> Response:
        verb, _, rest = input.partition(" ")
        attack = getattr(self, f"_{verb}", None)
        reply = attack(rest) if attack is not None else f"echo:{input}|{context.turns}"
        return Response(reply=reply, intent=verb, topic="test")

    def _spin(self, _: str) -> str:
        until = time.monotonic() + SPIN_SECONDS
        while time.monotonic() < until:
            pass
        return "spun"

    def _alloc(self, _: str) -> str:
        hoard = bytearray(2 * 2**30)
        for i in range(0, len(hoard), 4096):  # touch every page: really resident
            hoard[i] = 1
        return f"allocated {len(hoard)}"

    def _fork(self, _: str) -> str:
        children, refused = 0, 0
        for _attempt in range(10_000):
            try:
                pid = os.fork()
            except OSError:
                refused += 1
                if refused > 50:
                    break
                continue
            if pid == 0:  # the child: sleep and never exit cleanly
                time.sleep(60)
                os._exit(0)
            children += 1
        return f"forked {children} refused {refused}"

    def _daemon(self, _: str) -> str:
        """Double fork: the grandchild is orphaned (re-parented) and sleeps on."""
        child = os.fork()
        if child == 0:
            if os.fork() == 0:
                time.sleep(60)
            os._exit(0)
        os.waitpid(child, 0)
        return "daemonized"

    def _pid(self, _: str) -> str:
        return f"pid:{os.getpid()}"

    def _read(self, path: str) -> str:
        try:
            with open(path, "rb") as handle:
                return "read:" + handle.read(200).hex()
        except OSError as exc:
            return f"denied:{type(exc).__name__}"

    def _listdir(self, path: str) -> str:
        try:
            return "listed:" + ",".join(sorted(os.listdir(path)))
        except OSError as exc:
            return f"denied:{type(exc).__name__}"

    def _connect(self, target: str) -> str:
        host, _, port = target.partition(" ")
        try:
            with socket.create_connection((host, int(port)), timeout=2) as conn:
                conn.sendall(b"PING\r\n")
                return "connected:" + conn.recv(64).decode(errors="replace")
        except OSError as exc:
            return f"refused:{type(exc).__name__}:{exc.errno}"

    def _scribble(self, text: str) -> str:
        previous = ""
        with contextlib.suppress(FileNotFoundError), open(MARK) as handle:
            previous = handle.read()
        with open(MARK, "w") as handle:
            handle.write(text)
        return f"previous:{previous}"
