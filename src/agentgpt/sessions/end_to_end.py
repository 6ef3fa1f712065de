"""End-to-end encryption in the turn path (issue 17): the session's end of the ratchet.

A session's ratchet state is the ``e2e`` field of its metadata, sealed with the session's
data key (bound to the session and the version it was written at), and ``e2ep`` holds the
rotation period its policy asked for. Both are read with the meta that the turn lock
loads and written by the turn's commit (or, for the handshake, by a fenced write under
the same lock), so two workers never fork the chain, a refused message leaves the state
as it was, and erasure deletes the state with the metadata (crypto-shredding).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agentgpt.agents.response import Response
from agentgpt.errors import (
    AlreadyDone,
    EndToEndNotEstablished,
    EndToEndRequired,
    InvalidInput,
)
from agentgpt.security.ratchet import double_ratchet, x3dh
from agentgpt.security.ratchet.policy import POLICY_FIELD, STATE_FIELD, rotation_seconds
from agentgpt.security.ratchet.prekeys import Prekeys
from agentgpt.sessions.session import Session

KIND_E2E = "e2e"
#: What a sealed state holds: the state itself, or (written before 2 Dec 2026) its msgpack.
_SEALED: Any = bytes | double_ratchet.RatchetState
__all__ = ["EncryptedMessage", "rotation_seconds"]
#: Renders a turn's answer (the response and its sequence number) as the bytes to encrypt.
Render = Callable[[Response, int], bytes]


@dataclass(slots=True)
class EncryptedMessage:
    """A Double Ratchet message for ``SessionManager.handle``; ``reply`` is set on success."""

    wire: bytes
    render: Render
    reply: bytes = field(default=b"", init=False)


def policy_of(meta: dict[bytes, bytes]) -> float | None:
    """The session's rotation period if it applied end-to-end encryption, else None."""
    raw = meta.get(POLICY_FIELD.encode())
    return float(raw) if raw else None


def require_plain_allowed(meta: dict[bytes, bytes], required: bool, session_id: str) -> None:
    """Refuse a plain message where end-to-end encryption is required."""
    if required or policy_of(meta) is not None:
        raise EndToEndRequired(
            f"session {session_id} takes end-to-end encrypted messages only "
            '({"e2e": ...} after the handshake); plain text was refused and not stored'
        )


def open_state(session: Session, meta: dict[bytes, bytes]) -> double_ratchet.RatchetState:
    """The session's ratchet state (``EndToEndNotEstablished`` before the handshake)."""
    sealed = meta.get(STATE_FIELD.encode())
    if not sealed:
        raise EndToEndNotEstablished(
            f"session {session.id} has no end-to-end state yet: run the handshake "
            "(POST /v1/sessions/{id}/e2e) before sending encrypted messages"
        )
    opened = session.open(sealed, KIND_E2E, session.version, _SEALED)
    return double_ratchet.load(opened) if isinstance(opened, bytes) else opened


def seal_state(session: Session, state: double_ratchet.RatchetState, version: int) -> bytes:
    """Seal a ratchet state with the session's data key, bound to ``version``."""
    # One msgpack pass, and no zstd: the state is key material, which never shrinks.
    return session.seal(state, KIND_E2E, version, compress=False)


def decrypt_turn(
    session: Session, meta: dict[bytes, bytes], message: EncryptedMessage
) -> tuple[double_ratchet.RatchetState, str]:
    """Decrypt a customer's message: (the state after it, its text); nothing is kept yet."""
    state, plaintext = double_ratchet.decrypt(open_state(session, meta), message.wire)
    try:
        return state, plaintext.decode()
    except UnicodeDecodeError:
        raise InvalidInput("the decrypted message is not UTF-8 text") from None


def encrypt_reply(
    session: Session,
    state: double_ratchet.RatchetState,
    message: EncryptedMessage,
    response: Response,
) -> bytes:
    """Encrypt the answer into ``message.reply``; return the sealed state to commit."""
    state, message.reply = double_ratchet.encrypt(
        state, message.render(response, session.version + 1)
    )
    return seal_state(session, state, session.version + 1)


def replay_reply(
    session: Session,
    state: double_ratchet.RatchetState,
    message: EncryptedMessage,
    response: Response,
    seq: int,
) -> dict[str, bytes | str | int]:
    """Encrypt a replayed answer (turn ``seq``) into ``message.reply``.

    Returns the metadata fields to write under the lock: the advanced state, sealed at the
    session's unchanged version (an idempotent retry commits no turn).
    """
    state, message.reply = double_ratchet.encrypt(state, message.render(response, seq))
    return {STATE_FIELD: seal_state(session, state, session.version)}


async def respond_to_handshake(
    session: Session,
    meta: dict[bytes, bytes],
    prekeys: Prekeys,
    handshake: x3dh.Handshake,
    rotation: float,
) -> dict[str, bytes | str | int]:
    """Run the responder's X3DH; return the metadata fields to write under the lock."""
    if meta.get(STATE_FIELD.encode()):
        raise AlreadyDone(
            f"session {session.id} already has end-to-end keys; a client that lost its "
            "state starts a new session"
        )
    rotation = policy_of(meta) or rotation  # the policy the service applied wins
    identity, signed, one_time = await prekeys.secrets_for(handshake, time.time())
    state = x3dh.respond(handshake, identity, signed, one_time, rotation)
    return {POLICY_FIELD: repr(rotation), STATE_FIELD: seal_state(session, state, session.version)}
