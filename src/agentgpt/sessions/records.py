"""The turn-log entry: what the session engine appends to a session's log each turn.

The rest of what a session stores (metadata, vault records, the AEAD binding) is the
store's format: ``agentgpt.store.records``. The log entry lives here because it is built
from an agent's ``Response`` (sentiment, entities, actions), which the store must not
import. The audits (``agentgpt.operations``) sit above the sessions and decode it directly.
"""

from __future__ import annotations

import msgspec

from agentgpt.agents.response import Action, Entity, Sentiment


class TurnRecord(msgspec.Struct, kw_only=True, array_like=True):
    """One entry of the append-only turn log (PII redacted; ``prev`` chains the log)."""

    seq: int
    ts: float
    user: str
    reply: str
    intent: str | None = None
    topic: str | None = None
    confidence: float = 0.0
    sentiment: Sentiment = msgspec.field(default_factory=Sentiment)
    entities: list[Entity] = msgspec.field(default_factory=list)
    actions: list[Action] = msgspec.field(default_factory=list)
    fence: int | None = None
    latency_ms: float = 0.0
    prev: bytes = b""
