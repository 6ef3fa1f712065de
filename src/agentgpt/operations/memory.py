"""The memory view (``agentgpt session monitor --metric memory``): store memory per session.

Sessions are counted exactly, by a SCAN of the metadata keys on every primary (bounded
steps, nothing held in memory): on a store of millions of sessions this takes seconds,
which is acceptable for an operator's question but is why it is not the default view.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path
from typing import Any

from agentgpt.operations.keyspace import scan_keys
from agentgpt.sessions.manager import SessionManager
from agentgpt.store import keys
from agentgpt.store.keyspace import memory_usage


async def store_memory(manager: SessionManager) -> dict[str, int]:
    """INFO memory ``used_memory`` and ``used_memory_startup`` summed over the primaries."""
    return await memory_usage(manager.store)


async def count_sessions(manager: SessionManager) -> int:
    """Every session in the store: a SCAN of ``ag:{*}:meta`` over every primary."""
    count = 0
    async for key in scan_keys(manager.store, keys.META_MATCH):
        count += keys.session_id_of_meta(key) is not None
    return count


def process_rss() -> int:
    """This process's resident set size in bytes (the peak where /proc is missing)."""
    statm = Path("/proc/self/statm")
    if statm.exists():
        return int(statm.read_text().split()[1]) * resource.getpagesize()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is kilobytes on Linux but bytes on macOS.
    return int(peak if sys.platform == "darwin" else peak * 1024)


async def memory_view(manager: SessionManager) -> dict[str, Any]:
    """The memory figures as a JSON-ready document."""
    memory = await store_memory(manager)
    sessions = await count_sessions(manager)
    # Startup memory is the empty server's: what is above it is what the data costs.
    data_bytes = max(memory["used_memory"] - memory["used_memory_startup"], 0)
    pool = manager.agent_pool
    return {
        "store": memory,
        "sessions": sessions,
        "sessions_counted_by": "scan",
        "active_sessions": await manager.count_active(),
        "bytes_per_session": round(data_bytes / sessions, 1) if sessions else None,
        "process_rss_bytes": process_rss(),
        "pool": {
            "live": pool.live,
            "idle": pool.idle,
            "in_use": pool.in_use,
            "max_connections": pool.max_connections,
        },
    }


def _size(value: float | None) -> str:
    if value is None:
        return "-"
    units = ("B", "KiB", "MiB", "GiB")
    step = 0
    while value >= 1024 and step < len(units) - 1:
        value, step = value / 1024, step + 1
    return f"{value:,.0f} B" if step == 0 else f"{value:,.1f} {units[step]}"


def memory_lines(view: dict[str, Any]) -> list[str]:
    """The memory document as the readable screen."""
    store, pool = view["store"], view["pool"]
    return [
        f"STORE MEMORY: {_size(store['used_memory'])} used on {store['primaries']} "
        f"primar{'y' if store['primaries'] == 1 else 'ies'} "
        f"(startup {_size(store['used_memory_startup'])})",
        f"SESSIONS: {view['sessions']:,} (SCAN of meta keys) | ACTIVE: {view['active_sessions']:,}",
        f"PER SESSION: {_size(view['bytes_per_session'])} (memory above startup / sessions)",
        f"PROCESS RSS: {_size(view['process_rss_bytes'])} (this process)",
        f"AGENT POOL (this process): live {pool['live']} | idle {pool['idle']} | "
        f"in use {pool['in_use']} | max {pool['max_connections']}",
    ]
