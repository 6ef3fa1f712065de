"""Request and response bodies of the HTTP API (the OpenAPI schema is built from these)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from agentgpt.agents.context import Exchange
from agentgpt.agents.response import Response
from agentgpt.sessions import records as R
from agentgpt.sessions.session import Session


class SessionCreated(BaseModel):
    """A new session: its id and when it expires if left alone."""

    id: str
    owner: str
    created_at: float
    expires_at: float
    idle_timeout_s: float
    region: str = Field(default="default", description="where its resource limits come from")


class SessionCreateIn(BaseModel):
    """Optional choices for a new session."""

    region: str | None = Field(
        default=None, max_length=40, description="a configured region (default: sessions.region)"
    )


class MessageIn(BaseModel):
    """One customer message: plain ``text``, or an end-to-end encrypted ``e2e`` message."""

    text: str | None = Field(
        default=None, description="the customer's message (UTF-8, at most the configured size)"
    )
    e2e: str | None = Field(
        default=None,
        max_length=64 * 1024,
        description="a Double Ratchet message (unpadded base64url) after the handshake",
    )

    @model_validator(mode="after")
    def _one_of(self) -> MessageIn:
        if (self.text is None) == (self.e2e is None):
            raise ValueError('send {"text": "..."}, or {"e2e": "..."} after the handshake')
        return self


class SentimentOut(BaseModel):
    """Polarity of the message."""

    label: str
    score: float


class EntityOut(BaseModel):
    """A piece of PII found and redacted (placeholder only)."""

    kind: str
    placeholder: str


class TurnOut(BaseModel):
    """The agent's answer to one message (no raw PII)."""

    session_id: str
    seq: int
    reply: str
    intent: str | None
    confidence: float
    topic: str | None
    sentiment: SentimentOut
    entities: list[EntityOut]
    actions: list[str]
    redacted_input: str | None

    @classmethod
    def of(cls, session_id: str, seq: int, response: Response) -> TurnOut:
        """Build from an agent ``Response`` (``sensitive`` values are left out)."""
        return cls(
            session_id=session_id,
            seq=seq,
            reply=response.reply,
            intent=response.intent,
            confidence=response.confidence,
            topic=response.topic,
            sentiment=SentimentOut(label=response.sentiment.label, score=response.sentiment.score),
            entities=[EntityOut(kind=e.kind, placeholder=e.placeholder) for e in response.entities],
            actions=[a.value for a in response.actions],
            redacted_input=response.redacted_input,
        )


class ExchangeOut(BaseModel):
    """One exchange of the context window (PII redacted)."""

    seq: int
    ts: float
    user: str
    reply: str
    intent: str | None
    topic: str | None
    sentiment: float

    @classmethod
    def of(cls, exchange: Exchange) -> ExchangeOut:
        """Build from a context ``Exchange`` (its fields carry the same names)."""
        return cls.model_validate(exchange, from_attributes=True)


class SessionOut(BaseModel):
    """A session's metadata and its redacted context window."""

    id: str
    owner: str | None
    created_at: float
    turns: int
    closed: bool
    capabilities: list[str]
    window: list[ExchangeOut]
    summary: list[str]

    @classmethod
    def of(cls, session: Session) -> SessionOut:
        """Build from a loaded ``Session``."""
        return cls(
            id=session.id,
            owner=session.owner or session.owner_hash or None,
            created_at=session.created,
            turns=session.version,
            closed=session.closed,
            capabilities=session.capabilities,
            window=[ExchangeOut.of(x) for x in session.context.window],
            summary=list(session.context.summary),
        )


class TurnRecordOut(BaseModel):
    """One entry of the turn log (PII redacted)."""

    seq: int
    ts: float
    user: str
    reply: str
    intent: str | None
    topic: str | None
    confidence: float
    sentiment: SentimentOut
    actions: list[str]
    latency_ms: float

    @classmethod
    def of(cls, record: R.TurnRecord) -> TurnRecordOut:
        """Build from a decrypted ``TurnRecord``."""
        return cls(
            seq=record.seq,
            ts=record.ts,
            user=record.user,
            reply=record.reply,
            intent=record.intent,
            topic=record.topic,
            confidence=record.confidence,
            sentiment=SentimentOut(label=record.sentiment.label, score=record.sentiment.score),
            actions=[a.value for a in record.actions],
            latency_ms=record.latency_ms,
        )


class TurnsPage(BaseModel):
    """A page of the turn log."""

    session_id: str
    offset: int
    limit: int
    total: int
    turns: list[TurnRecordOut]


class AuthEventIn(BaseModel):
    """An authentication attempt the portal observed (OTP, password step-up ...)."""

    success: bool
    method: str = Field(default="password", min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$")


class AuthEventOut(BaseModel):
    """Whether the session is now flagged (its next sensitive action needs verification)."""

    session_id: str
    recorded: bool
    recent_failures: int = Field(description="failed attempts within the alert window")
    flagged: bool


class DemoTokenIn(BaseModel):
    """Ask for a development token (the web pages' sign-in)."""

    user: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    role: Literal["customer", "operator"] = "customer"


class TokenOut(BaseModel):
    """A bearer token and what it allows."""

    token: str
    user: str
    scopes: list[str]
    expires_in: int


class Health(BaseModel):
    """Liveness or readiness."""

    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)
