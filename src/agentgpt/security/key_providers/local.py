"""The ``local:`` provider: KEKs in a keyset file of the data directory (mode 0600).

Suitable for development and single-node deployments: whoever reads the file (or the
environment) holds the keys. ``AGENTGPT_LOCAL_KEYSET`` may carry the keyset JSON itself
(e.g. from a secret manager; it cannot be rotated from here), and the single base64 key
of ``AGENTGPT_LOCAL_KEK`` (the previous format) still works as KEK version 1.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import time
from pathlib import Path

from agentgpt.config.paths import data_home
from agentgpt.errors import KeyProviderUnavailable
from agentgpt.security.key_providers.keyset import KeysetDoc, KeysetProvider

KEYSET_ENV = "AGENTGPT_LOCAL_KEYSET"
LEGACY_KEK_ENV = "AGENTGPT_LOCAL_KEK"
_KEY_BYTES = 32


def default_keyset_path() -> Path:
    """``<data dir>/keys/local-keyset.json``."""
    return data_home() / "keys" / "local-keyset.json"


class LocalKeyProvider(KeysetProvider):
    """KEK versions kept in clear in a private keyset file (or the environment)."""

    kind = "local"

    def __init__(self, path: Path | None = None) -> None:
        """Use the keyset at ``path`` (default ``<data dir>/keys/local-keyset.json``)."""
        super().__init__(path or default_keyset_path(), cache_ttl=None)
        self._env_doc: KeysetDoc | None = _keyset_from_env()

    def describe(self) -> str:
        """Where the keys come from."""
        if self._env_doc is not None:
            return (
                f"local keyset from ${KEYSET_ENV if KEYSET_ENV in os.environ else LEGACY_KEK_ENV}"
            )
        return f"local keyset {self.path}"

    def _read_only(self) -> KeysetDoc | None:
        return self._env_doc

    def _new_material(self, kek_id: int) -> tuple[bytes, bytes]:
        key = secrets.token_bytes(_KEY_BYTES)
        return key, key

    def _unwrap_material(self, kek_id: int, material: bytes) -> bytes:
        if len(material) != _KEY_BYTES:
            raise KeyProviderUnavailable(
                f"KEK version {kek_id} in {self.describe()} is not 32 bytes"
            )
        return material

    def _initial_doc(self, plain: bytes, material: bytes) -> KeysetDoc:
        doc = super()._initial_doc(plain, material)
        # Keep data written under the single-key format readable: its KEK is version 1.
        legacy = self.path.with_name("local-kek")
        try:
            old = legacy.read_bytes()
        except FileNotFoundError:
            return doc
        except OSError as exc:
            raise KeyProviderUnavailable(f"cannot read {legacy}: {exc.strerror}") from None
        if len(old) == _KEY_BYTES:
            doc.keys[1] = (legacy.stat().st_mtime, old)
        return doc


def _keyset_from_env() -> KeysetDoc | None:
    text = os.environ.get(KEYSET_ENV)
    if text:
        return KeysetDoc.parse(text, f"${KEYSET_ENV}")
    legacy = os.environ.get(LEGACY_KEK_ENV)
    if not legacy:
        return None
    try:
        key = base64.b64decode(legacy, validate=True)
    except binascii.Error:
        raise KeyProviderUnavailable(f"{LEGACY_KEK_ENV} is not valid base64") from None
    if len(key) != _KEY_BYTES:
        raise KeyProviderUnavailable(f"{LEGACY_KEK_ENV} must hold 32 bytes (base64)")
    return KeysetDoc("env", "local", 1, {1: (time.time(), key)})
