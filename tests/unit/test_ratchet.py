"""The end-to-end protocol on its own: X3DH, the Double Ratchet, its limits (issue 17)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from agentgpt.errors import BrokenMessage, ReplayedMessage, TooManySkipped
from agentgpt.security.ratchet import double_ratchet as DR
from agentgpt.security.ratchet import primitives as P
from agentgpt.security.ratchet import x3dh as X

DAY = 86400.0


def _pair(rotation: float = DAY, with_otpk: bool = True) -> tuple[DR.RatchetState, DR.RatchetState]:
    """A client (initiator) and service (responder) state after a real X3DH handshake."""
    ik, ik_pub = P.new_private()
    spk, spk_pub = P.new_private()
    opk, opk_pub = P.new_private()
    signer = Ed25519PrivateKey.generate()
    expires = 2_000_000_000.0
    bundle = X.PrekeyBundle(
        identity_key=X.b64(ik_pub),
        signing_key=X.b64(signer.public_key().public_bytes_raw()),
        signed_prekey=X.SignedPrekey(
            id=7,
            key=X.b64(spk_pub),
            expires=expires,
            signature=X.b64(signer.sign(X.signed_payload(ik_pub, 7, spk_pub, expires))),
        ),
        one_time_prekey=X.OneTimePrekey(id=3, key=X.b64(opk_pub)) if with_otpk else None,
    )
    handshake, client = X.initiate(bundle, rotation)
    server = X.respond(handshake, ik, spk, opk if with_otpk else None, rotation)
    return client, server


def test_a_conversation_both_ways_with_and_without_a_one_time_prekey() -> None:
    for with_otpk in (True, False):
        client, server = _pair(with_otpk=with_otpk)
        for i in range(5):
            client, wire = DR.encrypt(client, f"question {i}".encode())
            server, text = DR.decrypt(server, wire)
            assert text == f"question {i}".encode()
            server, wire = DR.encrypt(server, f"answer {i}".encode())
            client, text = DR.decrypt(client, wire)
            assert text == f"answer {i}".encode()


def test_a_forged_bundle_signature_is_refused() -> None:
    _, ik_pub = P.new_private()
    _, spk_pub = P.new_private()
    signer = Ed25519PrivateKey.generate()
    bundle = X.PrekeyBundle(
        identity_key=X.b64(ik_pub),
        signing_key=X.b64(signer.public_key().public_bytes_raw()),
        signed_prekey=X.SignedPrekey(
            id=1, key=X.b64(spk_pub), expires=1.0, signature=X.b64(signer.sign(b"something else"))
        ),
    )
    with pytest.raises(BrokenMessage, match="signature"):
        X.initiate(bundle, DAY)


@settings(max_examples=60, deadline=None)
@given(st.permutations(list(range(12))))
def test_any_order_within_the_window_decrypts_each_message_exactly_once(
    order: list[int],
) -> None:
    client, server = _pair()
    wires = []
    for i in range(12):
        client, wire = DR.encrypt(client, b"m%d" % i)
        wires.append(wire)
    for i in order:
        server, text = DR.decrypt(server, wires[i])
        assert text == b"m%d" % i
    for wire in wires:
        before = DR.dump(server)
        with pytest.raises(ReplayedMessage):
            DR.decrypt(server, wire)
        assert DR.dump(server) == before


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_any_bit_flip_is_refused_and_leaves_the_state_unchanged(data: st.DataObject) -> None:
    client, server = _pair()
    client, wire = DR.encrypt(client, b"transfer 100 EUR")
    server, _ = DR.decrypt(server, wire)
    server, reply = DR.encrypt(server, b"done")
    client, _ = DR.decrypt(client, reply)
    client, wire = DR.encrypt(client, b"thanks, and my IBAN is DE89370400440532013000")
    bit = data.draw(st.integers(0, len(wire) * 8 - 1))
    flipped = bytearray(wire)
    flipped[bit // 8] ^= 1 << (bit % 8)
    before = DR.dump(server)
    with pytest.raises(BrokenMessage):
        DR.decrypt(server, bytes(flipped))
    assert DR.dump(server) == before
    server, text = DR.decrypt(server, wire)  # the genuine message still decrypts
    assert text.startswith(b"thanks")


def test_the_out_of_order_window_is_bounded() -> None:
    client, server = _pair()
    for _ in range(DR.MAX_SKIP + 1):
        client, _ = DR.encrypt(client, b"lost")
    client, wire = DR.encrypt(client, b"too far ahead")
    before = DR.dump(server)
    with pytest.raises(TooManySkipped):
        DR.decrypt(server, wire)
    assert DR.dump(server) == before


def test_skipped_keys_are_purged_after_their_time_limit() -> None:
    client, server = _pair()
    client, late = DR.encrypt(client, b"late")
    client, wire = DR.encrypt(client, b"on time")
    server, _ = DR.decrypt(server, wire, now=1000.0)
    assert len(server.skipped) == 1
    with pytest.raises(ReplayedMessage):
        DR.decrypt(server, late, now=1000.0 + 11, skipped_ttl=10)
    server, text = DR.decrypt(server, late, now=1000.0 + 9, skipped_ttl=10)
    assert text == b"late"


def test_an_idle_sender_replaces_a_ratchet_key_older_than_the_rotation_period() -> None:
    client, server = _pair(rotation=60.0)
    client, wire = DR.encrypt(client, b"one")
    server, _ = DR.decrypt(server, wire)
    server, reply = DR.encrypt(server, b"answer")
    client, _ = DR.decrypt(client, reply)
    client, soon = DR.encrypt(client, b"soon", now=client.dhs_at + 1)
    used_key = DR.parse_header(soon)[0]
    client, late = DR.encrypt(client, b"late", now=client.dhs_at + 61)
    assert DR.parse_header(late)[0] == used_key  # a used chain steps with the peer's answer
    idle = _pair(rotation=60.0)
    a, b = idle
    a, wire = DR.encrypt(a, b"hello")
    b, _ = DR.decrypt(b, wire)
    b, reply = DR.encrypt(b, b"hi")
    a, _ = DR.decrypt(a, reply)
    unused = P.public_of(a.dhs)
    a, wire = DR.encrypt(a, b"after a quiet hour", now=a.dhs_at + 3600)
    assert DR.parse_header(wire)[0] != unused
    b, text = DR.decrypt(b, wire)
    assert text == b"after a quiet hour"
    b, reply = DR.encrypt(b, b"welcome back")
    a, text = DR.decrypt(a, reply)
    assert text == b"welcome back"


def test_forward_secrecy_todays_state_cannot_read_an_earlier_epoch() -> None:
    client, server = _pair()
    earlier = []
    for i in range(3):
        client, wire = DR.encrypt(client, b"epoch one %d" % i)
        earlier.append(wire)
        server, _ = DR.decrypt(server, wire)
        server, reply = DR.encrypt(server, b"ok")
        client, _ = DR.decrypt(client, reply)
    captured = DR.load(DR.dump(server))  # an attacker copies today's state
    for wire in earlier:
        with pytest.raises(BrokenMessage):
            DR.decrypt(captured, wire)
    assert b"epoch one" not in DR.dump(captured)
