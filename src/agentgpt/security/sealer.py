"""RecordSealer: the one place a session record is encoded, compressed and encrypted.

The session engine writes records through it and the audits (verify, leakage scan) read
them through it, so the binding (session id, record kind, version as AEAD associated
data) and the codec cannot drift apart between the writer and its checks.
"""

from __future__ import annotations

from typing import TypeVar

from agentgpt.security.session_keys import RecordCipher
from agentgpt.store import records
from agentgpt.store.codec import RecordCodec

T = TypeVar("T")

_codec = RecordCodec()


class RecordSealer:
    """Seals and opens the records of one session under its data key."""

    __slots__ = ("cipher", "session_id")

    def __init__(self, cipher: RecordCipher, session_id: str) -> None:
        """Bind the data key ``cipher`` to ``session_id``."""
        self.cipher = cipher
        self.session_id = session_id

    def seal(self, obj: object, kind: str, version: int, *, compress: bool = True) -> bytes:
        """Encode, compress and encrypt ``obj`` bound to this session, ``kind``, ``version``."""
        binding = records.associated_data(self.session_id, kind, version)
        return self.cipher.encrypt(_codec.encode(obj, compress=compress), binding)

    def open(self, blob: bytes, kind: str, version: int, type_: type[T]) -> T:
        """Decrypt and decode a sealed record (``IntegrityError`` if it is not ours)."""
        binding = records.associated_data(self.session_id, kind, version)
        return _codec.decode(self.cipher.decrypt(blob, binding), type_)
