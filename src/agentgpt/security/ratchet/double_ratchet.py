"""The Double Ratchet (Signal's specification, revision 4) with the header as associated data.

Written here rather than taken from a library: the one maintained Python implementation
(``doubleratchet``, used by python-omemo) fixes neither a wire format nor KDF inputs we
could share with the browser, which must speak the same bytes on WebCrypto alone, and its
X3DH companion signs prekeys with XEdDSA, which WebCrypto lacks. Only the state machine is
ours; every primitive is ``cryptography``'s (``primitives.py``).

Beyond the spec's algorithm: every operation works on a copy of the state and the caller
adopts the copy only on success (a tampered or replayed message leaves the state exactly
as it was); skipped message keys are bounded per gap (``max_skip``) and in total
(``max_skipped``) and dropped after ``skipped_ttl`` seconds; and a sender whose DH ratchet
key is older than ``rotation`` seconds and has sent nothing on it makes a fresh one from
the root key its peer still holds (the peer handles it as any new ratchet key). A chain
already used cannot be replaced alone, so one that outlives the period steps with the
peer's next message; in this service the agent answers every message, and every answer
is a DH step, so only an idle client's key can age, and that one is replaced.
"""

from __future__ import annotations

import time

import msgspec

from agentgpt.errors import BrokenMessage, ReplayedMessage, TooManySkipped
from agentgpt.security.ratchet import primitives

VERSION = 1
HEADER_BYTES = 1 + primitives.KEY_BYTES + 4 + 4
MAX_SKIP = 100
MAX_SKIPPED = 200
SKIPPED_TTL = 24 * 3600.0
_OLD_CHAINS = 8


class Skipped(msgspec.Struct, array_like=True, frozen=True):
    """A message key kept for a message not yet received (out of order)."""

    dh: bytes
    n: int
    key: bytes
    at: float


class RatchetState(msgspec.Struct, array_like=True, kw_only=True):
    """One party's ratchet state (secret: store it sealed, erase it with the session)."""

    ad: bytes
    rk: bytes
    dhs: bytes
    dhs_pub: bytes  # kept: deriving it again costs as much as a DH
    dhs_at: float
    rotation: float
    dhr: bytes | None = None
    cks: bytes | None = None
    ckr: bytes | None = None
    ns: int = 0
    nr: int = 0
    pn: int = 0
    #: The root key before our sending step, kept only while that chain is unused.
    rk_prev: bytes | None = None
    skipped: list[Skipped] = msgspec.field(default_factory=list)
    old_dhr: list[bytes] = msgspec.field(default_factory=list)

    def copy(self) -> RatchetState:
        """A copy that can be changed without touching this state (lists are copied)."""
        return msgspec.structs.replace(self, skipped=list(self.skipped), old_dhr=list(self.old_dhr))


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(RatchetState).decode


def dump(state: RatchetState) -> bytes:
    """Serialise a state (msgpack)."""
    return _encode(state)


def load(blob: bytes) -> RatchetState:
    """Parse a state written by ``dump``."""
    return _decode(blob)


def initiator(shared: bytes, ad: bytes, peer_ratchet_key: bytes, rotation: float) -> RatchetState:
    """RatchetInitAlice: the side that ran X3DH, sending first to the peer's signed prekey."""
    key, private, public = primitives.new_pair()
    rk, cks = primitives.kdf_root(shared, primitives.dh(key, peer_ratchet_key))
    return RatchetState(
        ad=ad,
        rk=rk,
        dhs=private,
        dhs_pub=public,
        dhs_at=time.time(),
        rotation=rotation,
        dhr=peer_ratchet_key,
        cks=cks,
    )


def responder(
    shared: bytes,
    ad: bytes,
    signed_prekey: bytes,
    rotation: float,
    signed_prekey_public: bytes | None = None,
) -> RatchetState:
    """RatchetInitBob: the prekey owner; its signed prekey is its first ratchet key."""
    return RatchetState(
        ad=ad,
        rk=shared,
        dhs=signed_prekey,
        dhs_pub=signed_prekey_public or primitives.public_of(signed_prekey),
        dhs_at=time.time(),
        rotation=rotation,
    )


def header(dh_public: bytes, pn: int, n: int) -> bytes:
    """HEADER of the spec: version | ratchet public key | PN | N (big endian)."""
    return bytes([VERSION]) + dh_public + pn.to_bytes(4, "big") + n.to_bytes(4, "big")


