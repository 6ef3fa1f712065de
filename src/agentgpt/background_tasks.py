"""Stopping background loops reliably (the sweeper, key re-wrap, analytics flushing)."""

from __future__ import annotations

import asyncio
import contextlib


async def stop_task(task: asyncio.Task[object] | None, *, retry_every: float = 0.5) -> None:
    """Cancel ``task`` and wait until it has ended, cancelling again if it carries on.

    One ``cancel()`` is not always enough: a cancellation that lands while a store call
    is inside a timeout or a connection-pool wait can come back as a timeout or connection
    error, which a background loop treats as a passing store failure and survives. Its
    next ``await`` then receives the repeated cancellation. Whatever the task raised is
    dropped: it is being stopped.
    """
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=retry_every)
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.result()
