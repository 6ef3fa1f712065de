"""What the session engine needs of its encryption: a record cipher and a key manager.

``SessionEncryptor`` (envelope encryption under a versioned KEK) and
``PlaintextKeyManager`` (development only) implement ``SessionKeyManager``; the sessions
write and read records through the ``RecordCipher`` it hands out (``RecordSealer``).
"""

from __future__ import annotations

from typing import Protocol


class RecordCipher(Protocol):
    """An AEAD bound to one session's data key.

    ``associated_data`` binds a ciphertext to its session, record kind and version;
    ``decrypt`` raises ``agentgpt.errors.IntegrityError`` when the ciphertext or the
    associated data differ from what was encrypted.
    """

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        """Return the ciphertext of ``plaintext`` bound to ``associated_data``."""
        ...

    def decrypt(self, ciphertext: bytes, associated_data: bytes) -> bytes:
        """Return the plaintext, or raise ``IntegrityError``."""
        ...


class SessionKeyManager(Protocol):
    """Creates, unwraps and forgets per-session data keys (envelope encryption).

    The wrapped key is opaque bytes that the session engine stores in the session's
    metadata; only the key manager can turn it back into a cipher.
    """

    @property
    def encrypts(self) -> bool:
        """False only for the explicit plaintext (development) manager."""
        ...

    async def new_session_key(self, session_id: str) -> tuple[bytes, RecordCipher]:
        """Create a data key for ``session_id``: (wrapped key to store, cipher)."""
        ...

    async def open_session_key(self, session_id: str, wrapped: bytes) -> RecordCipher:
        """Unwrap a stored data key (raises ``KeyProviderUnavailable``/``IntegrityError``)."""
        ...

    def forget(self, session_id: str) -> None:
        """Drop any cached key material of ``session_id`` (erasure)."""
        ...
