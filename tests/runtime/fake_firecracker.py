"""A stand-in for the ``firecracker`` binary: its API socket, checked against the spec.

``fake_firecracker.py --api-sock PATH``: serves Firecracker's HTTP API on PATH, answers 400
with a ``fault_message`` to any request the specification (``firecracker_api``) refuses and
204 otherwise, and logs every request as a JSON line to ``$FAKE_FC_LOG``. On
``InstanceStart`` it plays the guest: it listens on the vsock's ``uds_path``, accepts the
host's ``CONNECT <port>`` as Firecracker does, and runs the turn protocol's worker loop
with an echo handler on that connection.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler
from socketserver import ThreadingUnixStreamServer

from agentgpt.runtime.frames import PROTOCOL_VERSION, Frame, write_frame_blocking
from agentgpt.runtime.worker import echo_handler, serve
from tests.runtime.firecracker_api import problems

VSOCK: dict[str, str] = {}


def guest(listener: socket.socket) -> None:
    """Accept the host's vsock connection, say hello, echo calls."""
    conn, _ = listener.accept()
    line = b""
    while not line.endswith(b"\n"):
        line += conn.recv(1)
    if not line.startswith(b"CONNECT "):
        return
    conn.sendall(b"OK 1073741824\n")
    write_frame_blocking(conn.fileno(), Frame(PROTOCOL_VERSION, "hello", os.getpid()))
    asyncio.run(serve(echo_handler(""), conn.fileno(), conn.fileno()))


class Api(BaseHTTPRequestHandler):
    """Firecracker's API: PUT only, JSON bodies, 204 or 400."""

    def do_PUT(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        found = problems("PUT", self.path, body)
        if self.headers.get("Content-Type") != "application/json":
            found.append("Content-Type is not application/json")
        with open(os.environ["FAKE_FC_LOG"], "a") as log:
            log.write(json.dumps({"path": self.path, "body": body, "problems": found}) + "\n")
        if found:
            answer = json.dumps({"fault_message": "; ".join(found)}).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
            return
        if self.path == "/vsock":
            VSOCK["uds_path"] = body["uds_path"]
        if self.path == "/actions" and body["action_type"] == "InstanceStart":
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(VSOCK["uds_path"])  # listening before the host can see the path
            listener.listen(1)
            threading.Thread(target=guest, args=(listener,), daemon=True).start()
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        return None


def main(argv: list[str]) -> None:
    """Serve the API socket until killed."""
    path = argv[argv.index("--api-sock") + 1]
    ThreadingUnixStreamServer.allow_reuse_address = True
    with ThreadingUnixStreamServer(path, Api) as server:
        server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
