"""Choose the key manager that encrypts session records, from the configuration."""

from __future__ import annotations

from agentgpt.config.paths import data_home
from agentgpt.config.settings import SessionSettings
from agentgpt.errors import ConfigError
from agentgpt.security.encryptor import SessionEncryptor
from agentgpt.security.plaintext import PlaintextKeyManager
from agentgpt.security.session_keys import SessionKeyManager

#: The default runtime's key managers (the guide's ``SessionManager()`` and the CLI): one
#: per key, so its cache of unwrapped data keys serves every manager built without one.
#: An ``AppContext`` builds and owns its own (``build_key_manager``).
_defaults: dict[tuple[str, str, str], SessionKeyManager] = {}


def build_key_manager(settings: SessionSettings) -> SessionKeyManager:
    """A new key manager as configured: envelope encryption (default) or explicit plaintext."""
    if settings.encryption == "none":
        return PlaintextKeyManager()
    if settings.encryption == "kms" and not settings.key_arn:
        raise ConfigError(
            "sessions.encryption=kms needs sessions.key_arn ('aws:kms:<alias>' or an ARN)"
        )
    return SessionEncryptor(_key_arn(settings), settings=settings)


def default_key_manager(settings: SessionSettings) -> SessionKeyManager:
    """The default runtime's key manager for ``settings`` (built once per key)."""
    if settings.encryption == "none":
        return build_key_manager(settings)
    # "local:" names the keyset in the data directory, so the directory is part of the key:
    # two data directories in one process must not share one keyset's manager.
    cache_key = (
        _key_arn(settings),
        str(data_home()),
        settings.model_dump_json(include={"key_rotation", "kms"}),
    )
    if cache_key not in _defaults:
        _defaults[cache_key] = build_key_manager(settings)
    return _defaults[cache_key]


def _key_arn(settings: SessionSettings) -> str:
    return (settings.key_arn or "local:") if settings.encryption == "kms" else "local:"
