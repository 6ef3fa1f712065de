"""The turn-log entry, and the record types the audits decode a session's records as.

The rest of what a session stores (metadata, vault records, the AEAD binding) is the
store's format: ``agentgpt.store.records``. The log entry lives here because it is built
from an agent's ``Response`` (sentiment, entities, actions), which the store must not
import; for the same reason ``RECORD_TYPES`` hands the context and log-entry types to the
security audits, which sit below the agents and the sessions.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from agentgpt.agents.context import Context
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


@dataclass(frozen=True)
class SessionRecordTypes:
    """The types a session's records are written as (``security.protocols.RecordTypes``)."""

    context: type[Context] = Context
    log_entry: type[TurnRecord] = TurnRecord


#: What to pass as ``records=`` to ``security.verify`` and ``security.leakage_scan``.
RECORD_TYPES = SessionRecordTypes()
