"""The explicit no-encryption key manager, for development only."""

from __future__ import annotations

from agentgpt.security.session_keys import RecordCipher


class _IdentityCipher:
    """Stores records as they are; associated data is ignored."""

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        """Return ``plaintext`` unchanged."""
        return plaintext

    def decrypt(self, ciphertext: bytes, associated_data: bytes) -> bytes:
        """Return ``ciphertext`` unchanged."""
        return ciphertext


class PlaintextKeyManager:
    """Writes records unencrypted; must be chosen explicitly (``encryption: none``)."""

    _cipher = _IdentityCipher()

    @property
    def encrypts(self) -> bool:
        """Always False: nothing is encrypted."""
        return False

    async def new_session_key(self, session_id: str) -> tuple[bytes, RecordCipher]:
        """Return an empty wrapped key and the identity cipher."""
        return b"", self._cipher

    async def open_session_key(self, session_id: str, wrapped: bytes) -> RecordCipher:
        """Return the identity cipher."""
        return self._cipher

    def forget(self, session_id: str) -> None:
        """Nothing is cached."""
