"""The cryptographic primitives of the end-to-end protocol, all from ``cryptography``.

Each choice is one WebCrypto also offers (X25519, Ed25519, HKDF-SHA256, HMAC-SHA256,
AES-256-GCM), so the browser's implementation (``server/static/e2ee.js``) derives the same
bytes from the same inputs: the constants below are the protocol's, change them in both.
"""

from __future__ import annotations

import hmac
from hashlib import sha256

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from agentgpt.errors import BrokenMessage

KEY_BYTES = 32
X3DH_INFO = b"agentgpt-x3dh-v1"
ROOT_INFO = b"agentgpt-dr-root-v1"
MESSAGE_INFO = b"agentgpt-dr-message-v1"
_ZERO_SALT = bytes(KEY_BYTES)
_CHAIN_MESSAGE = b"\x01"
_CHAIN_NEXT = b"\x02"


def hkdf(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    """HKDF-SHA256 (RFC 5869)."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def new_private() -> tuple[bytes, bytes]:
    """A fresh X25519 key pair as raw bytes: (private, public)."""
    _, private, public = new_pair()
    return private, public


def new_pair() -> tuple[X25519PrivateKey, bytes, bytes]:
    """A fresh X25519 key pair: (the key, to use for DH at once; raw private; raw public)."""
    key = X25519PrivateKey.generate()
    return key, key.private_bytes_raw(), key.public_key().public_bytes_raw()


def private_key(private: bytes) -> X25519PrivateKey:
    """Load a raw private key (this derives its public key: a scalar multiplication, so a
    key used several times in one operation is loaded once)."""
    return X25519PrivateKey.from_private_bytes(private)


def public_of(private: bytes | X25519PrivateKey) -> bytes:
    """The raw X25519 public key of a private key."""
    key = private_key(private) if isinstance(private, bytes) else private
    return key.public_key().public_bytes_raw()


def dh(private: bytes | X25519PrivateKey, public: bytes) -> bytes:
    """X25519(private, public); a malformed or low-order peer key is a broken message."""
    if len(public) != KEY_BYTES:
        raise BrokenMessage("a public key in the message is not 32 bytes")
    key = private_key(private) if isinstance(private, bytes) else private
    try:
        shared = key.exchange(X25519PublicKey.from_public_bytes(public))
    except ValueError:  # the all-zero output of a low-order point
        raise BrokenMessage("a public key in the message is not a valid X25519 key") from None
    return shared


def kdf_root(root_key: bytes, dh_out: bytes) -> tuple[bytes, bytes]:
    """KDF_RK of the spec: HKDF with the root key as salt -> (root key, chain key)."""
    out = hkdf(dh_out, root_key, ROOT_INFO, 2 * KEY_BYTES)
    return out[:KEY_BYTES], out[KEY_BYTES:]


def kdf_chain(chain_key: bytes) -> tuple[bytes, bytes]:
    """KDF_CK of the spec: HMAC-SHA256 with constants 0x01/0x02 -> (chain key, message key)."""
    message_key = hmac.new(chain_key, _CHAIN_MESSAGE, sha256).digest()
    return hmac.new(chain_key, _CHAIN_NEXT, sha256).digest(), message_key


def _message_cipher(message_key: bytes) -> tuple[AESGCM, bytes]:
    # Every message key is used once, so a nonce derived with the key is never reused.
    out = hkdf(message_key, _ZERO_SALT, MESSAGE_INFO, KEY_BYTES + 12)
    return AESGCM(out[:KEY_BYTES]), out[KEY_BYTES:]


def encrypt(message_key: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
    """ENCRYPT of the spec: AES-256-GCM under a key and nonce derived from the message key."""
    aead, nonce = _message_cipher(message_key)
    return aead.encrypt(nonce, plaintext, associated_data)


def decrypt(message_key: bytes, ciphertext: bytes, associated_data: bytes) -> bytes:
    """DECRYPT of the spec; ``BrokenMessage`` when authentication fails."""
    aead, nonce = _message_cipher(message_key)
    try:
        return aead.decrypt(nonce, ciphertext, associated_data)
    except InvalidTag:
        raise BrokenMessage(
            "the end-to-end message failed authentication (altered in transit, or not "
            "encrypted for this session); it was not processed"
        ) from None


def x3dh_secret(dh_outputs: list[bytes]) -> bytes:
    """The X3DH shared secret: HKDF(0xFF*32 || DH1 || DH2 || DH3 [|| DH4])."""
    return hkdf(b"\xff" * KEY_BYTES + b"".join(dh_outputs), _ZERO_SALT, X3DH_INFO, KEY_BYTES)
