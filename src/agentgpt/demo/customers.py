"""Simulated customers over HTTP: sign in, open a session, talk with think time, bounded."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from agentgpt.client.http import AsyncClient
from agentgpt.client.models import Turn
from agentgpt.demo.personas import Persona, pick
from agentgpt.errors import AgentGPTError

TokenFor = Callable[[AsyncClient, str], Awaitable[str]]
OnTurn = Callable[[Turn, float], None]


async def demo_token_for(client: AsyncClient, user: str) -> str:
    """A development customer token from the service itself (``/v1/demo/token``)."""
    return (await client.demo_token(user, "customer")).token


@dataclass
class Customer:
    """One signed-in customer with an open session."""

    client: AsyncClient
    session_id: str
    persona: Persona
    sent: int = 0


@dataclass
class Outcome:
    """What one customer saw."""

    persona: str
    latencies_ms: list[float] = field(default_factory=list)
    escalated: bool = False
    flagged: bool = False
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Workload:
    """How many customers, for how long, and how fast they type."""

    customers: int
    duration_s: float
    think_s: tuple[float, float] = (0.3, 1.5)
    seed: int = 7
    user_prefix: str = "customer"


async def enroll(
    base: AsyncClient, user: str, rng: random.Random, token_for: TokenFor = demo_token_for
) -> Customer:
    """Sign ``user`` in and open a session for a persona drawn from ``rng``."""
    client = base.with_token(await token_for(base, user))
    session = await client.create_session()
    return Customer(client, session.id, pick(rng))


async def say(customer: Customer, rng: random.Random) -> tuple[Turn, float]:
    """Send the customer's next line; return the turn and its latency in milliseconds."""
    text = customer.persona.line(customer.sent, rng)
    customer.sent += 1
    started = time.perf_counter()
    turn = await customer.client.send(customer.session_id, text)
    return turn, (time.perf_counter() - started) * 1000


async def converse(
    customer: Customer,
    rng: random.Random,
    work: Workload,
    deadline: float,
    on_turn: OnTurn | None = None,
) -> Outcome:
    """Say every line of the persona with think time, stopping at ``deadline``."""
    outcome = Outcome(customer.persona.name)
    for index in range(len(customer.persona.lines)):
        if time.monotonic() >= deadline:
            break
        turn, latency = await say(customer, rng)
        outcome.latencies_ms.append(latency)
        outcome.escalated |= any(a.startswith("escalate") for a in turn.actions)
        if on_turn is not None:
            on_turn(turn, latency)
        if index == 0:
            for _ in range(customer.persona.failed_otps):
                result = await customer.client.report_auth(customer.session_id, False, "otp")
                outcome.flagged = result.flagged
        if index + 1 < len(customer.persona.lines):  # think before the next line only
            pause = min(rng.uniform(*work.think_s), max(0.0, deadline - time.monotonic()))
            await asyncio.sleep(pause)
    return outcome


async def run_customers(
    base: AsyncClient,
    work: Workload,
    *,
    on_turn: OnTurn | None = None,
    token_for: TokenFor = demo_token_for,
) -> list[Outcome]:
    """Run ``work.customers`` customers arriving over the first half of the duration."""
    rng = random.Random(work.seed)
    deadline = time.monotonic() + work.duration_s

    async def one(index: int, arrival: float, seed: int) -> Outcome:
        await asyncio.sleep(arrival)
        own = random.Random(seed)
        try:
            customer = await enroll(base, f"{work.user_prefix}-{index}", own, token_for)
            return await converse(customer, own, work, deadline, on_turn)
        except (AgentGPTError, httpx.HTTPError) as exc:
            # One customer's failure is a finding of the run, not a reason to stop it.
            return Outcome("error", errors=[f"{type(exc).__name__}: {exc}"])

    plan = [
        (i, rng.uniform(0, work.duration_s / 2), rng.getrandbits(32)) for i in range(work.customers)
    ]
    return list(await asyncio.gather(*(one(*p) for p in plan)))
