"""AgentPool: a bounded, pre-warmed pool of agents shared by every session.

A session never owns an agent: it checks one out for the duration of one call, and the
pool resets the agent at check-in, so nothing of one session reaches another.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Generic, TypeVar

from agentgpt.agents.context import Context
from agentgpt.agents.protocol import Agent
from agentgpt.errors import InvalidInput, PoolTimeout

A = TypeVar("A", bound=Agent)


class AgentPool(Generic[A]):
    """Keeps ``min_ready`` agents warm and never more than ``max_connections`` alive."""

    def __init__(
        self,
        agent_class: Callable[[], A],
        min_ready: int = 1,
        max_connections: int = 100,
        max_idle: float = 300.0,
        ready_timeout: float = 5.0,
    ) -> None:
        """Describe the pool; agents are created on first use (``warm()`` to pre-create)."""
        if max_connections < 1 or not 0 <= min_ready <= max_connections:
            raise InvalidInput("AgentPool needs 0 <= min_ready <= max_connections and >= 1 max")
        self.agent_class = agent_class
        self.min_ready = min_ready
        self.max_connections = max_connections
        self.max_idle = max_idle
        self.ready_timeout = ready_timeout
        self._idle: deque[tuple[A, float]] = deque()
        self._live = 0
        self._waiters: deque[asyncio.Future[A]] = deque()
        self._warmed = False
        self._out: dict[int, A] = {}
        self.checkouts = 0
        self.wait_seconds = 0.0
        _pools.add(self)

    @property
    def live(self) -> int:
        """Agents alive (idle + checked out)."""
        return self._live

    @property
    def idle(self) -> int:
        """Agents ready for checkout."""
        return len(self._idle)

    @property
    def in_use(self) -> int:
        """Agents checked out now."""
        return self._live - len(self._idle)

    def warm(self) -> None:
        """Create agents up to ``min_ready`` (idempotent)."""
        self._warmed = True
        while self._live < self.min_ready:
            self._idle.append((self._new_agent(), time.monotonic()))

    def _new_agent(self) -> A:
        agent = self.agent_class()
        self._live += 1
        return agent

    def checkout(self, capabilities: Sequence[str] | None = None) -> Checkout[A]:
        """Return an awaitable / async context manager that yields a free agent."""
        return Checkout(self, capabilities)

    async def acquire(self, capabilities: Sequence[str] | None = None) -> A:
        """Take an agent, waiting up to ``ready_timeout`` seconds (``PoolTimeout``)."""
        if not self._warmed:
            self.warm()
        self._retire_idle()
        self.checkouts += 1
        if self._idle:
            agent = self._idle.pop()[0]
        elif self._live < self.max_connections:
            agent = self._new_agent()
        else:
            agent = await self._wait()
        if capabilities is not None:
            agent.configure(capabilities)
        self._out[id(agent)] = agent
        return agent

    async def _wait(self) -> A:
        future: asyncio.Future[A] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        started = time.monotonic()
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.ready_timeout)
        except TimeoutError:
            if future.done() and not future.cancelled():
                self.release(future.result())  # handed over just as we gave up
            future.cancel()
            raise PoolTimeout(
                f"no agent free within {self.ready_timeout:g}s ({self.max_connections} in use); "
                "raise max_connections or ready_timeout, or shed load"
            ) from None
        finally:
            self.wait_seconds += time.monotonic() - started

    def release(self, agent: A) -> None:
        """Reset ``agent`` and give it to the next waiter or back to the idle set."""
        self._out.pop(id(agent), None)
        agent.reset()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(agent)
                return
        self._idle.append((agent, time.monotonic()))

    def _retire_idle(self) -> None:
        cutoff = time.monotonic() - self.max_idle
        while len(self._idle) > self.min_ready and self._idle[0][1] < cutoff:
            self._idle.popleft()
            self._live -= 1

    def holding_state(self) -> list[A]:
        """Idle agents that still hold per-call state (must be empty; leakage audit)."""
        return [agent for agent, _ in self._idle if agent.holds_state()]

    async def probe(self, text: str) -> None:
        """Run one call with ``text`` and an empty context through a pooled agent (audit canary).

        The leakage audit then checks with ``holding_state`` that check-in cleared it.
        """
        async with self.checkout() as agent:
            await agent.process(input=text, context=Context())

    def owns_checked_out(self, agent: object) -> bool:
        """True if ``agent`` is checked out of this pool now."""
        return self._out.get(id(agent)) is agent


_pools: weakref.WeakSet[AgentPool[Any]] = weakref.WeakSet()


def pool_of(agent: object) -> AgentPool[Any] | None:
    """Return the pool ``agent`` is checked out of, if any."""
    return next((pool for pool in _pools if pool.owns_checked_out(agent)), None)


class Checkout(Generic[A]):
    """``await pool.checkout()`` gives an agent; ``async with`` also returns it."""

    def __init__(self, pool: AgentPool[A], capabilities: Sequence[str] | None) -> None:
        """Bind the checkout to its pool."""
        self.pool = pool
        self.capabilities = capabilities
        self._agent: A | None = None

    def __await__(self):  # type: ignore[no-untyped-def]
        """Await the agent itself (the caller must ``pool.release`` it, or attach it)."""
        return self.pool.acquire(self.capabilities).__await__()

    async def __aenter__(self) -> A:
        """Check an agent out for the block."""
        self._agent = await self.pool.acquire(self.capabilities)
        return self._agent

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Check the agent back in."""
        if self._agent is not None:
            agent, self._agent = self._agent, None
            self.pool.release(agent)
