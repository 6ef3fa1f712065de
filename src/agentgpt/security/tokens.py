"""API tokens: Ed25519-signed JWTs carrying a user and scopes, and their verifier.

Signing is asymmetric (EdDSA via PyJWT + ``cryptography``) so API servers need only the
public key: a compromised server cannot mint tokens. The private key lives where tokens
are issued (``agentgpt token create``), by default a 0600 file in the data directory.

Rejections raise ``InvalidToken`` whose message is deliberately generic (it reaches the
caller, who may be an attacker); the precise ``reason`` is kept on the exception for the
operator's logs.
"""

from __future__ import annotations

import os
import secrets
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from agentgpt.config.paths import data_home
from agentgpt.errors import AccessDenied, ConfigError, InvalidInput, InvalidToken
from agentgpt.security.owners import normalise_user, same_user

SCOPES = ("session:create", "session:read", "session:write", "session:monitor", "session:admin")
AUDIENCE = "agentgpt-sessions"
ISSUER = "agentgpt"
ALGORITHM = "EdDSA"
MAX_TTL_S = 30 * 86400
_LEEWAY_S = 5


@dataclass(frozen=True)
class Claims:
    """What a verified token says: who, what they may do, until when."""

    user: str
    scopes: frozenset[str]
    expires_at: float
    token_id: str

    def has(self, scope: str) -> bool:
        """True when the token carries ``scope``."""
        return scope in self.scopes

    def require(self, scope: str) -> None:
        """Raise ``AccessDenied`` unless the token carries ``scope``."""
        if scope not in self.scopes:
            raise AccessDenied(f"this token lacks the scope {scope!r}")

    def may_access(self, owner: str | None) -> bool:
        """True for the session's owner and for operators holding ``session:admin``."""
        # As bytes after NFC: compare_digest refuses non-ASCII str (a 500 for "josé").
        return (owner is not None and same_user(owner, self.user)) or self.has("session:admin")


def _key_dir() -> Path:
    return data_home() / "keys"


def default_private_key_path() -> Path:
    """Where the signing key lives unless configured (``AGENTGPT_TOKEN_PRIVATE_KEY``)."""
    return Path(os.environ.get("AGENTGPT_TOKEN_PRIVATE_KEY") or _key_dir() / "token-ed25519.pem")


def default_public_key_path() -> Path:
    """Where the verifying key lives unless configured (``AGENTGPT_TOKEN_PUBLIC_KEY``)."""
    return Path(os.environ.get("AGENTGPT_TOKEN_PUBLIC_KEY") or _key_dir() / "token-ed25519.pub.pem")


def ensure_signing_key(private_path: Path | None = None) -> Ed25519PrivateKey:
    """Load the signing key, creating it (mode 0600) and its public key on first use."""
    path = private_path or default_private_key_path()
    if path.exists():
        return _load_private(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # O_EXCL: two processes racing to create the key must not overwrite each other's.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _load_private(path)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pub_path = default_public_key_path() if private_path is None else path.with_suffix(".pub.pem")
    pub_path.write_bytes(public)
    return key


def _load_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the token signing key {path}: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{path} is not an Ed25519 private key")
    return key


def load_public_key(path: Path | None = None) -> Ed25519PublicKey:
    """Load the verifying key; fall back to deriving it from a local signing key."""
    path = path or default_public_key_path()
    if not path.exists():
        return ensure_signing_key().public_key()
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the token public key {path}: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"{path} is not an Ed25519 public key")
    return key


class TokenIssuer:
    """Mints signed tokens for a user with a set of scopes and a lifetime."""

    def __init__(self, key: Ed25519PrivateKey | None = None) -> None:
        """Use ``key``, or the local signing key (created on first use)."""
        self._key = key or ensure_signing_key()

    def issue(self, user: str, scopes: Iterable[str], ttl_s: float = 3600.0) -> str:
        """Return a token for ``user`` with ``scopes``, valid for ``ttl_s`` seconds."""
        wanted = sorted(set(scopes))
        if not isinstance(user, str) or not user.strip() or len(user) > 256:
            raise InvalidInput("the token's user must be a non-empty string of <= 256 chars")
        unknown = [s for s in wanted if s not in SCOPES]
        if unknown or not wanted:
            raise InvalidInput(f"unknown or missing scopes {unknown}; choose from {list(SCOPES)}")
        if not 0 < ttl_s <= MAX_TTL_S:
            raise InvalidInput(f"token lifetime must be between 1 s and {MAX_TTL_S // 86400} days")
        now = int(time.time())
        payload = {
            "sub": normalise_user(user),
            "scope": " ".join(wanted),
            "aud": AUDIENCE,
            "iss": ISSUER,
            "iat": now,
            "nbf": now,
            "exp": now + int(ttl_s),
            "jti": secrets.token_urlsafe(12),
        }
        return jwt.encode(payload, self._key, algorithm=ALGORITHM)


#: Verified tokens remembered per process. A miss costs ~260 us of CPU (PyJWT + Ed25519)
#: on the benchmark machine, a hit ~0.6 us; an entry ~600 bytes. 4,096 thrashed with
#: 10,000 live customers (each turn a miss once the set of callers passed the cache):
#: 32,768 covers tens of thousands of callers for ~20 MB.
VERIFIED_CACHE = 32_768


class TokenVerifier:
    """Checks signature, expiry, audience and issuer; the server and the CLI share it."""

    def __init__(
        self, key: Ed25519PublicKey | None = None, cache_size: int = VERIFIED_CACHE
    ) -> None:
        """Verify with ``key``, or the configured/local public key."""
        self._key = key or load_public_key()
        # A portal sends many requests per token: remember verified tokens until they
        # expire instead of checking the Ed25519 signature on every request.
        self._cache: OrderedDict[str, Claims] = OrderedDict()
        self._cache_size = cache_size

    def verify(self, token: str, scope: str | None = None) -> Claims:
        """Return the token's claims; ``InvalidToken`` (401) or ``AccessDenied`` (403)."""
        if not isinstance(token, str) or not token or len(token) > 4096:
            raise _rejected("missing or oversized token")
        claims = self._cache.get(token)
        if claims is None or claims.expires_at + _LEEWAY_S <= time.time():
            claims = self._verified(token)
        else:
            self._cache.move_to_end(token)
        if scope is not None:
            claims.require(scope)
        return claims

    def _verified(self, token: str) -> Claims:
        self._cache.pop(token, None)
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                leeway=_LEEWAY_S,
                options={"require": ["exp", "sub", "aud", "iss", "scope"]},
            )
        except jwt.ExpiredSignatureError:
            raise _rejected("token expired", public="token expired; request a new one") from None
        except jwt.PyJWTError as exc:
            raise _rejected(f"{type(exc).__name__}: {exc}") from None
        scopes = payload.get("scope")
        user = payload.get("sub")
        if not isinstance(scopes, str) or not isinstance(user, str) or not user:
            raise _rejected("malformed claims")
        claims = Claims(
            user=normalise_user(user),  # once, here: every later comparison is of bytes
            scopes=frozenset(scopes.split()) & frozenset(SCOPES),
            expires_at=float(payload["exp"]),
            token_id=str(payload.get("jti", "")),
        )
        self._cache[token] = claims
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return claims


def _rejected(reason: str, public: str = "invalid token") -> InvalidToken:
    return InvalidToken(public, reason=reason)
