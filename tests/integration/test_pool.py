"""AgentPool limits, timeouts and isolation between checkouts."""

from __future__ import annotations

import asyncio

import pytest

from agentgpt import AgentPool
from agentgpt.agents.context import Context
from agentgpt.errors import PoolTimeout
from tests.integration.agents_for_tests import EchoAgent


async def test_prewarmed_and_bounded() -> None:
    pool = AgentPool(EchoAgent, min_ready=3, max_connections=5, ready_timeout=0.2)
    pool.warm()
    assert pool.idle == 3
    held = [await pool.acquire() for _ in range(5)]
    assert pool.live == 5
    with pytest.raises(PoolTimeout):
        await pool.acquire()
    for agent in held:
        pool.release(agent)
    assert pool.live == 5
    assert pool.in_use == 0


async def test_waiter_gets_the_released_agent() -> None:
    pool = AgentPool(EchoAgent, min_ready=0, max_connections=1, ready_timeout=2)
    agent = await pool.acquire()
    waiter = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0.01)
    pool.release(agent)
    assert await waiter is agent


async def test_no_state_survives_a_checkout() -> None:
    pool = AgentPool(EchoAgent, min_ready=1, max_connections=1)
    async with pool.checkout() as agent:
        await agent.process("account 12345 of customer A", Context())
        assert agent.holds_state()
    assert pool.holding_state() == []
    async with pool.checkout() as again:
        assert again is agent
        assert again.seen == []


async def test_idle_agents_above_min_ready_retire() -> None:
    pool = AgentPool(EchoAgent, min_ready=1, max_connections=4, max_idle=0.05)
    agents = [await pool.acquire() for _ in range(4)]
    for agent in agents:
        pool.release(agent)
    await asyncio.sleep(0.1)
    await pool.acquire()
    assert pool.live <= 2
