"""What the client pays to decode an answer since the wire models are defined once.

``agentgpt.client`` used to decode responses into its own msgspec Structs; it now decodes
them into the server's pydantic models (``agentgpt.wire``). Prints one JSON line with the
CPU per decode of a typical ``POST .../messages`` answer and of a monitor snapshot, for
both: ``*_wire_us`` (``Model.model_validate_json``, what the client does now) and
``*_msgspec_us`` (the former client Structs, reproduced here as the baseline), median of
``--repeats`` timings of ``--number`` decodes each.

    python bench/wire_decode.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import timeit
from typing import Any

import msgspec

from agentgpt.wire import MonitorOut, TurnOut


class Sentiment(msgspec.Struct, frozen=True):
    """The former client Struct (baseline)."""

    label: str
    score: float


class Entity(msgspec.Struct, frozen=True):
    """The former client Struct (baseline)."""

    kind: str
    placeholder: str


class Turn(msgspec.Struct, frozen=True):
    """The former client Struct (baseline)."""

    session_id: str
    seq: int
    reply: str
    intent: str | None
    confidence: float
    topic: str | None
    sentiment: Sentiment
    entities: list[Entity]
    actions: list[str]
    redacted_input: str | None


class Latency(msgspec.Struct, frozen=True):
    """The former client Struct (baseline)."""

    avg_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


class TopicShare(msgspec.Struct, frozen=True):
    """The former client Struct (baseline)."""

    topic: str
    turns: int
    share: float
    trend: str | None = None


class Alert(msgspec.Struct, frozen=True):
    """The former client Struct (baseline)."""

    id: str
    rule: str
    severity: str
    subject: str
    message: str
    at: float
    acknowledged: bool


class Trend(msgspec.Struct, frozen=True):
    """The former client Struct (baseline; its ratio could not be null)."""

    kind: str
    subject: str
    ratio: float
    p_value: float


class Snapshot(msgspec.Struct, frozen=True):
    """The former client Struct (baseline)."""

    window: str
    at: float
    active_sessions: int
    turns: int
    turns_per_s: float
    latency: Latency
    topics: list[TopicShare]
    sentiment_avg: float | None
    escalation_rate: float | None
    alerts: list[Alert]
    trends: list[Trend]
    dropped_events: int


TURN = {
    "session_id": "sess_KtGNtGNGzkVtpZl6VRUWkSdFD2vi15YQ",
    "seq": 7,
    "reply": "I've blocked your card ending 4242 and ordered a replacement; it arrives in "
    "3-5 working days. Is there anything else I can help with?",
    "intent": "lost_or_stolen_card",
    "confidence": 0.93,
    "topic": "Card issues",
    "sentiment": {"label": "negative", "score": -0.42},
    "entities": [{"kind": "IBAN", "placeholder": "<IBAN_1>"}],
    "actions": ["block_card", "order_card"],
    "redacted_input": "My card was stolen, send the refund to <IBAN_1>",
}
SNAPSHOT = {
    "window": "15m",
    "at": 1764633600.0,
    "active_sessions": 10213,
    "turns": 48211,
    "turns_per_s": 53.6,
    "latency": {"avg_ms": 41.2, "p50_ms": 33.0, "p95_ms": 88.1, "p99_ms": 140.9},
    "topics": [
        {"topic": t, "turns": 4000 + i, "share": 12.5, "trend": None}
        for i, t in enumerate(("Password & access", "Fraud alerts", "Card issues", "Transfers"))
    ],
    "sentiment_avg": 0.05,
    "escalation_rate": 0.04,
    "alerts": [
        {
            "id": f"al_{i}",
            "rule": "critical_surge",
            "severity": "critical",
            "subject": "Fraud alerts",
            "message": "Fraud alerts: 60 turns in 5 min",
            "at": 1764633000.0 + i,
            "acknowledged": False,
        }
        for i in range(3)
    ],
    "trends": [{"kind": "surge", "subject": "Fraud alerts", "ratio": 3.1, "p_value": 1e-6}],
    "dropped_events": 0,
}


def per_decode_us(decode: Any, body: bytes, number: int, repeats: int) -> float:
    """Median CPU microseconds of one ``decode(body)`` over ``repeats`` timings.

    Process CPU time, not wall time: on a shared, loaded machine the wall clock counts the
    time other processes hold the core.
    """
    times = timeit.repeat(
        lambda: decode(body), number=number, repeat=repeats, timer=time.process_time
    )
    return round(statistics.median(times) / number * 1e6, 2)


def main() -> None:
    """Time both decoders on both bodies; print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    turn, snapshot = json.dumps(TURN).encode(), json.dumps(SNAPSHOT).encode()
    turn_struct = msgspec.json.Decoder(Turn).decode
    snapshot_struct = msgspec.json.Decoder(Snapshot).decode
    # Both decoders must read the same thing before their times mean anything.
    assert msgspec.to_builtins(turn_struct(turn)) == TurnOut.model_validate_json(turn).model_dump()
    assert MonitorOut.model_validate_json(snapshot).model_dump() == SNAPSHOT
    n, r = args.number, args.repeats
    print(
        json.dumps(
            {
                "turn_wire_us": per_decode_us(TurnOut.model_validate_json, turn, n, r),
                "turn_msgspec_us": per_decode_us(turn_struct, turn, n, r),
                "snapshot_wire_us": per_decode_us(MonitorOut.model_validate_json, snapshot, n, r),
                "snapshot_msgspec_us": per_decode_us(snapshot_struct, snapshot, n, r),
                "turn_bytes": len(turn),
                "snapshot_bytes": len(snapshot),
            }
        )
    )


if __name__ == "__main__":
    main()
