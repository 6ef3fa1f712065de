"""Choose the key manager that encrypts session records, from the configuration."""

from __future__ import annotations

from agentgpt.config.settings import SessionSettings
from agentgpt.errors import ConfigError
from agentgpt.security.encryptor import SessionEncryptor
from agentgpt.security.plaintext import PlaintextKeyManager
from agentgpt.security.session_keys import SessionKeyManager

_shared: dict[tuple[str, str], SessionKeyManager] = {}


def default_key_manager(settings: SessionSettings) -> SessionKeyManager:
    """Return the configured key manager: envelope encryption (default) or explicit plaintext."""
    if settings.encryption == "none":
        return PlaintextKeyManager()
    if settings.encryption == "kms" and not settings.key_arn:
        raise ConfigError(
            "sessions.encryption=kms needs sessions.key_arn ('aws:kms:<alias>' or an ARN)"
        )
    key_arn = (settings.key_arn or "local:") if settings.encryption == "kms" else "local:"
    # One per process and key: its cache of unwrapped data keys serves every manager.
    cache_key = (key_arn, settings.model_dump_json(include={"key_rotation", "kms"}))
    if cache_key not in _shared:
        _shared[cache_key] = SessionEncryptor(key_arn, settings=settings)
    return _shared[cache_key]
