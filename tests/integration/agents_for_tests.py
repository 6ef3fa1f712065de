"""Real agents with test-visible behaviour (no mocks: they implement the Agent protocol)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from agentgpt.agents.context import Context
from agentgpt.agents.response import Response


class EchoAgent:
    """Echoes the input and the number of exchanges it saw; optionally slow."""

    delay = 0.0

    def __init__(self) -> None:
        self.capabilities: frozenset[str] = frozenset()
        self.seen: list[str] = []

    def configure(self, capabilities: Sequence[str]) -> None:
        self.capabilities = frozenset(capabilities)

    def reset(self) -> None:
        self.seen.clear()

    def holds_state(self) -> bool:
        return bool(self.seen)

    async def process(self, input: str, context: Context) -> Response:
        self.seen.append(input)
        if self.delay:
            await asyncio.sleep(self.delay)
        return Response(reply=f"echo:{input}|{context.turns}", intent="echo", topic="test")


class VaultingAgent(EchoAgent):
    """Reports the whole input as a sensitive value (to exercise the vault)."""

    async def process(self, input: str, context: Context) -> Response:
        response = await super().process(input, context)
        response.sensitive = {"<SECRET_1>": input}
        response.redacted_input = "<SECRET_1>"
        return response
