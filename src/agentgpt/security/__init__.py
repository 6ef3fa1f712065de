"""Encryption at rest and the other security parts of agentgpt sessions."""

from agentgpt.security.encryptor import SessionEncryptor

__all__ = ["SessionEncryptor"]
