"""The key-provider protocol: versioned key-encryption keys (KEKs) behind one interface.

A provider owns a *keyset*: numbered KEK versions, one of them primary. Session data keys
are wrapped under the primary; any version still in the keyset unwraps. Rotation adds a
version and makes it primary; retiring a version destroys it (after the re-wrap moved
every session off it), which puts copies of wrapped keys in old backups and AOF files
beyond use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


@dataclass(frozen=True, slots=True)
class Kek:
    """One unwrapped KEK version, ready to wrap and unwrap data keys."""

    id: int
    created: float
    aead: AESGCM


@dataclass(frozen=True, slots=True)
class KekInfo:
    """What may be shown about a KEK version (never its material)."""

    id: int
    created: float
    primary: bool


class KeyProvider(Protocol):
    """Source of KEKs. Blocking methods may do file or network I/O: call them off the loop.

    Every failure to reach or use the provider raises ``KeyProviderUnavailable`` with what
    to check; no method ever falls back to storing keys or records in clear.
    """

    @property
    def kind(self) -> str:
        """Short provider name recorded with wrapped keys (``local``, ``aws-kms``)."""
        ...

    @property
    def keyset_id(self) -> str:
        """Identifier of the keyset, recorded with wrapped keys to name a mismatch."""
        ...

    @property
    def rotatable(self) -> bool:
        """False when the keyset is given from outside (environment) and is read-only."""
        ...

    def describe(self) -> str:
        """Where the keys come from, for messages (never key material)."""
        ...

    def cached(self, kek_id: int | None = None) -> Kek | None:
        """Return a KEK (the primary when ``kek_id`` is None) if usable without I/O."""
        ...

    def primary(self) -> Kek:
        """Return the primary KEK (blocking: may create the keyset or call KMS)."""
        ...

    def kek(self, kek_id: int) -> Kek:
        """Return KEK ``kek_id`` (blocking; rereads the keyset once if it is unknown)."""
        ...

    def rotate(self, if_older_than: float | None = None) -> Kek:
        """Add a KEK version and make it primary, unless the primary is younger than this."""
        ...

    def retire(self, kek_id: int) -> None:
        """Destroy a non-primary KEK version (keys wrapped by it can no longer be opened)."""
        ...

    def versions(self) -> list[KekInfo]:
        """The KEK versions of the keyset, oldest first (blocking)."""
        ...
