"""The ratchet state as the session stores it (issue 17): sealed once, read in both formats."""

from __future__ import annotations

import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from agentgpt.security.aead import SessionCipher
from agentgpt.security.ratchet import double_ratchet as DR
from agentgpt.security.ratchet import primitives as P
from agentgpt.sessions import end_to_end as E2E
from agentgpt.sessions.session import Session


def _session() -> Session:
    session = Session(id="unit_" + secrets.token_hex(8))
    session.use_cipher(SessionCipher({0: AESGCM(AESGCM.generate_key(256))}, 0))
    return session


def _state() -> DR.RatchetState:
    _, peer = P.new_private()
    state = DR.initiator(secrets.token_bytes(32), b"ad" * 32, peer, 86400.0)
    state, _ = DR.encrypt(state, b"hello")
    return state


def test_a_sealed_state_opens_as_it_was() -> None:
    session, state = _session(), _state()
    meta = {b"e2e": E2E.seal_state(session, state, session.version)}
    assert E2E.open_state(session, meta) == state


def test_a_state_sealed_in_the_earlier_format_still_opens() -> None:
    # Before 2 Dec 2026 the state was msgpack'd to bytes, then sealed (a second pass).
    session, state = _session(), _state()
    legacy = session.seal(DR.dump(state), E2E.KIND_E2E, session.version)
    assert E2E.open_state(session, {b"e2e": legacy}) == state
