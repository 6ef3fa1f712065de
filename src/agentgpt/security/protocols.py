"""Seams of the security layer: what the session engine depends on, and what it supplies.

``RecordCipher`` and ``SessionKeyManager`` are what the session engine uses. The rest is
what the audits (``verify``, ``leakage_scan``) need from the layers above them, which they
must not import: the types the engine writes a session's context and turn-log entries as
(``RecordTypes``, given by ``agentgpt.sessions.records.RECORD_TYPES``), and the agent
pools they probe (``AuditedPool``, which ``agentgpt.agents.pool.AgentPool`` satisfies).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


class Sequenced(Protocol):
    """A record numbered by the turn that wrote it."""

    @property
    def seq(self) -> int:
        """The turn's sequence number in its session (1, 2, ...)."""
        ...


class LogEntry(Sequenced, Protocol):
    """What the audits read of a turn-log entry."""

    @property
    def prev(self) -> bytes:
        """sha256 of the sealed entry before it (``b""`` for the first): the hash chain."""
        ...

    @property
    def fence(self) -> int | None:
        """The fencing token the turn committed under (None without a lock)."""
        ...


class ContextRecord(Protocol):
    """What the audits read of a session's context record."""

    @property
    def turns(self) -> int:
        """Turns committed so far (equals the metadata version)."""
        ...

    @property
    def window(self) -> Sequence[Sequenced]:
        """The recent exchanges, oldest first."""
        ...


class RecordTypes(Protocol):
    """The msgspec types a session's context and log entries are encoded as.

    The audits decode records into these types (a record that decodes is well formed) and
    walk every string in them (``leakage_scan``), so they must be msgspec Structs.
    """

    @property
    def context(self) -> type[ContextRecord]:
        """The type of the ``ctx`` record."""
        ...

    @property
    def log_entry(self) -> type[LogEntry]:
        """The type of each ``log`` entry."""
        ...


class AuditedPool(Protocol):
    """What the leakage audit needs of an agent pool."""

    @property
    def agent_class(self) -> Callable[[], object]:
        """What the pool makes agents with (named in findings)."""
        ...

    @property
    def idle(self) -> int:
        """Agents checked in now."""
        ...

    def holding_state(self) -> Sequence[object]:
        """Idle agents that still hold per-call data after check-in (must be none)."""
        ...

    async def probe(self, text: str) -> None:
        """Run one call with ``text`` and an empty context through a pooled agent."""
        ...
