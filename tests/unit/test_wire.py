"""The API's wire models: one definition, what the server writes the client reads back."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from agentgpt import wire
from agentgpt.client import AsyncClient, Snapshot, Turn
from agentgpt.config.settings import Settings
from agentgpt.server import create_app

finite = st.floats(allow_nan=False, allow_infinity=False)
maybe_text = st.none() | st.text(max_size=40)
turns = st.builds(
    wire.TurnOut,
    session_id=st.text(min_size=1, max_size=40),
    seq=st.integers(min_value=1, max_value=2**53),
    reply=st.text(max_size=200),
    intent=maybe_text,
    confidence=finite,
    topic=maybe_text,
    sentiment=st.builds(wire.SentimentOut, label=st.text(max_size=10), score=finite),
    entities=st.lists(
        st.builds(wire.EntityOut, kind=st.text(max_size=10), placeholder=st.text(max_size=20)),
        max_size=4,
    ),
    actions=st.lists(st.text(max_size=20), max_size=4),
    redacted_input=maybe_text,
)


@given(turns)
def test_a_turn_the_server_writes_decodes_to_the_same_turn_in_the_client(turn: Turn) -> None:
    assert Turn is wire.TurnOut  # the SDK's name for the same class
    assert Turn.model_validate_json(turn.model_dump_json()) == turn


def test_every_schema_of_the_api_is_a_wire_model() -> None:
    spec = create_app(Settings()).openapi()
    names = set(spec["components"]["schemas"]) - {"HTTPValidationError", "ValidationError"}
    assert "TurnOut" in names  # FastAPI's own two aside, every body is one of ours
    for name in names:
        model = getattr(wire, name, None)
        assert isinstance(model, type), name
        assert issubclass(model, wire.WireModel), name


MONITOR = {
    "window": "5m",
    "at": 1.0,
    "active_sessions": 3,
    "turns": 60,
    "turns_per_s": 0.2,
    "latency": {"avg_ms": None, "p50_ms": None, "p95_ms": None, "p99_ms": None},
    "topics": [{"topic": "Fraud alerts", "turns": 60, "share": 100.0, "trend": "surge"}],
    "sentiment_avg": None,
    "escalation_rate": 0.0,
    "alerts": [],
    # A surge from zero: the server writes ratio null (tests/e2e/test_monitor_strict.py).
    "trends": [{"kind": "surge", "subject": "Fraud alerts", "ratio": None, "p_value": 0.0}],
    "dropped_events": 0,
}


async def test_the_client_reads_a_surge_from_zero() -> None:
    # The client's own copy of the model had ``ratio: float``: a null ratio failed to
    # decode, so monitor() raised on exactly the snapshot an operator needs.
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=json.dumps(MONITOR).encode())

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    async with AsyncClient("http://service.test", "token", http=http) as client:
        snap = await client.monitor("5m")
    await http.aclose()
    assert isinstance(snap, Snapshot)
    assert snap.trends[0].ratio is None
    with pytest.raises(ValidationError, match="frozen"):
        snap.turns = 0  # type: ignore[misc]
