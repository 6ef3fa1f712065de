"""What analytics receives: one event per turn and per authentication attempt.

Events carry labels and measurements only: no customer text, no PII, and the turn event
not even the session id (aggregates are cross-session by design).
"""

from __future__ import annotations

import msgspec


class TurnEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One committed turn: when, where, what it was about and how it went."""

    time: float
    region: str = "default"
    topic: str | None = None
    intent: str | None = None
    confidence: float = 0.0
    sentiment: float = 0.0
    latency_ms: float = 0.0
    escalated: bool = False


class AuthEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One authentication attempt on a session (``method``: otp, password, biometric ...)."""

    session_id: str
    success: bool
    method: str
    time: float = 0.0
