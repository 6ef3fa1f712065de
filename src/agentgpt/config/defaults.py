"""The process's default configuration: the one library caller of ``load_settings``.

The guide's zero-argument forms (``SessionManager()``, ``RedisContextStore()``,
``NLPAgent()``) take what they are not given from here; the service and the CLI build
everything explicitly from one ``Settings`` (``agentgpt.app_context.AppContext``). Read on
every call, not cached: the configuration file and the environment are the source of truth.
"""

from __future__ import annotations

from agentgpt.config.loader import load_settings
from agentgpt.config.settings import Settings


def default_settings() -> Settings:
    """The configuration of ``$AGENTGPT_CONFIG`` and the environment (``ConfigError``)."""
    return load_settings()
