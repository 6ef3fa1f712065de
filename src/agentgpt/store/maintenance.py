"""Operator tasks on the store's servers: readiness checks of ``session store init``, the
schema marker, and the rewrite of persistence files after erasures (``security compact``).

The CLI decides what to report; these functions are how the servers are asked, so that no
code outside the store holds a client.
"""

from __future__ import annotations

import contextlib
from typing import Any

from agentgpt.config.addresses import mask_node
from agentgpt.errors import ConfigError, StoreUnavailable
from agentgpt.store import keys
from agentgpt.store.compaction import rewrite_all
from agentgpt.store.connection import create_client
from agentgpt.store.context_store import RedisContextStore
from agentgpt.store.failures import STORE_FAILURES, store_unavailable

#: The oldest server versions the scripts run on.
MIN_VERSIONS = {"redis": (7, 0), "valkey": (8, 0)}


async def compact(store: RedisContextStore, timeout_s: float) -> dict[str, list[str]]:
    """Rewrite every primary's AOF and RDB; the files rewritten, by node."""
    client = await store.backend.connect()
    done: dict[str, list[str]] = await store.backend.guard(rewrite_all(client, timeout_s))
    return done


async def check_nodes(store: RedisContextStore) -> list[str]:
    """Check each server's engine, version and persistence; one line per server."""
    settings = store.settings
    if not settings.cluster_mode:
        return [await _check_server(store, await store.backend.connect(), store.describe())]
    reports = []
    for node in settings.nodes:
        host, _, port = node.rpartition(":")
        scheme = "rediss" if settings.uses_tls else "redis"
        single = create_client(
            settings.model_copy(update={"cluster_mode": False}), f"{scheme}://{host}:{port}/0"
        )
        try:
            reports.append(await _check_server(store, single, f"node {mask_node(node)}"))
        finally:
            with contextlib.suppress(*STORE_FAILURES):
                await single.aclose()
    return reports


async def _check_server(store: RedisContextStore, client: Any, name: str) -> str:
    try:
        info = await client.info("server")
        persistence = await client.info("persistence")
    except STORE_FAILURES as exc:
        raise store_unavailable(exc, store.settings, where=name, hint=True) from None
    engine = "valkey" if "valkey_version" in info else "redis"
    version = str(info.get("valkey_version") or info.get("redis_version"))
    numbers = tuple(int(p) for p in version.split(".")[:2])
    if numbers < MIN_VERSIONS[engine]:
        minimum = ".".join(map(str, MIN_VERSIONS[engine]))
        raise ConfigError(f"{name} runs {engine} {version}; {minimum} or newer is required")
    aof = bool(persistence.get("aof_enabled"))
    durability = "aof" if aof else "rdb only (turns since the last snapshot can be lost)"
    return f"{name} {engine} {version} persistence={durability}"


async def check_cluster(store: RedisContextStore) -> None:
    """Raise ``StoreUnavailable`` unless the cluster is ok with every slot assigned."""
    client: Any = await store.backend.connect()
    info = await store.backend.guard(client.cluster_info())
    state = info.get("cluster_state")
    assigned = int(info.get("cluster_slots_assigned", 0))
    if state != "ok" or assigned != 16384:
        raise StoreUnavailable(
            f"cluster {store.describe()} state is {state!r} with {assigned}/16384 slots "
            "assigned; fix the cluster"
        )


async def write_schema_marker(store: RedisContextStore) -> int:
    """Write the key schema's version marker; the version written."""
    client: Any = await store.backend.connect()
    await store.backend.guard(client.set(keys.SCHEMA_KEY, keys.SCHEMA_VERSION))
    return keys.SCHEMA_VERSION
