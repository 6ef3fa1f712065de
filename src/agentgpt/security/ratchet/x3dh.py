"""X3DH (Signal's specification) against a prekey bundle, with an Ed25519-signed prekey.

The responder's identity is two keys: an X25519 key for the DH computations and an Ed25519
key that signs the signed prekey (the spec's XEdDSA lets one key do both, but WebCrypto
has no XEdDSA; the signature covers the X25519 identity key too, binding the pair).
The initiator's identity key is made per session: a customer's client keeps no long-term
key, and the bearer token already says who the customer is.
"""

from __future__ import annotations

import base64

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agentgpt.errors import BrokenMessage
from agentgpt.security.ratchet import double_ratchet, primitives

SIGNATURE_CONTEXT = b"agentgpt-spk-v1"


class SignedPrekey(msgspec.Struct, frozen=True):
    """The published half of a signed prekey; ``expires`` is when handshakes stop taking it."""

    id: int
    key: str
    expires: float
    signature: str


class OneTimePrekey(msgspec.Struct, frozen=True):
    """The published half of a one-time prekey."""

    id: int
    key: str


class PrekeyBundle(msgspec.Struct, frozen=True):
    """What the service publishes; keys and signatures are unpadded base64url."""

    identity_key: str
    signing_key: str
    signed_prekey: SignedPrekey
    one_time_prekey: OneTimePrekey | None = None


class Handshake(msgspec.Struct, frozen=True):
    """The initiator's X3DH message: its keys and the prekeys it used."""

    identity_key: str
    ephemeral_key: str
    signed_prekey_id: int
    one_time_prekey_id: int | None = None


def b64(data: bytes) -> str:
    """Unpadded base64url (what the browser's code writes too)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str, what: str = "a key") -> bytes:
    """Inverse of ``b64``; ``BrokenMessage`` when it is not base64url."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        raise BrokenMessage(f"{what} is not unpadded base64url") from None


def signed_payload(identity_key: bytes, prekey_id: int, prekey: bytes, expires: float) -> bytes:
    """What the signing key signs: context | identity key | prekey id | prekey | expiry."""
    return (
        SIGNATURE_CONTEXT
        + identity_key
        + prekey_id.to_bytes(4, "big")
        + prekey
        + int(expires).to_bytes(8, "big")
    )


def verify_bundle(bundle: PrekeyBundle) -> None:
    """Check the signed prekey's signature (``BrokenMessage`` when it does not verify)."""
    spk = bundle.signed_prekey
    payload = signed_payload(unb64(bundle.identity_key), spk.id, unb64(spk.key), spk.expires)
    try:
        Ed25519PublicKey.from_public_bytes(unb64(bundle.signing_key)).verify(
            unb64(spk.signature), payload
        )
    except (InvalidSignature, ValueError):
        raise BrokenMessage("the prekey bundle's signature does not verify") from None


def associated_data(initiator_identity: bytes, responder_identity: bytes) -> bytes:
    """AD of X3DH: the initiator's identity key, then the responder's."""
    return initiator_identity + responder_identity


def initiate(
    bundle: PrekeyBundle, rotation: float
) -> tuple[Handshake, double_ratchet.RatchetState]:
    """Run X3DH as the initiator: (handshake to send, the initiator's ratchet state)."""
    verify_bundle(bundle)
    ik_b, spk_b = unb64(bundle.identity_key), unb64(bundle.signed_prekey.key)
    # Key objects, each used for all its DHs: loading a raw key again costs a scalar mult.
    ik_a, _, ik_a_pub = primitives.new_pair()
    ek_a, _, ek_a_pub = primitives.new_pair()
    outputs = [primitives.dh(ik_a, spk_b), primitives.dh(ek_a, ik_b), primitives.dh(ek_a, spk_b)]
    opk = bundle.one_time_prekey
    if opk is not None:
        outputs.append(primitives.dh(ek_a, unb64(opk.key)))
    shared = primitives.x3dh_secret(outputs)
    state = double_ratchet.initiator(shared, associated_data(ik_a_pub, ik_b), spk_b, rotation)
    handshake = Handshake(
        identity_key=b64(ik_a_pub),
        ephemeral_key=b64(ek_a_pub),
        signed_prekey_id=bundle.signed_prekey.id,
        one_time_prekey_id=None if opk is None else opk.id,
    )
    return handshake, state


def respond(
    handshake: Handshake,
    identity_private: bytes,
    signed_prekey_private: bytes,
    one_time_prekey_private: bytes | None,
    rotation: float,
) -> double_ratchet.RatchetState:
    """Run X3DH as the responder: the responder's ratchet state."""
    ik_a = unb64(handshake.identity_key, "the identity key")
    ek_a = unb64(handshake.ephemeral_key, "the ephemeral key")
    identity, signed = (
        primitives.private_key(identity_private),
        primitives.private_key(signed_prekey_private),
    )
    outputs = [
        primitives.dh(signed, ik_a),
        primitives.dh(identity, ek_a),
        primitives.dh(signed, ek_a),
    ]
    if one_time_prekey_private is not None:
        outputs.append(primitives.dh(one_time_prekey_private, ek_a))
    shared = primitives.x3dh_secret(outputs)
    ad = associated_data(ik_a, primitives.public_of(identity))
    return double_ratchet.responder(
        shared, ad, signed_prekey_private, rotation, primitives.public_of(signed)
    )
