"""Turn spans through SessionManager.handle on a real Valkey, with the real OpenTelemetry SDK."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from agentgpt import AgentPool, SessionManager
from agentgpt.agents.context import Context
from agentgpt.agents.response import Response
from agentgpt.errors import AgentError, SessionNotFound
from agentgpt.store.context_store import RedisContextStore
from tests.integration.agents_for_tests import EchoAgent

SECRET = "my IBAN is DE89370400440532013000, call me on +44 20 7946 0958"
CHILDREN = {"agentgpt.turn.lock_load", "agentgpt.turn.process", "agentgpt.turn.commit"}


class QuotingFailureAgent(EchoAgent):
    """Fails with an error message that quotes the customer's text (as careless code does)."""

    async def process(self, input: str, context: Context) -> Response:
        raise ValueError(f"cannot parse {input!r}")


def manager(store: RedisContextStore, agent: type[EchoAgent] = EchoAgent) -> SessionManager:
    m = SessionManager(store=store)
    m.agents = AgentPool(agent, min_ready=1, max_connections=4)  # type: ignore[attr-defined]
    return m


def every_value(span: ReadableSpan) -> Iterator[str]:
    """Every attribute value of the span and of its events, as text."""
    yield span.name
    for value in (span.attributes or {}).values():
        yield str(value)
    for event in span.events:
        for value in (event.attributes or {}).values():
            yield str(value)
    if span.status.description:
        yield span.status.description


def by_name(spans: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    return {span.name: span for span in spans.get_finished_spans()}


async def test_turn_span_tree(
    standalone_store: RedisContextStore, spans: InMemorySpanExporter
) -> None:
    m = manager(standalone_store)
    session = await m.create_session("user-trace")
    spans.clear()  # only the turn's spans from here

    response = await m.handle(session.id, SECRET)

    # The agent saw the message (redacted by the pipeline: raw PII never reaches it) ...
    assert "my IBAN is <IBAN_1>" in response.reply
    found = by_name(spans)
    assert set(found) == {"agentgpt.turn", *CHILDREN}
    turn = found["agentgpt.turn"]
    assert turn.parent is None  # no request around it: a root span
    assert turn.attributes is not None
    assert turn.attributes["session.id"] == session.id
    assert turn.attributes["agentgpt.turn.seq"] == 1
    assert turn.status.status_code is StatusCode.UNSET
    for name in CHILDREN:
        child = found[name]
        assert child.parent is not None
        assert child.parent.span_id == turn.context.span_id
        assert child.context.trace_id == turn.context.trace_id
    ordered = sorted(CHILDREN, key=lambda name: found[name].start_time or 0)
    assert ordered == ["agentgpt.turn.lock_load", "agentgpt.turn.process", "agentgpt.turn.commit"]
    for span in found.values():  # ... but no span carries it, nor any part of it
        for value in every_value(span):
            assert "DE89" not in value
            assert "7946" not in value


async def test_failed_agent_marks_spans_without_quoting_the_text(
    standalone_store: RedisContextStore, spans: InMemorySpanExporter
) -> None:
    m = manager(standalone_store, QuotingFailureAgent)
    session = await m.create_session("user-trace-fail")
    spans.clear()

    with pytest.raises(AgentError):
        await m.handle(session.id, SECRET)

    found = by_name(spans)
    assert set(found) == {"agentgpt.turn", "agentgpt.turn.lock_load", "agentgpt.turn.process"}
    for name in ("agentgpt.turn", "agentgpt.turn.process"):
        assert found[name].status.status_code is StatusCode.ERROR
        (event,) = found[name].events
        assert event.attributes is not None
        assert event.attributes["agentgpt.error.code"] == AgentError.code
    for span in found.values():
        for value in every_value(span):
            assert "DE89" not in value


async def test_wrong_owner_fails_the_load_span(
    standalone_store: RedisContextStore, spans: InMemorySpanExporter
) -> None:
    m = manager(standalone_store)
    session = await m.create_session("user-owner")
    spans.clear()

    with pytest.raises(SessionNotFound):
        await m.handle(session.id, "hello", owner="someone-else")

    found = by_name(spans)
    assert set(found) == {"agentgpt.turn", "agentgpt.turn.lock_load"}
    assert found["agentgpt.turn.lock_load"].status.status_code is StatusCode.ERROR
    # The lock was released on the way out: the owner's next turn goes straight through.
    assert (await m.handle(session.id, "hello", owner="user-owner", lock_wait=0)).seq == 1
