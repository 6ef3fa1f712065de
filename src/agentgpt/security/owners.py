"""Session owners: user ids normalised once (NFC), stored as a keyed hash, compared as bytes.

A session's metadata never holds its owner's user id in clear: it holds
``h1:<HMAC-SHA256(owner key, NFC(user id) as UTF-8)>``. Without the owner key (a 32-byte
file in the data directory, 0600, shared by every API process like the local keyset) a
dump of the store cannot be matched against a list of customer ids. Sessions written
before this scheme hold the clear id in the ``owner`` field; they still match (the clear
id is normalised and compared as bytes), so no migration is needed: they age out with
their retention.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import unicodedata
from pathlib import Path

from agentgpt.config.paths import data_home
from agentgpt.errors import ConfigError

HASH_PREFIX = "h1:"
_KEY_BYTES = 32


def normalise_user(user: str) -> str:
    """The canonical form of a user id: Unicode NFC (``"jose\\u0301"`` is ``"josé"``)."""
    return unicodedata.normalize("NFC", user)


def user_bytes(user: str) -> bytes:
    """The normalised user id as bytes (lone surrogates kept, never a UnicodeEncodeError)."""
    return normalise_user(user).encode("utf-8", "surrogatepass")


def same_user(a: str, b: str) -> bool:
    """True when two user ids are the same after NFC, compared in constant time as bytes."""
    return hmac.compare_digest(user_bytes(a), user_bytes(b))


def default_owner_key_path() -> Path:
    """Where the owner key lives unless ``AGENTGPT_OWNER_KEY_FILE`` names another file."""
    configured = os.environ.get("AGENTGPT_OWNER_KEY_FILE")
    return Path(configured) if configured else data_home() / "keys" / "owner-hmac.key"


def load_owner_key(path: Path | None = None) -> bytes:
    """Read the owner key, creating it (random, mode 0600) on first use."""
    path = path or default_owner_key_path()
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        # O_EXCL: two processes racing to create the key must end up with the same one.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(path)
    with os.fdopen(fd, "wb") as fh:
        fh.write(secrets.token_bytes(_KEY_BYTES))
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ConfigError(f"cannot read the owner key {path}: {exc.strerror}") from None
    if len(key) < _KEY_BYTES:
        raise ConfigError(f"the owner key {path} is shorter than {_KEY_BYTES} bytes; restore it")
    return key


class OwnerHasher:
    """Turns user ids into the keyed hashes stored as session owners, and checks them."""

    def __init__(self, key: bytes | None = None) -> None:
        """Hash with ``key``, or the data directory's owner key."""
        self._key = key if key is not None else load_owner_key()

    def digest(self, user: str) -> str:
        """The stored form of ``user``: ``h1:`` and 64 hex digits."""
        mac = hmac.new(self._key, user_bytes(user), hashlib.sha256).hexdigest()
        return HASH_PREFIX + mac

    def matches(self, stored: str, user: str) -> bool:
        """True when ``stored`` (a hash, or a legacy clear id) names ``user``."""
        if stored.startswith(HASH_PREFIX):
            return hmac.compare_digest(stored.encode(), self.digest(user).encode())
        return bool(stored) and same_user(stored, user)
