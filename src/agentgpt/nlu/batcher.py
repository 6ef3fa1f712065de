"""Micro-batching: concurrent callers' items are run through one function call, off the loop.

Each ``submit`` queues one item and awaits its own result. A batch is dispatched to a worker
thread when it holds ``max_batch`` items, or ``max_wait`` seconds after its first item came
(``0``: as soon as the worker is free, which gathers whatever arrived meanwhile). One
batch runs at a time per batcher: while it runs, the next batch fills, so under load the
batches grow by themselves and the model sees fewer, larger calls.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

from agentgpt.errors import AgentError

T = TypeVar("T")
R = TypeVar("R")


class _LoopState(Generic[T, R]):
    """The queue and the dispatcher of one event loop."""

    def __init__(self) -> None:
        self.queue: list[tuple[T, asyncio.Future[R]]] = []
        self.running = False
        self.timer: asyncio.Handle | None = None


class MicroBatcher(Generic[T, R]):
    """Gathers items from concurrent coroutines and runs ``fn`` on batches in a thread."""

    def __init__(
        self,
        fn: Callable[[Sequence[T]], Sequence[R]],
        *,
        max_batch: int = 64,
        max_wait: float = 0.0,
        name: str = "nlu-batch",
    ) -> None:
        """``fn`` maps a batch of items to the same number of results, in order."""
        if max_batch < 1 or max_wait < 0:
            raise ValueError("max_batch must be >= 1 and max_wait >= 0")
        self.fn = fn
        self.max_batch = max_batch
        self.max_wait = max_wait
        # One thread: the work is CPU-bound under the GIL, and a single worker is what
        # lets the queue build up into batches.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._states: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState[T, R]] = (
            weakref.WeakKeyDictionary()
        )
        self.batches = 0
        self.items = 0

    async def submit(self, item: T) -> R:
        """Queue ``item`` and return its result once its batch has run."""
        loop = asyncio.get_running_loop()
        state = self._states.setdefault(loop, _LoopState())
        future: asyncio.Future[R] = loop.create_future()
        state.queue.append((item, future))
        self._schedule(loop, state)
        return await future

    def _schedule(self, loop: asyncio.AbstractEventLoop, state: _LoopState[T, R]) -> None:
        if state.running:
            return  # the running batch dispatches the next one when it finishes
        if len(state.queue) >= self.max_batch or self.max_wait == 0:
            if len(state.queue) >= self.max_batch and state.timer is not None:
                state.timer.cancel()  # full: do not wait out the timer
                state.timer = None
            if state.timer is None:
                # Next loop iteration: callers started in the same tick join this batch.
                state.timer = loop.call_soon(self._dispatch, loop, state)
        elif state.timer is None:
            state.timer = loop.call_later(self.max_wait, self._dispatch, loop, state)

    def _dispatch(self, loop: asyncio.AbstractEventLoop, state: _LoopState[T, R]) -> None:
        state.timer = None
        batch = state.queue[: self.max_batch]
        del state.queue[: self.max_batch]
        batch = [(item, fut) for item, fut in batch if not fut.cancelled()]
        if not batch:
            return
        state.running = True
        work = loop.run_in_executor(self._executor, self.fn, [item for item, _ in batch])
        work.add_done_callback(lambda done: self._deliver(loop, state, batch, done))

    def _deliver(
        self,
        loop: asyncio.AbstractEventLoop,
        state: _LoopState[T, R],
        batch: list[tuple[T, asyncio.Future[R]]],
        done: asyncio.Future[Sequence[R]],
    ) -> None:
        state.running = False
        self.batches += 1
        self.items += len(batch)
        error = done.exception()
        results = done.result() if error is None else None
        if results is not None and len(results) != len(batch):
            error = AgentError(f"batch function returned {len(results)} results for {len(batch)}")
        for index, (_, future) in enumerate(batch):
            if future.done():
                continue  # the caller gave up (cancelled); nobody to tell
            if error is not None:
                future.set_exception(error)
            else:
                assert results is not None
                future.set_result(results[index])
        if state.queue:
            if len(state.queue) >= self.max_batch or self.max_wait == 0:
                self._dispatch(loop, state)
            else:
                self._schedule(loop, state)

    def close(self) -> None:
        """Stop the worker thread (pending batches finish first)."""
        self._executor.shutdown(wait=True)
