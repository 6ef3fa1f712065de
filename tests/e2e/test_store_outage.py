"""A cluster losing its masters behind a running ``agentgpt serve``, then coming back.

``/readyz`` is 503 while any slot is not served (one master stopped, then all of them), every
route that needs the store is a 503 problem+json (never a 500), ``/healthz`` stays 200
(liveness), and everything recovers once the masters return, without restarting the service.
The masters keep an AOF, so the session of before the outage takes its next turn after it.
"""

from __future__ import annotations

import time

import httpx
import pytest

from agentgpt.security.tokens import TokenIssuer
from tests import servers
from tests.e2e.conftest import start_server, stop_server

pytestmark = [pytest.mark.cluster, pytest.mark.slow]
CUSTOMER = ("session:create", "session:read", "session:write")
PROBLEM = "application/problem+json"


def _unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["type"] == "urn:agentgpt:problem:store-unavailable"


def _wait_ready(base: str, timeout: float = 60.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        ready = httpx.get(f"{base}/readyz", timeout=30)
        if ready.status_code == 200 or time.monotonic() > deadline:
            return ready
        time.sleep(0.2)


def test_readyz_and_turns_are_503_while_masters_are_down_and_recover(
    issuer: TokenIssuer,
) -> None:
    headers = {"Authorization": f"Bearer {issuer.issue('alice', CUSTOMER, 600)}"}
    with servers.restartable_cluster(3, "--appendonly", "yes", "--appendfsync", "always") as c:
        base, proc = start_server("redis+cluster://" + ",".join(c.nodes))
        try:
            sid = httpx.post(f"{base}/v1/sessions", headers=headers).json()["id"]
            turn = f"{base}/v1/sessions/{sid}/messages"
            first = httpx.post(turn, json={"text": "hi"}, headers=headers, timeout=30)
            assert first.status_code == 200, first.text

            c.stop(0)  # one master: its slots are not served any more
            ready = httpx.get(f"{base}/readyz", timeout=30)
            assert ready.status_code == 503
            assert ready.json()["checks"]["store"] == "unavailable"

            c.stop()  # every master
            ready = httpx.get(f"{base}/readyz", timeout=30)
            assert ready.status_code == 503
            assert ready.json()["checks"]["store"] == "unavailable"
            _unavailable(httpx.post(turn, json={"text": "still there?"}, headers=headers,
                                    timeout=30))  # fmt: skip
            _unavailable(httpx.post(f"{base}/v1/sessions", headers=headers, timeout=30))
            _unavailable(httpx.get(f"{base}/v1/sessions/{sid}", headers=headers, timeout=30))
            assert httpx.get(f"{base}/healthz", timeout=30).status_code == 200

            c.start()
            c.wait_ok()
            assert _wait_ready(base).status_code == 200
            again = httpx.post(turn, json={"text": "back again"}, headers=headers, timeout=30)
            assert again.status_code == 200, again.text
            assert again.json()["seq"] == 2
            assert httpx.post(f"{base}/v1/sessions", headers=headers).status_code == 201
        finally:
            err = stop_server(proc).decode(errors="replace")
    assert "Traceback" not in err, err[-3000:]
    assert "not ready: session store" in err  # the operator's log names why
