"""The HTTP API's wire models: defined once, used by the server and the Python client.

The service's OpenAPI schema is built from these classes (their names, docstrings and
field descriptions are the contract: change them only with the API), and
``agentgpt.client`` decodes the same classes from the responses. They import no part of
the session engine (a lint-imports contract): the server builds them from its domain
objects in ``agentgpt.server.views``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agentgpt.security.ratchet.policy import PROTOCOL

#: Every problem ``type`` is this prefix and a stable code (``session-not-found`` ...).
PROBLEM_TYPE_PREFIX = "urn:agentgpt:problem:"


class WireModel(BaseModel):
    """A body of the API: immutable once decoded (the client hands them out)."""

    model_config = ConfigDict(frozen=True)


class SessionCreated(WireModel):
    """A new session: its id and when it expires if left alone."""

    id: str
    owner: str
    created_at: float
    expires_at: float
    idle_timeout_s: float
    region: str = Field(default="default", description="where its resource limits come from")


class SessionCreateIn(WireModel):
    """Optional choices for a new session."""

    region: str | None = Field(
        default=None, max_length=40, description="a configured region (default: sessions.region)"
    )


class MessageIn(WireModel):
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


class SentimentOut(WireModel):
    """Polarity of the message."""

    label: str
    score: float


class EntityOut(WireModel):
    """A piece of PII found and redacted (placeholder only)."""

    kind: str
    placeholder: str


class TurnOut(WireModel):
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


class ExchangeOut(WireModel):
    """One exchange of the context window (PII redacted)."""

    seq: int
    ts: float
    user: str
    reply: str
    intent: str | None
    topic: str | None
    sentiment: float


class SessionOut(WireModel):
    """A session's metadata and its redacted context window."""

    id: str
    owner: str | None
    created_at: float
    turns: int
    closed: bool
    capabilities: list[str]
    window: list[ExchangeOut]
    summary: list[str]


class TurnRecordOut(WireModel):
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


class TurnsPage(WireModel):
    """A page of the turn log."""

    session_id: str
    offset: int
    limit: int
    total: int
    turns: list[TurnRecordOut]


class AuthEventIn(WireModel):
    """An authentication attempt the portal observed (OTP, password step-up ...)."""

    success: bool
    method: str = Field(default="password", min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$")


class AuthEventOut(WireModel):
    """Whether the session is now flagged (its next sensitive action needs verification)."""

    session_id: str
    recorded: bool
    recent_failures: int = Field(description="failed attempts within the alert window")
    flagged: bool


class DemoTokenIn(WireModel):
    """Ask for a development token (the web pages' sign-in)."""

    user: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    role: Literal["customer", "operator"] = "customer"


class TokenOut(WireModel):
    """A bearer token and what it allows."""

    token: str
    user: str
    scopes: list[str]
    expires_in: int


class Health(WireModel):
    """Liveness or readiness."""

    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)


class EncryptedTurnOut(WireModel):
    """An encrypted answer: ``e2e`` decrypts to the ``TurnOut`` JSON of this turn."""

    session_id: str
    seq: int
    e2e: str


class HandshakeIn(WireModel):
    """The client's X3DH message and the policy it asks for."""

    protocol: str = PROTOCOL
    key_rotation: str = Field(default="daily", max_length=40)
    handshake: dict[str, Any] = Field(description="identity_key, ephemeral_key, prekey ids")


class HandshakeOut(WireModel):
    """The session's end-to-end policy once the handshake is answered."""

    session_id: str
    protocol: str
    key_rotation_s: float


# --- the operators' monitor ------------------------------------------------------------


class LatencyOut(WireModel):
    """Turn latency over the window (milliseconds)."""

    avg_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


class TopicOut(WireModel):
    """One concern topic's share of the topic-bearing turns."""

    topic: str
    turns: int
    share: float
    trend: str | None = None


class AlertOut(WireModel):
    """An alert (no PII)."""

    id: str
    rule: str
    severity: str
    subject: str
    message: str
    at: float
    acknowledged: bool


class TrendOut(WireModel):
    """A significant change against the baseline."""

    kind: str
    subject: str
    ratio: float | None = Field(
        description="rate against the baseline; null when the "
        "baseline had none of it (a surge from zero)"
    )
    p_value: float


class MonitorOut(WireModel):
    """The monitor screen's figures."""

    window: str
    at: float
    active_sessions: int
    turns: int
    turns_per_s: float
    latency: LatencyOut
    topics: list[TopicOut]
    sentiment_avg: float | None
    escalation_rate: float | None
    alerts: list[AlertOut]
    trends: list[TrendOut]
    dropped_events: int


class AckOut(WireModel):
    """The result of acknowledging an alert."""

    id: str
    acknowledged_by: str


# --- isolated runtimes' limits ---------------------------------------------------------


class LimitsIn(WireModel):
    """New limits of a region; at least one value."""

    max_cpu: str | float | None = Field(default=None, description="CPUs: 2, 0.5, 500m")
    max_memory: str | int | None = Field(default=None, description="512Mi, 2Gi, 1G or bytes")
    max_pids: int | None = Field(default=None, description="processes and threads")


class LimitsOut(WireModel):
    """A region's limits."""

    region: str
    max_cpu: float | None
    max_memory: str | None
    max_pids: int | None


# --- errors ----------------------------------------------------------------------------


class Problem(WireModel):
    """The body of every error response."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
