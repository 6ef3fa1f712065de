"""Request spans: a W3C ``traceparent`` makes the turn part of the caller's trace."""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from agentgpt.security.tokens import TokenIssuer
from agentgpt.server.middleware import JsonFormatter
from tests.e2e.conftest import start_server, stop_server

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"
TEXT = "my card 4111 1111 1111 1111 was stolen"
ROUTE = "/v1/sessions/{session_id}/messages"


class ListHandler(logging.Handler):
    """Keeps formatted records in memory."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def access_log() -> Iterator[ListHandler]:
    """JSON lines of the access logger while the test runs."""
    handler = ListHandler()
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("agentgpt.access")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def auth(issuer: TokenIssuer) -> dict[str, str]:
    scopes = ["session:create", "session:read", "session:write"]
    return {"Authorization": f"Bearer {issuer.issue('tracer', scopes, 600)}"}


def test_traceparent_makes_the_request_span_a_child_of_the_callers_trace(
    client: TestClient, issuer: TokenIssuer, spans: InMemorySpanExporter, access_log: ListHandler
) -> None:
    sid = client.post("/v1/sessions", headers=auth(issuer)).json()["id"]
    spans.clear()
    access_log.lines.clear()

    reply = client.post(
        f"/v1/sessions/{sid}/messages", json={"text": TEXT},
        headers={**auth(issuer), "traceparent": TRACEPARENT},
    )  # fmt: skip

    assert reply.status_code == 200, reply.text
    found = {span.name: span for span in spans.get_finished_spans()}
    request = found[f"POST {ROUTE}"]  # the template: no session id in the name
    assert request.kind is SpanKind.SERVER
    assert format(request.context.trace_id, "032x") == TRACE_ID
    assert request.parent is not None
    assert format(request.parent.span_id, "016x") == PARENT_ID
    assert request.parent.is_remote
    assert dict(request.attributes or {}) == {
        "http.request.method": "POST", "url.scheme": "http",
        "http.route": ROUTE, "http.response.status_code": 200,
    }  # fmt: skip
    turn = found["agentgpt.turn"]
    assert turn.parent is not None
    assert turn.parent.span_id == request.context.span_id
    assert turn.attributes is not None
    assert turn.attributes["session.id"] == sid
    assert TEXT not in json.dumps([json.loads(s.to_json()) for s in found.values()])
    (line,) = [json.loads(raw) for raw in access_log.lines]
    assert line["trace_id"] == TRACE_ID
    assert line["span_id"] == format(request.context.span_id, "016x")
    assert TEXT not in line["msg"]


def test_without_traceparent_each_request_starts_a_trace(
    client: TestClient, issuer: TokenIssuer, spans: InMemorySpanExporter
) -> None:
    response = client.get("/v1/sessions/sess_nope", headers=auth(issuer))
    assert response.status_code in {404, 422}
    (request,) = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert request.parent is None
    assert request.name == "GET /v1/sessions/{session_id}"
    assert request.status.is_unset  # a 4xx is the client's error (OTel HTTP conventions)


def parse_console_spans(text: str) -> list[dict[str, object]]:
    """The JSON objects the SDK's console exporter printed, one after another."""
    decoder, spans, at = json.JSONDecoder(), [], 0
    while (at := text.find("{", at)) != -1:
        span, at = decoder.raw_decode(text, at)
        spans.append(span)
    return spans


@pytest.mark.slow
def test_served_process_exports_the_trace_and_logs_its_ids(
    standalone_url: str, issuer: TokenIssuer
) -> None:
    with tempfile.TemporaryFile() as out:
        base, proc = start_server(
            standalone_url, stdout=out, AGENTGPT_TRACING__ENABLED="true",
            AGENTGPT_TRACING__EXPORTER="console", AGENTGPT_SERVER__LOG_JSON="true",
        )  # fmt: skip
        try:
            headers = auth(issuer)
            sid = httpx.post(f"{base}/v1/sessions", headers=headers, timeout=10).json()["id"]
            reply = httpx.post(
                f"{base}/v1/sessions/{sid}/messages", json={"text": TEXT},
                headers={**headers, "traceparent": TRACEPARENT}, timeout=30,
            )  # fmt: skip
            assert reply.status_code == 200, reply.text
        finally:
            err = stop_server(proc)  # the lifespan's exit flushes the batched spans
        out.seek(0)
        exported = parse_console_spans(out.read().decode())

    ours = [s for s in exported if s["context"]["trace_id"] == f"0x{TRACE_ID}"]  # type: ignore[index]
    names = {s["name"] for s in ours}
    assert {f"POST {ROUTE}", "agentgpt.turn", "agentgpt.turn.commit"} <= names
    assert TEXT not in json.dumps(exported)
    logged = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    (access,) = [e for e in logged if e["logger"] == "agentgpt.access" and ROUTE in e["msg"]]
    assert access["trace_id"] == TRACE_ID
    assert TEXT not in err.decode()
