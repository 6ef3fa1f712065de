"""Connection options shared by the audit commands: ``-f config`` and ``--url``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agentgpt.config.loader import load_settings
from agentgpt.config.settings import Settings, StoreSettings
from agentgpt.errors import ConfigError
from agentgpt.security.protocols import SessionKeyManager
from agentgpt.sessions.key_managers import default_key_manager
from agentgpt.store.context_store import RedisContextStore

ConfigOption = Annotated[
    Path | None, typer.Option("-f", "--file", help="YAML configuration (default: environment)")
]
UrlOption = Annotated[
    str | None,
    typer.Option("--url", help="store URL, e.g. redis://host:6379/0 or redis+cluster://h:p,h:p"),
]


def open_store(file: Path | None, url: str | None) -> tuple[Settings, RedisContextStore]:
    """Return the settings and a store for the configuration, with ``url`` overriding it."""
    settings = load_settings(file)
    store_settings = settings.store
    if url is not None:
        try:
            # Keep the configured retention classes: they are what TTLs are checked against.
            store_settings = StoreSettings.from_url(
                url, data_retention=store_settings.data_retention
            )
        except ValueError as exc:
            raise ConfigError(f"--url: {exc}") from None
    return settings, RedisContextStore(store_settings)


def key_manager_for(settings: Settings) -> SessionKeyManager:
    """Return the key manager the configuration names (the one that wrote the records)."""
    return default_key_manager(settings.sessions)
