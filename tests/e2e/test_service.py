"""The service as deployed: real ``agentgpt serve`` processes on one store."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from agentgpt.security.tokens import SCOPES, TokenIssuer
from tests.e2e.conftest import start_server, stop_server

CUSTOMER = ["session:create", "session:read", "session:write"]


def _headers(issuer: TokenIssuer, user: str, scopes: list[str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {issuer.issue(user, scopes, 600)}"}


@pytest.fixture(scope="module")
def two_servers(standalone_url: str) -> Iterator[list[str]]:
    """Two ``agentgpt serve`` processes on the same store."""
    started = [start_server(standalone_url) for _ in range(2)]
    try:
        yield [base for base, _ in started]
    finally:
        for _, proc in started:
            stop_server(proc)


async def test_two_processes_behave_as_one_service(
    two_servers: list[str], issuer: TokenIssuer
) -> None:
    a, b = two_servers
    headers = _headers(issuer, "two-proc", CUSTOMER)
    async with httpx.AsyncClient(headers=headers, timeout=30) as http:
        sid = (await http.post(f"{a}/v1/sessions")).json()["id"]
        # 40 messages sent at once, alternating between the processes, each numbered.
        texts = [f"message number {i}" for i in range(40)]

        async def send(i: int) -> int:
            base = two_servers[i % 2]
            response = await http.post(f"{base}/v1/sessions/{sid}/messages",
                                       json={"text": texts[i]})  # fmt: skip
            assert response.status_code == 200, response.text
            return int(response.json()["seq"])

        seqs = await asyncio.gather(*(send(i) for i in range(40)))
        assert sorted(seqs) == list(range(1, 41))  # every message got its own turn
        turns = (await http.get(f"{b}/v1/sessions/{sid}/turns?limit=100")).json()
        assert [t["seq"] for t in turns["turns"]] == list(range(1, 41))
        # What one process wrote, the other reads; what one erases, the other cannot see.
        assert (await http.get(f"{b}/v1/sessions/{sid}")).json()["turns"] == 40
        assert (await http.delete(f"{b}/v1/sessions/{sid}")).status_code == 204
        assert (await http.get(f"{a}/v1/sessions/{sid}")).status_code == 404


async def test_messages_of_one_session_are_processed_in_arrival_order(
    live_server: str, issuer: TokenIssuer
) -> None:
    headers = _headers(issuer, "ordered", CUSTOMER)
    async with httpx.AsyncClient(headers=headers, timeout=30) as http:
        sid = (await http.post(f"{live_server}/v1/sessions")).json()["id"]
        seqs = []
        for i in range(10):  # strictly sequential sends: seq must follow send order
            reply = await http.post(f"{live_server}/v1/sessions/{sid}/messages",
                                    json={"text": f"step {i}"})  # fmt: skip
            seqs.append(reply.json()["seq"])
        assert seqs == list(range(1, 11))
        turns = (await http.get(f"{live_server}/v1/sessions/{sid}/turns")).json()["turns"]
        assert [t["user"] for t in turns] == [f"step {i}" for i in range(10)]


def test_fuzzed_requests_never_get_a_server_error(live_server: str, issuer: TokenIssuer) -> None:
    # Each operation of the served OpenAPI document is fuzzed by its own hypothesis run.
    # (Not schemathesis's pytest plugin: its lazy fixture loader breaks on pytest 9.2.)
    api = schemathesis.openapi.from_url(f"{live_server}/openapi.json")
    headers = _headers(issuer, "fuzzer", list(SCOPES))
    fuzzed = []
    for result in api.get_all_operations():
        operation = result.ok()
        if operation.path == "/v1/monitor/stream":
            continue  # never ends by design; test_monitor_stream covers it

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def fuzz(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=live_server, headers=headers,
                                   checks=[not_a_server_error])  # fmt: skip

        fuzz()
        fuzzed.append(operation.label)
    assert len(fuzzed) >= 10, fuzzed


def test_monitor_stream_sends_snapshots(live_server: str, issuer: TokenIssuer) -> None:
    token = issuer.issue("ops", ["session:monitor"], 600)
    url = f"{live_server}/v1/monitor/stream?window=5m&token={token}"
    with httpx.stream("GET", url, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = []
        for line in response.iter_lines():
            lines.append(line)
            if line.startswith("data:"):
                break
    assert "event: snapshot" in lines
    denied = httpx.get(f"{live_server}/v1/monitor/stream?token=nope", timeout=10)
    assert denied.status_code == 401
