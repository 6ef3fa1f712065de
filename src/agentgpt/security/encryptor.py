"""SessionEncryptor: envelope encryption of session records (the guide's public name).

One AES-256-GCM data key per session (``aead.py`` says why ``cryptography``), wrapped by
the primary KEK of a key provider (``local:`` keyset file or AWS KMS) and stored in the
session's metadata field ``dk`` as a small *keyring*: every data key the session has had,
each recording the KEK version that wraps it. Records name the data key they were sealed
under, so a long-lived session can move to a new data key while its older records stay
readable. Rotation adds KEK versions on schedule; ``rewrap.py`` moves keyrings to the
newest one.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from datetime import timedelta

import msgspec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from agentgpt.config.durations import parse_rotation
from agentgpt.config.settings import SessionSettings
from agentgpt.errors import IntegrityError, KeyProviderUnavailable
from agentgpt.security import aead
from agentgpt.security.key_providers.protocol import Kek, KeyProvider
from agentgpt.security.key_providers.resolve import provider_for

CACHE_SIZE = 100_000
_RING = b"\x02"
_LEGACY_RING = b"\x01"


class WrappedDataKey(msgspec.Struct, array_like=True, frozen=True):
    """One data key of a session, wrapped by KEK version ``kek``."""

    id: int
    kek: int
    created: int
    blob: bytes


class Keyring(msgspec.Struct, array_like=True, frozen=True):
    """A session's wrapped data keys; the last one is primary (new records)."""

    provider: str
    keyset: str
    keys: list[WrappedDataKey]


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(Keyring).decode


def _wrap_ad(session_id: str, key_id: int) -> bytes:
    # Binds a wrapped key to its session and slot in the keyring: moved, it does not open.
    return b"agdk1|%s|%d" % (session_id.encode(), key_id)


def parse_keyring(session_id: str, wrapped: bytes) -> Keyring:
    """Parse a stored ``dk`` field (``IntegrityError`` if absent or malformed)."""
    if not wrapped:
        raise IntegrityError(
            f"session {session_id} has no data key (erased, or stored unencrypted)"
        )
    if wrapped[:1] == _LEGACY_RING:
        # Single key wrapped by the first local KEK, before keyrings existed.
        return Keyring("local", "", [WrappedDataKey(0, 1, 0, wrapped[1:])])
    try:
        if wrapped[:1] != _RING:
            raise msgspec.DecodeError("unknown keyring format")
        return _decode(wrapped[1:])
    except msgspec.DecodeError as exc:
        raise IntegrityError(
            f"session {session_id}: the stored data key is corrupt ({exc})"
        ) from None


