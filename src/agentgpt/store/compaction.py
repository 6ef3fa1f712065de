"""Erasure that holds on disk: rewrite the store's persistence files after erasures.

Deleting a session's keys leaves its wrapped data key and ciphertexts in the append-only
file (and in any RDB snapshot) until the server rewrites them. For the embedded server,
the process that erased schedules ``BGREWRITEAOF`` ``erase_compaction_delay`` after the
first erasure (later erasures ride along with it), so within that delay plus the rewrite
itself no file the project manages holds an erased session. For external servers,
``agentgpt security compact`` asks every primary to rewrite its AOF and RDB.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from agentgpt.errors import StoreUnavailable

log = logging.getLogger("agentgpt.store")
_POLL_S = 0.1


async def rewrite_node(node: Any, timeout_s: float = 60.0) -> list[str]:
    """Rewrite one server's AOF (if on) and RDB (if snapshots are configured); wait for it."""
    config = await node.config_get("appendonly")
    save = await node.config_get("save")
    started: list[str] = []
    if config.get("appendonly") == "yes":
        await _wait_idle(node, "aof_rewrite_in_progress", timeout_s)
        await node.bgrewriteaof()
        started.append("aof")
    if save.get("save"):
        await _wait_idle(node, "rdb_bgsave_in_progress", timeout_s)
        await node.bgsave()
        started.append("rdb")
    # The rewrite is scheduled, not running, while another child (a BGSAVE) runs.
    await _wait_idle(node, "aof_rewrite_scheduled", timeout_s)
    await _wait_idle(node, "aof_rewrite_in_progress", timeout_s)
    await _wait_idle(node, "rdb_bgsave_in_progress", timeout_s)
    return started


async def _wait_idle(node: Any, field: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while int((await node.info("persistence")).get(field, 0)):
        if time.monotonic() > deadline:
            raise StoreUnavailable(
                f"the store is still busy rewriting its files ({field}) after {timeout_s:g}s; "
                "run agentgpt security compact again later"
            )
        await asyncio.sleep(_POLL_S)


async def rewrite_all(client: Any, timeout_s: float = 60.0) -> dict[str, list[str]]:
    """Rewrite the persistence of every primary (one server when not a cluster)."""
    if not isinstance(client, RedisCluster):
        return {"server": await rewrite_node(client, timeout_s)}
    done: dict[str, list[str]] = {}
    for node in client.get_primaries():
        # A plain client on the node, with the cluster's own connection settings (TLS too).
        pool = ConnectionPool(connection_class=node.connection_class, **node.connection_kwargs)
        single = Redis(connection_pool=pool)
        try:
            done[node.name] = await rewrite_node(single, timeout_s)
        finally:
            await single.aclose()
            await pool.disconnect()
    return done


class ErasureCompactor:
    """Debounced AOF rewrites after erasures, by a process using the embedded server."""

    def __init__(self, delay_s: float) -> None:
        """Rewrite ``delay_s`` after the first erasure not yet covered by a rewrite."""
        self.delay_s = delay_s
        self.rewrites = 0
        self._task: asyncio.Task[None] | None = None
        self._waiting = False
        self._now = asyncio.Event()

    def erased(self, client: Any) -> None:
        """Note an erasure that has returned: a rewrite starting after now will cover it."""
        if self._waiting:
            return  # the rewrite waiting to start covers this erasure too
        self._waiting = True
        previous, self._now = self._task, asyncio.Event()
        self._task = asyncio.create_task(
            self._run(client, previous, self._now), name="agentgpt-aof-compaction"
        )

    async def _run(
        self, client: Any, previous: asyncio.Task[None] | None, now: asyncio.Event
    ) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(now.wait(), self.delay_s)
        if previous is not None:
            await previous
        # Erasures from here on need the next rewrite: this one may fork before them.
        self._waiting = False
        try:
            await rewrite_node(client)
            self.rewrites += 1
        except (RedisError, OSError, StoreUnavailable) as exc:
            log.warning(
                "AOF rewrite after erasure failed (erased data stays on disk "
                "until the next rewrite): %s",
                exc,
            )

    async def settled(self) -> None:
        """Wait until the scheduled rewrite (if any) has run, without hurrying it."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def flush(self) -> None:
        """Run a pending rewrite now and wait for it (before the connection closes)."""
        task = self._task
        if task is None or task.done():
            return
        self._now.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), 90)
        except TimeoutError:
            task.cancel()
