"""A versioned keyset of KEKs in a JSON file (mode 0600), shared by the providers.

The file lists KEK versions as ``material``: the raw key for the local provider, a KMS
ciphertext blob for AWS KMS (so that file alone opens nothing). Processes sharing the
data directory share the file: a rotation is written atomically (temp file + rename,
under an exclusive ``flock``) and other processes reread it when its mtime changes or
when they meet a KEK id they do not know.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from agentgpt.config.paths import ensure_dir
from agentgpt.errors import KeyProviderUnavailable
from agentgpt.security.key_providers.protocol import Kek, KekInfo

FORMAT = "agentgpt-keyset-1"
_RELOAD_CHECK_S = 1.0


@dataclass(slots=True)
class KeysetDoc:
    """The parsed keyset file."""

    keyset_id: str
    provider: str
    primary: int
    keys: dict[int, tuple[float, bytes]] = field(default_factory=dict)  # id -> (created, material)
    extra: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        """Serialise (material base64-encoded)."""
        return json.dumps(
            {
                "format": FORMAT,
                "keyset_id": self.keyset_id,
                "provider": self.provider,
                "primary": self.primary,
                **self.extra,
                "keys": [
                    {"id": i, "created": c, "material": base64.b64encode(m).decode()}
                    for i, (c, m) in sorted(self.keys.items())
                ],
            },
            indent=1,
        )

    @classmethod
    def parse(cls, text: str, where: str) -> KeysetDoc:
        """Parse a keyset document; ``KeyProviderUnavailable`` naming ``where`` if bad."""
        try:
            raw: dict[str, Any] = json.loads(text)
            if raw.get("format") != FORMAT:
                raise ValueError(f"format is not {FORMAT}")
            keys = {
                int(k["id"]): (float(k["created"]), base64.b64decode(k["material"]))
                for k in raw["keys"]
            }
            primary = int(raw["primary"])
            if primary not in keys:
                raise ValueError(f"primary {primary} is not in the keyset")
            known = {"format", "keyset_id", "provider", "primary", "keys"}
            extra = {k: str(v) for k, v in raw.items() if k not in known}
            return cls(str(raw["keyset_id"]), str(raw["provider"]), primary, keys, extra)
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyProviderUnavailable(f"keyset {where} is not a valid keyset: {exc}") from None


class KeysetProvider:
    """A provider whose KEK versions live in a keyset file; subclasses protect the material."""

    kind = "abstract"

    def __init__(self, path: Path, *, cache_ttl: float | None = None) -> None:
        """Keep the keyset at ``path``; unwrapped KEKs are cached ``cache_ttl`` s (None: ever)."""
        self.path = path
        self.cache_ttl = cache_ttl
        self._doc: KeysetDoc | None = None
        self._mtime = 0.0
        self._checked = 0.0
        self._keks: dict[int, tuple[Kek, float]] = {}
        self._lock = threading.RLock()

    # --- what subclasses provide -------------------------------------------------------

    def _new_material(self, kek_id: int) -> tuple[bytes, bytes]:
        """Return (plain 32-byte KEK, material to store) for a new version."""
        raise NotImplementedError

    def _unwrap_material(self, kek_id: int, material: bytes) -> bytes:
        """Return the plain KEK from its stored material."""
        raise NotImplementedError

    def _read_only(self) -> KeysetDoc | None:
        """A keyset given from outside (environment) that this process cannot rotate."""
        return None

    def describe(self) -> str:
        """Where the keys come from."""
        return f"{self.kind} keyset {self.path}"

    @property
    def rotatable(self) -> bool:
        """False for a keyset given through the environment."""
        return self._read_only() is None

    # --- the protocol ------------------------------------------------------------------

    @property
    def keyset_id(self) -> str:
        """Identifier of the keyset (loads it)."""
        return self._document().keyset_id

    def cached(self, kek_id: int | None = None) -> Kek | None:
        """Return a KEK usable without I/O, if any (None when stale or unknown)."""
        doc = self._doc
        if doc is None:
            return None
        now = time.monotonic()
        if kek_id is None:
            if now - self._checked > _RELOAD_CHECK_S:
                return None  # time to look for a rotation made by another process
            kek_id = doc.primary
        entry = self._keks.get(kek_id)
        if entry is None or (self.cache_ttl is not None and now - entry[1] > self.cache_ttl):
            return None
        return entry[0]

    def primary(self) -> Kek:
        """Return the primary KEK (creates the keyset on first use)."""
        with self._lock:
            self._reload_if_changed()
            return self._unwrapped(self._document().primary)

    def kek(self, kek_id: int) -> Kek:
        """Return KEK ``kek_id``; reread the keyset once if this process does not know it."""
        with self._lock:
            if kek_id not in self._document().keys:
                self._reload(force=True)
            if kek_id not in self._document().keys:
                raise KeyProviderUnavailable(
                    f"KEK version {kek_id} is not in {self.describe()} (retired, or another "
                    "keyset): check that every process uses the same keyset"
                )
            return self._unwrapped(kek_id)

    def rotate(self, if_older_than: float | None = None) -> Kek:
        """Add a KEK version and make it primary (unless the primary is young enough)."""
        with self._lock, self._exclusive():
            doc = self._reload(force=True)
            created, _ = doc.keys[doc.primary]
            if if_older_than is not None and time.time() - created < if_older_than:
                return self._unwrapped(doc.primary)
            new_id = max(doc.keys) + 1
            plain, material = self._new_material(new_id)
            doc.keys[new_id] = (time.time(), material)
            doc.primary = new_id
            self._write(doc)
            self._keks[new_id] = (Kek(new_id, doc.keys[new_id][0], AESGCM(plain)), time.monotonic())
            return self._keks[new_id][0]

    def retire(self, kek_id: int) -> None:
        """Destroy a non-primary KEK version."""
        with self._lock, self._exclusive():
            doc = self._reload(force=True)
            if kek_id == doc.primary:
                raise KeyProviderUnavailable(f"KEK version {kek_id} is primary: rotate first")
            if doc.keys.pop(kek_id, None) is not None:
                self._write(doc)
            self._keks.pop(kek_id, None)

    def versions(self) -> list[KekInfo]:
        """KEK versions, oldest first."""
        with self._lock:
            doc = self._reload(force=True)
            return [KekInfo(i, c, i == doc.primary) for i, (c, _) in sorted(doc.keys.items())]

    # --- plumbing ----------------------------------------------------------------------

    def _unwrapped(self, kek_id: int) -> Kek:
        doc = self._document()
        entry = self._keks.get(kek_id)
        now = time.monotonic()
        if entry is not None and (self.cache_ttl is None or now - entry[1] <= self.cache_ttl):
            return entry[0]
        created, material = doc.keys[kek_id]
        kek = Kek(kek_id, created, AESGCM(self._unwrap_material(kek_id, material)))
        self._keks[kek_id] = (kek, now)
        return kek

    def _document(self) -> KeysetDoc:
        if self._doc is None:
            self._reload(force=True)
        assert self._doc is not None
        return self._doc

    def _reload_if_changed(self) -> None:
        if time.monotonic() - self._checked > _RELOAD_CHECK_S:
            self._reload(force=False)

    def _reload(self, *, force: bool) -> KeysetDoc:
        self._checked = time.monotonic()
        given = self._read_only()
        if given is not None:
            self._doc = given
            return given
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            return self._create()
        except OSError as exc:
            raise KeyProviderUnavailable(f"cannot read {self.describe()}: {exc.strerror}") from None
        if force or self._doc is None or mtime != self._mtime:
            try:
                text = self.path.read_text(encoding="utf-8")
            except OSError as exc:
                raise KeyProviderUnavailable(
                    f"cannot read {self.describe()}: {exc.strerror}; check its owner and mode"
                ) from None
            self._doc, self._mtime = KeysetDoc.parse(text, str(self.path)), mtime
            # Retired versions must not stay usable from the cache.
            for kek_id in set(self._keks) - set(self._doc.keys):
                self._keks.pop(kek_id)
        return self._doc

    def _create(self) -> KeysetDoc:
        with self._exclusive():
            if self.path.exists():  # another process won the race
                return self._reload(force=True)
            plain, material = self._new_material(1)
            doc = self._initial_doc(plain, material)
            self._write(doc)
            self._doc = doc
            return doc

    def _initial_doc(self, plain: bytes, material: bytes) -> KeysetDoc:
        return KeysetDoc(secrets.token_hex(8), self.kind, 1, {1: (time.time(), material)})

    def _write(self, doc: KeysetDoc) -> None:
        if self._read_only() is not None:
            raise KeyProviderUnavailable(
                "the keyset comes from the environment and cannot be changed here: rotate it "
                "where it is kept, or use a keyset file"
            )
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(doc.to_json())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
        self._doc, self._mtime = doc, self.path.stat().st_mtime

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        ensure_dir(self.path.parent)
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)
