"""The wire models (``agentgpt.wire``) built from the engine's domain objects.

The wire models import no part of the engine, so the conversions live here, on the side
that has both: an agent's ``Response``, a loaded ``Session``, a log entry, an analytics
snapshot, a region's resource policy.
"""

from __future__ import annotations

from agentgpt.agents.context import Exchange
from agentgpt.agents.response import Response, Sentiment
from agentgpt.analytics import Snapshot
from agentgpt.analytics.snapshot_view import snapshot_view
from agentgpt.runtime import ResourcePolicy
from agentgpt.runtime.policy import format_memory
from agentgpt.sessions.records import TurnRecord
from agentgpt.sessions.session import Session
from agentgpt.wire import (
    EntityOut,
    ExchangeOut,
    LimitsOut,
    MonitorOut,
    SentimentOut,
    SessionOut,
    TurnOut,
    TurnRecordOut,
)


def sentiment_out(sentiment: Sentiment) -> SentimentOut:
    """The wire form of a message's polarity."""
    return SentimentOut(label=sentiment.label, score=sentiment.score)


def turn_out(session_id: str, seq: int, response: Response) -> TurnOut:
    """The answer to one message, from an agent ``Response`` (``sensitive`` values left out)."""
    return TurnOut(
        session_id=session_id,
        seq=seq,
        reply=response.reply,
        intent=response.intent,
        confidence=response.confidence,
        topic=response.topic,
        sentiment=sentiment_out(response.sentiment),
        entities=[EntityOut(kind=e.kind, placeholder=e.placeholder) for e in response.entities],
        actions=[a.value for a in response.actions],
        redacted_input=response.redacted_input,
    )


def exchange_out(exchange: Exchange) -> ExchangeOut:
    """One exchange of the context window (its fields carry the same names)."""
    return ExchangeOut.model_validate(exchange, from_attributes=True)


def session_out(session: Session) -> SessionOut:
    """A loaded session's metadata and redacted context window."""
    return SessionOut(
        id=session.id,
        owner=session.owner or session.owner_hash or None,
        created_at=session.created,
        turns=session.version,
        closed=session.closed,
        capabilities=session.capabilities,
        window=[exchange_out(x) for x in session.context.window],
        summary=list(session.context.summary),
    )


def turn_record_out(record: TurnRecord) -> TurnRecordOut:
    """One decrypted entry of the turn log."""
    return TurnRecordOut(
        seq=record.seq,
        ts=record.ts,
        user=record.user,
        reply=record.reply,
        intent=record.intent,
        topic=record.topic,
        confidence=record.confidence,
        sentiment=sentiment_out(record.sentiment),
        actions=[a.value for a in record.actions],
        latency_ms=record.latency_ms,
    )


def monitor_out(snap: Snapshot, severity: str) -> MonitorOut:
    """The monitor figures of an analytics ``Snapshot``, alerts at or above ``severity``."""
    return MonitorOut.model_validate(snapshot_view(snap, severity))


def limits_out(region: str, policy: ResourcePolicy) -> LimitsOut:
    """A region's resource limits."""
    memory = format_memory(policy.max_memory) if policy.max_memory else None
    return LimitsOut(
        region=region, max_cpu=policy.max_cpu, max_memory=memory, max_pids=policy.max_pids
    )
