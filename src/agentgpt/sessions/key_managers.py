"""Choose the key manager that encrypts session records, from the configuration."""

from __future__ import annotations

from agentgpt.config.settings import SessionSettings
from agentgpt.security.plaintext import PlaintextKeyManager
from agentgpt.security.protocols import SessionKeyManager


def default_key_manager(settings: SessionSettings) -> SessionKeyManager:
    """Return the configured key manager: local keyset (default), KMS, or plaintext."""
    if settings.encryption == "none":
        return PlaintextKeyManager()
    from agentgpt.security.encryptor import SessionEncryptor

    key_arn = settings.key_arn if settings.encryption == "kms" else None
    return SessionEncryptor(key_arn=key_arn)
