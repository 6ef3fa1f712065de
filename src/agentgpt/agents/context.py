"""The conversation context an agent sees: a bounded window plus a running summary."""

from __future__ import annotations

import msgspec

#: How many recent exchanges the context keeps verbatim; older ones fold into the summary.
DEFAULT_WINDOW = 8
#: How many earlier topics the running summary remembers.
SUMMARY_TOPICS = 12


class Exchange(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """One customer message and the agent's reply, as kept in the window (PII redacted)."""

    seq: int
    ts: float
    user: str
    reply: str
    intent: str | None = None
    topic: str | None = None
    sentiment: float | None = None


class Context(msgspec.Struct, kw_only=True, array_like=True):
    """What an agent may read of a session: recent exchanges, a summary and slots.

    Bounded by construction (invariant 4): ``window`` never exceeds its limit and the
    summary keeps a fixed number of entries, so a turn costs the same on day 1 and day 30.
    """

    window: list[Exchange] = msgspec.field(default_factory=list)
    summary: list[str] = msgspec.field(default_factory=list)
    slots: dict[str, str] = msgspec.field(default_factory=dict)
    turns: int = 0

    def last(self, n: int = 1) -> list[Exchange]:
        """Return the ``n`` most recent exchanges, oldest first."""
        return self.window[-n:] if n > 0 else []

    def intents(self) -> list[str]:
        """Return the intents of the window's exchanges, oldest first."""
        return [e.intent for e in self.window if e.intent]

    def appended(self, exchange: Exchange, *, window: int = DEFAULT_WINDOW) -> Context:
        """Return a new context with ``exchange`` added and the window kept bounded."""
        kept = [*self.window, exchange]
        summary = list(self.summary)
        while len(kept) > window:
            old = kept.pop(0)
            summary.append(f"#{old.seq} {old.topic or 'other'}/{old.intent or 'unknown'}")
        return Context(
            window=kept,
            summary=summary[-SUMMARY_TOPICS:],
            slots=dict(self.slots),
            turns=self.turns + 1,
        )
