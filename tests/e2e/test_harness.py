"""The e2e harness itself: a chatty ``agentgpt serve`` never blocks on its own log.

Its stderr used to be a pipe the tests read only when the server stopped: once the access
log (a line per request) filled the pipe's buffer, the next log write blocked the service's
event loop, and every request stalled until the test ended (issue 14's "40 s failover
stall").
"""

from __future__ import annotations

import httpx

from tests.e2e.conftest import start_server, stop_server


def test_a_server_logging_past_a_pipe_buffer_keeps_answering(standalone_url: str) -> None:
    base, proc = start_server(standalone_url)
    try:
        with httpx.Client(base_url=base, timeout=10.0) as http:
            # ~1,500 access-log lines: well past a pipe's 64 KiB (4 KiB once the user's
            # pipe quota is spent).
            codes = {http.get("/healthz").status_code for _ in range(1500)}
        assert codes == {200}
    finally:
        err = stop_server(proc)
    assert err.count(b"GET /healthz 200") >= 1500
