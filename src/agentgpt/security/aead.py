"""AES-256-GCM record ciphers: one session's data keys, selected by a key id in the header.

Library choice: ``cryptography``'s ``AESGCM`` (OpenSSL underneath), not Tink. Both are
maintained, constant-time AEADs and we write no cipher code either way; ``cryptography``
is already a dependency, costs ~1-2 us per 2 KiB record, and keeps the per-session key
objects tiny, which matters for a re-wrap pass over every session of the store. Tink's
value is its keyset/rotation machinery, but tink-py has no KeysetManager (rotation means
editing serialized protos) and its KMS envelope calls KMS on every operation; the small
versioned keysets below (KEKs per provider, data keys per session) do the same job in
plain, inspectable structures.

Record format: ``0x02 | data-key id (2 bytes, big endian) | nonce (12) | ciphertext+tag``.
Records written before data-key rotation existed (``0x01 | nonce | ct``) read as key 0.
"""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from agentgpt.errors import IntegrityError

NONCE = 12
TAG = 16
_LEGACY = 0x01
_CURRENT = 0x02
_HEADER = 3
MAX_KEY_ID = 0xFFFF


def seal(aead: AESGCM, plaintext: bytes, associated_data: bytes) -> bytes:
    """Return ``nonce | ciphertext+tag`` under a fresh random 96-bit nonce."""
    nonce = secrets.token_bytes(NONCE)
    return nonce + aead.encrypt(nonce, plaintext, associated_data)


def open_sealed(aead: AESGCM, blob: bytes, associated_data: bytes, what: str) -> bytes:
    """Inverse of ``seal``; raise ``IntegrityError`` naming ``what`` on any mismatch."""
    if len(blob) < NONCE + TAG:
        raise IntegrityError(f"{what} is truncated")
    try:
        return aead.decrypt(blob[:NONCE], blob[NONCE:], associated_data)
    except InvalidTag:
        raise IntegrityError(
            f"{what} failed authentication: it was altered, or belongs to another session or record"
        ) from None


class SessionCipher:
    """A session's data keys: encrypts under the primary, decrypts under the id it names."""

    __slots__ = ("_keys", "_prefix", "_primary", "_primary_aead")

    def __init__(self, keys: dict[int, AESGCM], primary: int) -> None:
        """Use ``keys`` (data-key id -> AEAD); new records go under ``primary``."""
        if primary not in keys or not 0 <= primary <= MAX_KEY_ID:
            raise IntegrityError(f"data key {primary} is not among the session's keys")
        self._keys = keys
        self._primary = primary
        self._primary_aead = keys[primary]
        self._prefix = bytes([_CURRENT]) + primary.to_bytes(2, "big")

    @property
    def primary(self) -> int:
        """The id of the data key new records are sealed under."""
        return self._primary

    @property
    def key_ids(self) -> tuple[int, ...]:
        """Ids of every data key this cipher can decrypt with."""
        return tuple(self._keys)

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        """Encrypt under the primary data key, bound to ``associated_data``."""
        return self._prefix + seal(self._primary_aead, plaintext, associated_data)

    def decrypt(self, ciphertext: bytes, associated_data: bytes) -> bytes:
        """Decrypt under the data key the header names, or raise ``IntegrityError``."""
        key_id, body = record_key_id(ciphertext)
        aead = self._keys.get(key_id)
        if aead is None:
            raise IntegrityError(
                f"record was sealed under data key {key_id}, which this session does not hold "
                "(erased, or copied from another session)"
            )
        return open_sealed(aead, body, associated_data, "record")


def record_key_id(ciphertext: bytes) -> tuple[int, bytes]:
    """Return (data-key id, nonce|ciphertext) of a sealed record, or raise IntegrityError."""
    if ciphertext[:1] == bytes([_CURRENT]) and len(ciphertext) >= _HEADER:
        return int.from_bytes(ciphertext[1:_HEADER], "big"), ciphertext[_HEADER:]
    if ciphertext[:1] == bytes([_LEGACY]):
        return 0, ciphertext[1:]
    raise IntegrityError("record is not a valid ciphertext (truncated or unknown format)")
