"""The seam between the session engine and whatever answers a customer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from agentgpt.agents.context import Context
from agentgpt.agents.response import Response


@runtime_checkable
class Agent(Protocol):
    """Answers one customer message given the session's context.

    Contract: an agent keeps no state between calls that could carry one session's data
    into another's; ``reset`` is called by the pool at every check-in and must clear any
    per-call state. ``process`` must not block the event loop (run CPU work elsewhere).
    """

    capabilities: frozenset[str]

    async def process(self, input: str, context: Context) -> Response:
        """Return the agent's response to ``input`` in ``context``."""
        ...

    def configure(self, capabilities: Sequence[str]) -> None:
        """Switch the agent's optional parts (e.g. ``pii_detection``) for the next call."""
        ...

    def reset(self) -> None:
        """Forget everything about the last call (called at every pool check-in)."""
        ...

    def holds_state(self) -> bool:
        """Return True if the agent still holds per-call data (leakage audit)."""
        ...
