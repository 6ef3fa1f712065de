"""Connection options shared by the audit commands: ``-f config`` and ``--url``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from agentgpt.cli.options import ConfigFile, StoreUrl, settings_from

if TYPE_CHECKING:
    from agentgpt.config.settings import Settings
    from agentgpt.security.session_keys import SessionKeyManager
    from agentgpt.store.context_store import RedisContextStore

#: The same options as every other command (one definition, in ``cli.options``).
ConfigOption = ConfigFile
UrlOption = StoreUrl


def open_store(file: Path | None, url: str | None) -> tuple[Settings, RedisContextStore]:
    """Return the settings and a store for the configuration, with ``url`` overriding it."""
    # Imported here, not at the top: the CLI starts without the store (see cli.app).
    from agentgpt.store.context_store import RedisContextStore

    settings = settings_from(file, url)
    return settings, RedisContextStore(settings.store)


def key_manager_for(settings: Settings) -> SessionKeyManager:
    """Return the key manager the configuration names (the one that wrote the records)."""
    from agentgpt.sessions.key_managers import default_key_manager

    return default_key_manager(settings.sessions)
