"""``agentgpt session store init``: validate a configuration and prepare the store."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Annotated, Any

import typer

from agentgpt.cli.options import ConfigFile, StoreUrl, settings_from
from agentgpt.config.addresses import mask_node
from agentgpt.config.durations import format_duration
from agentgpt.config.settings import Settings
from agentgpt.errors import ConfigError, StoreUnavailable
from agentgpt.security.encryptor import SessionEncryptor
from agentgpt.sessions.key_managers import default_key_manager
from agentgpt.store.connection import create_client
from agentgpt.store.context_store import RedisContextStore
from agentgpt.store.failures import STORE_FAILURES, store_unavailable
from agentgpt.store.keys import SCHEMA_KEY, SCHEMA_VERSION

store_app = typer.Typer(help="The session store.", no_args_is_help=True)

MIN_VERSIONS = {"redis": (7, 0), "valkey": (8, 0)}


@store_app.command("init")
def init(
    file: ConfigFile = None,
    url: StoreUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Validate the configuration, check every node, load scripts, write the schema marker.

    Examples:
      agentgpt session store init -f conf/session-store.yaml
      agentgpt session store init --url redis+cluster://10.0.0.1:6379,10.0.0.2:6379

    Nothing is written unless every check passes. Exit codes: 0 ready, 69 a node is not
    reachable or the cluster does not serve every slot, 78 a configuration mistake.
    """
    settings = settings_from(file, url)
    summary = asyncio.run(_init(settings))
    if as_json:
        typer.echo(json.dumps(summary))
        return
    for name, value in summary.items():
        typer.echo(f"{name:>14}: {value}")


async def _init(settings: Settings) -> dict[str, Any]:
    store_settings = settings.store
    store = RedisContextStore(store_settings)
    try:
        client = await store.client()
        nodes = await _check_nodes(store, client)
        if store_settings.cluster_mode:
            await _check_cluster(store, client)
        client_any: Any = client
        keys = await _init_keys(settings)  # issue 4: create the keyset before any session
        await store.guard(client_any.set(SCHEMA_KEY, SCHEMA_VERSION))
    finally:
        await store.aclose()
    return {
        "engine": "embedded valkey"
        if store_settings.is_embedded
        else settings.session_storage.engine,
        "nodes": nodes,
        "cluster": store_settings.cluster_mode,
        "tls": store_settings.uses_tls,
        "retention": f"default {format_duration(store_settings.data_retention.default)}, "
        f"sensitive {format_duration(store_settings.data_retention.sensitive)}",
        "schema": SCHEMA_VERSION,
        "scripts": "loaded",
        "keys": keys,
    }


async def _init_keys(settings: Settings) -> str:
    """Create (or check) the key provider's keyset; describe it (never key material)."""
    manager = default_key_manager(settings.sessions)
    if not isinstance(manager, SessionEncryptor):
        return "none (records stored in clear: development only)"
    kek = await manager.primary_kek()
    return f"{manager.provider.describe()}, KEK version {kek.id}"


async def _check_nodes(store: RedisContextStore, client: Any) -> list[str]:
    settings = store.settings
    if not settings.cluster_mode:
        return [await _check_server(store, client, store.describe())]
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


async def _check_cluster(store: RedisContextStore, client: Any) -> None:
    info = await store.guard(client.cluster_info())
    state = info.get("cluster_state")
    assigned = int(info.get("cluster_slots_assigned", 0))
    if state != "ok" or assigned != 16384:
        raise StoreUnavailable(
            f"cluster {store.describe()} state is {state!r} with {assigned}/16384 slots "
            "assigned; fix the cluster"
        )
