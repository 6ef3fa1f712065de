"""stop_task ends background loops, even one that survives the first cancellation."""

from __future__ import annotations

import asyncio

from agentgpt.background_tasks import stop_task


async def test_a_loop_that_swallows_one_cancel_is_still_stopped() -> None:
    swallowed = 0

    async def loop() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed += 1  # as a store call that turned the cancel into an error would

    task = asyncio.create_task(loop())
    await asyncio.sleep(0.02)
    await asyncio.wait_for(stop_task(task, retry_every=0.05), 2)
    assert task.done()
    assert swallowed == 1


async def test_errors_and_none_are_fine() -> None:
    async def boom() -> None:
        raise RuntimeError("failed earlier")

    task = asyncio.create_task(boom())
    await asyncio.sleep(0)
    await stop_task(task)
    await stop_task(None)
    assert task.done()
