"""The SDK's names for the API's wire models: the same classes as ``agentgpt.wire``.

One definition serves the server (its OpenAPI schema names them ``TurnOut``,
``SessionCreated`` ...) and this client, which decodes the responses into them. The
shorter names are the ones the SDK has always exported.
"""

from __future__ import annotations

from agentgpt.wire import (
    AuthEventOut,
    EncryptedTurnOut,
    EntityOut,
    ExchangeOut,
    Health,
    MonitorOut,
    SentimentOut,
    SessionCreated,
    SessionOut,
    TokenOut,
    TurnOut,
    TurnRecordOut,
    TurnsPage,
)

AuthResult = AuthEventOut
EncryptedTurn = EncryptedTurnOut
Entity = EntityOut
Exchange = ExchangeOut
Sentiment = SentimentOut
SessionInfo = SessionCreated
SessionView = SessionOut
Snapshot = MonitorOut
Token = TokenOut
Turn = TurnOut
TurnRecord = TurnRecordOut

__all__ = [
    "AuthResult",
    "EncryptedTurn",
    "Entity",
    "Exchange",
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
