"""``agentgpt session store init``: validate a configuration and prepare the store."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from redis.exceptions import RedisError

from agentgpt.config.durations import format_duration
from agentgpt.config.loader import load_settings
from agentgpt.config.settings import Settings, StoreSettings
from agentgpt.errors import ConfigError, StoreUnavailable
from agentgpt.security.encryptor import SessionEncryptor
from agentgpt.sessions.key_managers import default_key_manager
from agentgpt.store import keys as K
from agentgpt.store.connection import create_client
from agentgpt.store.context_store import RedisContextStore

store_app = typer.Typer(help="The session store.", no_args_is_help=True)

MIN_VERSIONS = {"redis": (7, 0), "valkey": (8, 0)}


@store_app.command("init")
def init(
    file: Annotated[Path | None, typer.Option("-f", "--file", help="YAML configuration")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Validate the configuration, check every node, load scripts, write the schema marker.

    Example: agentgpt session store init -f conf/session-store.yaml

    Nothing is written unless every check passes.
    """
    settings = load_settings(file)
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
        nodes = await _check_nodes(store_settings, client)
        if store_settings.cluster_mode:
            await _check_cluster(client)
        client_any: Any = client
        keys = await _init_keys(settings)  # issue 4: create the keyset before any session
        await client_any.set(K.SCHEMA_KEY, K.SCHEMA_VERSION)
    finally:
        await store.aclose()
    return {
        "engine": "embedded valkey"
        if store_settings.is_embedded
        else settings.session_storage.engine,
        "nodes": nodes,
        "cluster": store_settings.cluster_mode,
        "tls": store_settings.tls,
        "retention": f"default {format_duration(store_settings.data_retention.default)}, "
        f"sensitive {format_duration(store_settings.data_retention.sensitive)}",
        "schema": K.SCHEMA_VERSION,
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


async def _check_nodes(settings: StoreSettings, client: Any) -> list[str]:
    if not settings.cluster_mode:
        return [await _check_server(client, settings.url or "embedded")]
    reports = []
    for node in settings.nodes:
        host, _, port = node.rpartition(":")
        single = create_client(settings.model_copy(update={"cluster_mode": False}),
                               f"redis{'s' if settings.tls else ''}://{host}:{port}/0")  # fmt: skip
        try:
            reports.append(await _check_server(single, node))
        finally:
            await single.aclose()
    return reports


async def _check_server(client: Any, name: str) -> str:
    try:
        info = await client.info("server")
        persistence = await client.info("persistence")
    except (RedisError, OSError) as exc:
        raise StoreUnavailable(f"node {name} unreachable: {exc}") from None
    engine = "valkey" if "valkey_version" in info else "redis"
    version = str(info.get("valkey_version") or info.get("redis_version"))
    numbers = tuple(int(p) for p in version.split(".")[:2])
    if numbers < MIN_VERSIONS[engine]:
        minimum = ".".join(map(str, MIN_VERSIONS[engine]))
        raise ConfigError(f"node {name} runs {engine} {version}; {minimum} or newer is required")
    aof = bool(persistence.get("aof_enabled"))
    durability = "aof" if aof else "rdb only (turns since the last snapshot can be lost)"
    return f"{name} {engine} {version} persistence={durability}"


async def _check_cluster(client: Any) -> None:
    info = await client.cluster_info()
    state = info.get("cluster_state")
    assigned = int(info.get("cluster_slots_assigned", 0))
    if state != "ok" or assigned != 16384:
        raise ConfigError(
            f"cluster state is {state!r} with {assigned}/16384 slots assigned; fix the cluster"
        )
