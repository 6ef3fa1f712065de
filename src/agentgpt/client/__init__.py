"""Python client SDK of the HTTP API (``agentgpt serve``)."""

from agentgpt.client.http import AsyncClient
from agentgpt.client.models import (
    AuthResult,
    Entity,
    Health,
    Sentiment,
    SessionInfo,
    SessionView,
    Snapshot,
    Token,
    Turn,
    TurnRecord,
    TurnsPage,
)

__all__ = [
    "AsyncClient",
    "AuthResult",
    "Entity",
    "Health",
    "Sentiment",
    "SessionInfo",
    "SessionView",
    "Snapshot",
    "Token",
    "Turn",
    "TurnRecord",
    "TurnsPage",
]
