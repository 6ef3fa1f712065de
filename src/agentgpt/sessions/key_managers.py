"""Choose the key manager that encrypts session records, from the configuration."""

from __future__ import annotations

from agentgpt.config.settings import SessionSettings
from agentgpt.errors import ConfigError
from agentgpt.security.local_envelope import LocalEnvelopeEncryptor
from agentgpt.security.plaintext import PlaintextKeyManager
from agentgpt.security.protocols import SessionKeyManager

_shared: dict[str, SessionKeyManager] = {}


def default_key_manager(settings: SessionSettings) -> SessionKeyManager:
    """Return the configured key manager: local envelope (default) or explicit plaintext."""
    if settings.encryption == "none":
        return PlaintextKeyManager()
    if settings.encryption == "kms":
        raise ConfigError("sessions.encryption=kms is not available in this version; use 'local'")
    # One per process: its cache of unwrapped data keys serves every manager.
    if "local" not in _shared:
        _shared["local"] = LocalEnvelopeEncryptor()
    return _shared["local"]
