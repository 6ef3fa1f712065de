"""Envelope encryption with a local key-encryption key: the default key manager.

Each session gets its own random 256-bit data key (AES-256-GCM, from ``cryptography``: a
maintained, constant-time implementation; we write no cipher code). The data key is
wrapped by a key-encryption key (KEK) kept in ``<data dir>/keys/local-kek`` (mode 0600) or
given base64-encoded in ``AGENTGPT_LOCAL_KEK``. The wrapped key, stored in the session's
metadata, is bound to the session id, so it cannot be moved to another session.

Erasing a session deletes its wrapped key: without it the records are unreadable
(crypto-shredding). KMS providers and KEK rotation plug in behind the same protocol.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from collections import OrderedDict
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from agentgpt.config.paths import data_home, ensure_dir
from agentgpt.errors import IntegrityError, KeyProviderUnavailable
from agentgpt.security.protocols import RecordCipher

KEK_ENV = "AGENTGPT_LOCAL_KEK"
_NONCE = 12
_VERSION = b"\x01"
CACHE_SIZE = 100_000


class AesGcmCipher:
    """AES-256-GCM with a random 96-bit nonce per record: ``version | nonce | ct+tag``."""

    def __init__(self, key: bytes) -> None:
        """Use ``key`` (32 bytes)."""
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        """Encrypt and authenticate ``plaintext`` bound to ``associated_data``."""
        nonce = secrets.token_bytes(_NONCE)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, associated_data)

    def decrypt(self, ciphertext: bytes, associated_data: bytes) -> bytes:
        """Return the plaintext or raise ``IntegrityError``."""
        if len(ciphertext) < 1 + _NONCE + 16 or ciphertext[:1] != _VERSION:
            raise IntegrityError("record is not a valid ciphertext (truncated or unknown format)")
        nonce, body = ciphertext[1 : 1 + _NONCE], ciphertext[1 + _NONCE :]
        try:
            return self._aead.decrypt(nonce, body, associated_data)
        except InvalidTag:
            raise IntegrityError(
                "record failed authentication: it was altered, or belongs to another "
                "session or record"
            ) from None


def _load_or_create_kek(path: Path) -> bytes:
    configured = os.environ.get(KEK_ENV)
    if configured:
        try:
            key = base64.b64decode(configured, validate=True)
        except binascii.Error:
            raise KeyProviderUnavailable(f"{KEK_ENV} is not valid base64") from None
        if len(key) != 32:
            raise KeyProviderUnavailable(f"{KEK_ENV} must hold 32 bytes (base64)")
        return key
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise KeyProviderUnavailable(f"cannot read the local key {path}: {exc.strerror}") from None
    ensure_dir(path.parent)
    key = AESGCM.generate_key(bit_length=256)
    # O_EXCL: two processes racing to create the key end up sharing the first one's.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


class LocalEnvelopeEncryptor:
    """Per-session AES-256-GCM data keys wrapped by a local KEK (the default)."""

    def __init__(self, key_path: Path | None = None, cache_size: int = CACHE_SIZE) -> None:
        """Use the KEK at ``key_path`` (default ``<data dir>/keys/local-kek``)."""
        self.key_path = key_path or data_home() / "keys" / "local-kek"
        self._kek: AesGcmCipher | None = None
        self._cache: OrderedDict[str, tuple[bytes, RecordCipher]] = OrderedDict()
        self._cache_size = cache_size

    @property
    def encrypts(self) -> bool:
        """Always True."""
        return True

    def _wrapping(self) -> AesGcmCipher:
        if self._kek is None:
            self._kek = AesGcmCipher(_load_or_create_kek(self.key_path))
        return self._kek

    async def new_session_key(self, session_id: str) -> tuple[bytes, RecordCipher]:
        """Create a data key for the session; return (wrapped key, cipher)."""
        key = AESGCM.generate_key(bit_length=256)
        wrapped = self._wrapping().encrypt(key, b"dk|" + session_id.encode())
        cipher = AesGcmCipher(key)
        self._remember(session_id, wrapped, cipher)
        return wrapped, cipher

    async def open_session_key(self, session_id: str, wrapped: bytes) -> RecordCipher:
        """Unwrap the session's data key (cached per session and wrapped value)."""
        cached = self._cache.get(session_id)
        if cached is not None and cached[0] == wrapped:
            self._cache.move_to_end(session_id)
            return cached[1]
        if not wrapped:
            raise IntegrityError(f"session {session_id} has no data key (stored unencrypted?)")
        key = self._wrapping().decrypt(wrapped, b"dk|" + session_id.encode())
        cipher = AesGcmCipher(key)
        self._remember(session_id, wrapped, cipher)
        return cipher

    def forget(self, session_id: str) -> None:
        """Drop the session's cached key (erasure)."""
        self._cache.pop(session_id, None)

    def _remember(self, session_id: str, wrapped: bytes, cipher: RecordCipher) -> None:
        self._cache[session_id] = (wrapped, cipher)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