class SessionEncryptor:
    """Envelope encryption with per-session data keys, KEK rotation and crypto-shredding.

    ``key_arn``: ``"local:"`` (default; ``"local:/path/keyset.json"``), ``"aws:kms:<alias>"``
    (resolved through ``sessions.kms.keys``) or ``"arn:aws:kms:..."``. ``key_rotation``:
    ``"daily"``, ``"hourly"``, ``"weekly"``, a duration (``"12h"``), a ``timedelta``, or
    ``"never"``; the default comes from ``sessions.key_rotation`` (daily).
    """

    def __init__(
        self,
        key_arn: str | None = None,
        key_rotation: str | timedelta | None = None,
        *,
        data_key_rotation: str | timedelta | None = None,
        provider: KeyProvider | None = None,
        settings: SessionSettings | None = None,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        """Choose the key provider and the rotation periods (nothing is read yet)."""
        settings = settings if settings is not None else _loaded_settings()
        self.key_arn = key_arn or settings.key_arn or "local:"
        self.provider = provider if provider is not None else provider_for(self.key_arn, settings)
        rotation = settings.key_rotation if key_rotation is None else parse_rotation(key_rotation)
        self.key_rotation = rotation
        self.data_key_rotation = (
            rotation if data_key_rotation is None else parse_rotation(data_key_rotation)
        )
        self._cache: OrderedDict[str, tuple[bytes, aead.SessionCipher]] = OrderedDict()
        self._cache_size = cache_size
        self._keyset_id: str | None = None

    def __repr__(self) -> str:
        """Show the provider, never key material."""
        return f"SessionEncryptor({self.provider.describe()!r}, key_rotation={self.key_rotation})"

    @property
    def encrypts(self) -> bool:
        """Always True."""
        return True

    # --- KEKs --------------------------------------------------------------------------

    async def primary_kek(self) -> Kek:
        """The primary KEK, rotated first when the schedule says it is due."""
        kek = self.provider.cached(None)
        if kek is None:
            kek = await asyncio.to_thread(self.provider.primary)
            self._keyset_id = self.provider.keyset_id
        if self.rotation_due(kek):
            kek = await self.rotate(if_older_than=self._rotation_s())
        return kek

    def rotation_due(self, kek: Kek) -> bool:
        """True when a rotation period is set and the primary KEK is older than it."""
        seconds = self._rotation_s()
        return (
            seconds is not None and self.provider.rotatable and time.time() - kek.created >= seconds
        )

    async def rotate(self, if_older_than: float | None = None) -> Kek:
        """Make a new KEK version primary now (or only if the primary is older than this)."""
        kek = await asyncio.to_thread(self.provider.rotate, if_older_than)
        self._keyset_id = self.provider.keyset_id
        return kek

    async def kek(self, kek_id: int) -> Kek:
        """KEK version ``kek_id`` (cached, else from the provider off the event loop)."""
        kek = self.provider.cached(kek_id)
        if kek is None:
            kek = await asyncio.to_thread(self.provider.kek, kek_id)
        return kek

    def _rotation_s(self) -> float | None:
        return self.key_rotation.total_seconds() if self.key_rotation else None

    # --- SessionKeyManager -------------------------------------------------------------

    async def new_session_key(self, session_id: str) -> tuple[bytes, aead.SessionCipher]:
        """Create the session's first data key: (keyring to store, cipher)."""
        kek = await self.primary_kek()
        key = AESGCM.generate_key(bit_length=256)
        entry = WrappedDataKey(
            1, kek.id, int(time.time()), aead.seal(kek.aead, key, _wrap_ad(session_id, 1))
        )
        wrapped = self._encode_ring([entry])
        cipher = aead.SessionCipher({1: AESGCM(key)}, 1)
        self._remember(session_id, wrapped, cipher)
        return wrapped, cipher

    async def open_session_key(self, session_id: str, wrapped: bytes) -> aead.SessionCipher:
        """Unwrap the session's data keys (cached per session and stored keyring)."""
        cached = self._cache.get(session_id)
        if cached is not None and cached[0] == wrapped:
            self._cache.move_to_end(session_id)
            return cached[1]
        ring = parse_keyring(session_id, wrapped)
        await self._check_provider(session_id, ring)
        keys = {}
        for entry in ring.keys:
            kek = await self.kek(entry.kek)
            keys[entry.id] = AESGCM(self._unwrap(session_id, entry, kek, not ring.keyset))
        cipher = aead.SessionCipher(keys, ring.keys[-1].id)
        self._remember(session_id, wrapped, cipher)
        return cipher

    def forget(self, session_id: str) -> None:
        """Drop the session's unwrapped keys from this process (erasure)."""
        self._cache.pop(session_id, None)

    def cached_sessions(self) -> int:
        """How many sessions have unwrapped keys in this process's cache."""
        return len(self._cache)

    def is_cached(self, session_id: str) -> bool:
        """True when this process holds the session's unwrapped data keys."""
        return session_id in self._cache

    # --- re-wrap and data-key rotation -------------------------------------------------

    def rewrapped(
        self, session_id: str, wrapped: bytes, primary: Kek, keks: dict[int, Kek], now: float
    ) -> tuple[bytes | None, bool]:
        """Return (new keyring or None if already current, whether a data key was added).

        Moves every data key to the ``primary`` KEK and adds a fresh data key when the
        session's primary one is older than ``data_key_rotation``. Needs the KEKs the
        keyring names in ``keks`` (``KeyError`` otherwise: the caller fetches them).
        """
        ring = parse_keyring(session_id, wrapped)
        entries, changed = [], wrapped[:1] != _RING
        for entry in ring.keys:
            if entry.kek == primary.id and not changed:
                entries.append(entry)
                continue
            key = self._unwrap(session_id, entry, keks[entry.kek], not ring.keyset)
            blob = aead.seal(primary.aead, key, _wrap_ad(session_id, entry.id))
            entries.append(WrappedDataKey(entry.id, primary.id, entry.created, blob))
            changed = True
        rotate = self.data_key_rotation is not None and (
            now - entries[-1].created >= self.data_key_rotation.total_seconds()
        )
        if rotate:
            new_id = max(e.id for e in entries) + 1
            if new_id > aead.MAX_KEY_ID:
                raise IntegrityError(f"session {session_id} has used every data-key id")
            key = AESGCM.generate_key(bit_length=256)
            blob = aead.seal(primary.aead, key, _wrap_ad(session_id, new_id))
            entries.append(WrappedDataKey(new_id, primary.id, int(now), blob))
        if not (changed or rotate):
            return None, False
        return self._encode_ring(entries), rotate

    def kek_ids(self, session_id: str, wrapped: bytes) -> set[int]:
        """The KEK versions a stored keyring needs."""
        return {entry.kek for entry in parse_keyring(session_id, wrapped).keys}

    # --- plumbing ----------------------------------------------------------------------

    def _encode_ring(self, entries: list[WrappedDataKey]) -> bytes:
        keyset = self._keyset_id if self._keyset_id is not None else self.provider.keyset_id
        return _RING + _encode(Keyring(self.provider.kind, keyset, entries))

    def _unwrap(self, session_id: str, entry: WrappedDataKey, kek: Kek, legacy: bool) -> bytes:
        ad = b"dk|" + session_id.encode() if legacy else _wrap_ad(session_id, entry.id)
        what = f"data key {entry.id} of session {session_id}"
        return aead.open_sealed(kek.aead, entry.blob, ad, what)

    async def _check_provider(self, session_id: str, ring: Keyring) -> None:
        if not ring.keyset:
            return
        if self._keyset_id is None:
            await asyncio.to_thread(self.provider.primary)
            self._keyset_id = self.provider.keyset_id
        if ring.provider != self.provider.kind or ring.keyset != self._keyset_id:
            raise KeyProviderUnavailable(
                f"session {session_id} is encrypted under the {ring.provider} keyset "
                f"{ring.keyset}, but this process uses {self.provider.describe()} "
                f"(keyset {self._keyset_id}): configure the same key provider"
            )

    def _remember(self, session_id: str, wrapped: bytes, cipher: aead.SessionCipher) -> None:
        self._cache[session_id] = (wrapped, cipher)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


def _loaded_settings() -> SessionSettings:
    from agentgpt.config.defaults import default_settings

    return default_settings().sessions
