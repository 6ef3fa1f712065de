"""The micro-batcher: each caller gets its own result, work runs off the event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from agentgpt.nlu.batcher import MicroBatcher


class Recorder:
    """A batch function that remembers its batch sizes and the thread it ran on."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.threads: set[int] = set()

    def __call__(self, items: Sequence[int]) -> list[str]:
        self.sizes.append(len(items))
        self.threads.add(threading.get_ident())
        return [f"result-{i}" for i in items]


async def test_1000_concurrent_callers_each_get_their_own_result() -> None:
    fn = Recorder()
    batcher = MicroBatcher(fn, max_batch=64)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(1000)))
    assert results == [f"result-{i}" for i in range(1000)]
    assert sum(fn.sizes) == 1000
    assert max(fn.sizes) == 64  # batched, never above the limit
    assert len(fn.sizes) < 100
    assert threading.get_ident() not in fn.threads  # never on the event loop's thread
    batcher.close()


async def test_wait_gathers_staggered_callers() -> None:
    fn = Recorder()
    batcher = MicroBatcher(fn, max_batch=100, max_wait=0.05)

    async def late(i: int) -> str:
        await asyncio.sleep(0.001 * (i % 5))
        return await batcher.submit(i)

    results = await asyncio.gather(*(late(i) for i in range(20)))
    assert results == [f"result-{i}" for i in range(20)]
    assert fn.sizes == [20]
    batcher.close()


async def test_an_error_reaches_every_caller_of_the_batch_and_the_next_batch_runs() -> None:
    def fails(items: Sequence[int]) -> list[int]:
        if 13 in items:
            raise ValueError("bad item")
        return list(items)

    batcher = MicroBatcher(fails, max_batch=8)
    outcomes = await asyncio.gather(*(batcher.submit(i) for i in range(16)), return_exceptions=True)
    assert all(isinstance(o, ValueError) for o in outcomes[8:])
    assert outcomes[:8] == list(range(8))
    assert await batcher.submit(1) == 1
    batcher.close()


async def test_a_cancelled_caller_does_not_break_the_others() -> None:
    batcher = MicroBatcher(Recorder(), max_batch=4, max_wait=0.02)
    doomed = asyncio.ensure_future(batcher.submit(0))
    others = [asyncio.ensure_future(batcher.submit(i)) for i in range(1, 4)]
    await asyncio.sleep(0)
    doomed.cancel()
    assert await asyncio.gather(*others) == ["result-1", "result-2", "result-3"]
    with pytest.raises(asyncio.CancelledError):
        await doomed
    batcher.close()


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        MicroBatcher(Recorder(), max_batch=0)