def parse_header(message: bytes) -> tuple[bytes, int, int]:
    """(ratchet public key, PN, N) of a message, or ``BrokenMessage``."""
    if len(message) < HEADER_BYTES + 16 or message[0] != VERSION:
        raise BrokenMessage("the end-to-end message is truncated or of an unknown version")
    dh_public = message[1 : 1 + primitives.KEY_BYTES]
    pn = int.from_bytes(message[1 + primitives.KEY_BYTES : 5 + primitives.KEY_BYTES], "big")
    return dh_public, pn, int.from_bytes(message[5 + primitives.KEY_BYTES : HEADER_BYTES], "big")


def encrypt(
    state: RatchetState, plaintext: bytes, now: float | None = None
) -> tuple[RatchetState, bytes]:
    """RatchetEncrypt: (new state, message); the given state is left as it was."""
    now = time.time() if now is None else now
    new = state.copy()
    if new.cks is None:
        _send_step(new, now)
    elif new.rk_prev is not None and new.ns == 0 and now - new.dhs_at >= new.rotation:
        new.rk = new.rk_prev  # the unused key is dropped: the peer never saw it
        _send_step(new, now)
    new.rk_prev = None
    assert new.cks is not None
    new.cks, message_key = primitives.kdf_chain(new.cks)
    head = header(new.dhs_pub, new.pn, new.ns)
    new.ns += 1
    return new, head + primitives.encrypt(message_key, plaintext, new.ad + head)


def decrypt(
    state: RatchetState,
    message: bytes,
    now: float | None = None,
    *,
    max_skip: int = MAX_SKIP,
    skipped_ttl: float = SKIPPED_TTL,
) -> tuple[RatchetState, bytes]:
    """RatchetDecrypt: (new state, plaintext); on any error the given state is untouched."""
    now = time.time() if now is None else now
    dh_public, pn, n = parse_header(message)
    head, body = message[:HEADER_BYTES], message[HEADER_BYTES:]
    new = state.copy()
    new.skipped = [s for s in new.skipped if now - s.at < skipped_ttl]
    for i, entry in enumerate(new.skipped):
        if entry.n == n and entry.dh == dh_public:
            plaintext = primitives.decrypt(entry.key, body, new.ad + head)
            del new.skipped[i]
            return new, plaintext
    if dh_public == new.dhr or dh_public in new.old_dhr:
        if dh_public != new.dhr or n < new.nr:
            raise ReplayedMessage(
                "this end-to-end message was already received (a replay), or arrived after "
                "its key expired; it was not processed"
            )
    else:
        _skip(new, pn, now, max_skip)
        _receive_step(new, dh_public, now)
    _skip(new, n, now, max_skip)
    assert new.ckr is not None
    new.ckr, message_key = primitives.kdf_chain(new.ckr)
    new.nr += 1
    return new, primitives.decrypt(message_key, body, new.ad + head)


def _skip(state: RatchetState, until: int, now: float, max_skip: int) -> None:
    """SkipMessageKeys: keep the keys of messages ``nr..until-1`` of the receiving chain."""
    if state.ckr is None:
        return
    if until - state.nr > max_skip:
        raise TooManySkipped(
            f"the end-to-end message skips {until - state.nr} messages (at most {max_skip} "
            "may arrive out of order); it was not processed"
        )
    assert state.dhr is not None
    while state.nr < until:
        state.ckr, key = primitives.kdf_chain(state.ckr)
        state.skipped.append(Skipped(state.dhr, state.nr, key, now))
        state.nr += 1
    del state.skipped[:-MAX_SKIPPED]


def _receive_step(state: RatchetState, dh_public: bytes, now: float) -> None:
    """DHRatchet on a new ratchet key from the peer (then our own sending step)."""
    if state.dhr is not None:
        state.old_dhr = [*state.old_dhr, state.dhr][-_OLD_CHAINS:]
    state.dhr, state.nr = dh_public, 0
    state.rk, state.ckr = primitives.kdf_root(state.rk, primitives.dh(state.dhs, dh_public))
    _send_step(state, now)


def _send_step(state: RatchetState, now: float) -> None:
    """The sending half of DHRatchet: a fresh ratchet key and sending chain."""
    assert state.dhr is not None, "the responder cannot send before its first message"
    if state.rk_prev is None:
        state.pn, state.ns = state.ns, 0
    state.rk_prev = state.rk
    # The fresh key object does the DH: loading it again from bytes costs a scalar mult.
    key, state.dhs, state.dhs_pub = primitives.new_pair()
    state.dhs_at = now
    state.rk, state.cks = primitives.kdf_root(state.rk, primitives.dh(key, state.dhr))
