"""``agentgpt session store init``: validate a configuration and prepare the store."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agentgpt.cli.options import ConfigFile, StoreUrl, run, settings_from

if TYPE_CHECKING:
    from agentgpt.config.settings import Settings

store_app = typer.Typer(help="The session store.", no_args_is_help=True)


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
    summary = run(_init(settings))
    if as_json:
        typer.echo(json.dumps(summary))
        return
    for name, value in summary.items():
        typer.echo(f"{name:>14}: {value}")


async def _init(settings: Settings) -> dict[str, Any]:
    from agentgpt.config.durations import format_duration
    from agentgpt.store import maintenance
    from agentgpt.store.context_store import RedisContextStore

    store_settings = settings.store
    store = RedisContextStore(store_settings)
    try:
        nodes = await maintenance.check_nodes(store)
        if store_settings.cluster_mode:
            await maintenance.check_cluster(store)
        keys = await _init_keys(settings)  # issue 4: create the keyset before any session
        schema = await maintenance.write_schema_marker(store)
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
        "schema": schema,
        "scripts": "loaded",
        "keys": keys,
    }


async def _init_keys(settings: Settings) -> str:
    """Create (or check) the key provider's keyset; describe it (never key material)."""
    from agentgpt.security.encryptor import SessionEncryptor
    from agentgpt.sessions.key_managers import default_key_manager

    manager = default_key_manager(settings.sessions)
    if not isinstance(manager, SessionEncryptor):
        return "none (records stored in clear: development only)"
    kek = await manager.primary_kek()
    return f"{manager.provider.describe()}, KEK version {kek.id}"
