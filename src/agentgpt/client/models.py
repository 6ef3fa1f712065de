"""Typed bodies of the HTTP API as the client sees them (decoded with msgspec)."""

from __future__ import annotations

import msgspec


class SessionInfo(msgspec.Struct, frozen=True):
    """A session just created: its id and when it expires if left alone."""

    id: str
    owner: str
    created_at: float
    expires_at: float
    idle_timeout_s: float


class EncryptedTurn(msgspec.Struct, frozen=True):
    """An end-to-end encrypted answer: ``e2e`` decrypts to the ``Turn``."""

    session_id: str
    seq: int
    e2e: str


class Sentiment(msgspec.Struct, frozen=True):
    """Polarity of a message."""

    label: str
    score: float


class Entity(msgspec.Struct, frozen=True):
    """A piece of PII the service found and redacted (placeholder only)."""

    kind: str
    placeholder: str


class Turn(msgspec.Struct, frozen=True):
    """The agent's answer to one message."""

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


class Exchange(msgspec.Struct, frozen=True):
    """One exchange of a session's redacted context window."""

    seq: int
    ts: float
    user: str
    reply: str
    intent: str | None
    topic: str | None
    sentiment: float


class SessionView(msgspec.Struct, frozen=True):
    """A session's metadata and redacted context window."""

    id: str
    owner: str | None
    created_at: float
    turns: int
    closed: bool
    capabilities: list[str]
    window: list[Exchange]
    summary: list[str]


class TurnRecord(msgspec.Struct, frozen=True):
    """One entry of a session's turn log."""

    seq: int
    ts: float
    user: str
    reply: str
    intent: str | None
    topic: str | None
    confidence: float
    sentiment: Sentiment
    actions: list[str]
    latency_ms: float


class TurnsPage(msgspec.Struct, frozen=True):
    """A page of the turn log."""

    session_id: str
    offset: int
    limit: int
    total: int
    turns: list[TurnRecord]


class AuthResult(msgspec.Struct, frozen=True):
    """The outcome of reporting an authentication attempt."""

    session_id: str
    recorded: bool
    recent_failures: int
    flagged: bool


class Token(msgspec.Struct, frozen=True):
    """A bearer token and what it allows."""

    token: str
    user: str
    scopes: list[str]
    expires_in: int


class Health(msgspec.Struct, frozen=True):
    """Liveness or readiness."""

    status: str
    checks: dict[str, str] = {}
