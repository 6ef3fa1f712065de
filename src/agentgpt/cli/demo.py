"""``agentgpt demo``: sessions and turns through the full turn path on the embedded store."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from typing import Annotated

import typer

from agentgpt.agents.response import Response
from agentgpt.sessions.manager import SessionManager

CUSTOMER_LINES = (
    "Hi there",
    "I forgot my password",
    "Wire transfer to IBAN DE89 3704 0044 0532 0130 00",
    "Card blocked in foreign country",
    "I think my card was stolen",
    "Can I get a loan for a car?",
    "This is ridiculous, I want to speak to a human",
    "thanks, bye",
)


def demo(
    sessions: Annotated[int, typer.Option(help="simulated customers", min=1, max=10_000)] = 20,
    turns: Annotated[int, typer.Option(help="messages per customer", min=1, max=50)] = 4,
    seed: Annotated[int, typer.Option(help="random seed for the workload")] = 7,
) -> None:
    """Create sessions on the embedded store and run customer turns, printing what happened.

    Example: agentgpt demo --sessions 50 --turns 5
    """
    asyncio.run(_run(sessions, turns, random.Random(seed)))


async def _run(count: int, turns: int, rng: random.Random) -> None:
    manager = SessionManager()
    latencies: list[float] = []
    shown = 0
    try:
        created = [await manager.create_session(f"demo-user-{i}") for i in range(count)]
        typer.echo(f"created {len(created)} sessions on {manager.store._backend.describe()}")

        async def customer(session_id: str) -> None:
            nonlocal shown
            for _ in range(turns):
                text = rng.choice(CUSTOMER_LINES)
                started = time.perf_counter()
                response = await manager.handle(session_id, text)
                latencies.append((time.perf_counter() - started) * 1000)
                if shown < 12:
                    shown += 1
                    _show(session_id, text, response)

        await asyncio.gather(*(customer(s.id) for s in created))
        active = await manager.count_active()
    finally:
        await manager.aclose()
        await manager.store.aclose()
    p50 = statistics.median(latencies)
    p99 = statistics.quantiles(latencies, n=100)[98] if len(latencies) > 1 else p50
    typer.echo(
        f"\n{len(latencies)} turns | active sessions {active} | "
        f"latency p50 {p50:.2f} ms, p99 {p99:.2f} ms"
    )


def _show(session_id: str, text: str, response: Response) -> None:
    actions = ", ".join(a.value for a in response.actions) or "-"
    typer.echo(f"[{session_id[:12]}] customer: {text}")
    typer.echo(f"    agent ({response.topic} / {response.intent}; actions: {actions}): "
               f"{response.reply}")  # fmt: skip
