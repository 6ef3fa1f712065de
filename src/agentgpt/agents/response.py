"""What an agent returns for one turn."""

from __future__ import annotations

from enum import StrEnum

import msgspec


class Action(StrEnum):
    """Follow-ups the portal must perform after a turn."""

    ESCALATE_TO_HUMAN = "escalate_to_human"
    REQUIRE_VERIFICATION = "require_verification"


class Sentiment(msgspec.Struct, frozen=True, kw_only=True):
    """Polarity of a message: ``score`` in [-1, 1] and a label."""

    label: str = "neutral"
    score: float = 0.0


class Entity(msgspec.Struct, frozen=True, kw_only=True):
    """A piece of PII found in the input, as its placeholder only (never the raw value)."""

    kind: str
    placeholder: str


class Response(msgspec.Struct, kw_only=True):
    """The result of ``Agent.process``: the reply and what was understood.

    ``sensitive`` maps placeholders to raw PII values; the session writes them to its
    7-day vault and never to the context, the log, analytics or the API response.
    ``redacted_input`` is the customer's text as kept in context (PII replaced).
    """

    reply: str
    intent: str | None = None
    confidence: float = 0.0
    topic: str | None = None
    sentiment: Sentiment = msgspec.field(default_factory=Sentiment)
    entities: list[Entity] = msgspec.field(default_factory=list)
    actions: list[Action] = msgspec.field(default_factory=list)
    slots: dict[str, str] = msgspec.field(default_factory=dict)
    redacted_input: str | None = None
    sensitive: dict[str, str] = msgspec.field(default_factory=dict)
    seq: int = 0  # the turn's sequence number in its session, set when committed

    @property
    def escalate(self) -> bool:
        """True when the portal must hand the conversation to a human."""
        return Action.ESCALATE_TO_HUMAN in self.actions

    def public(self) -> dict[str, object]:
        """Return the response as the API shows it: everything but the raw PII values."""
        data = msgspec.to_builtins(self)
        data.pop("sensitive", None)
        assert isinstance(data, dict)
        return data
