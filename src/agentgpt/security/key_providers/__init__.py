"""Key providers: where key-encryption keys come from (local keyset file, AWS KMS)."""

from agentgpt.security.key_providers.protocol import Kek, KekInfo, KeyProvider

__all__ = ["Kek", "KekInfo", "KeyProvider"]
