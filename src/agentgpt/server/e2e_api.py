"""End-to-end encryption over HTTP (issue 17): the prekey bundle, the handshake, messages.

The service only relays ciphertext here: the message is decrypted inside the turn path,
under the session's lock, and the answer (the whole ``TurnOut``, not just the reply: its
intent, topic and redacted input say what the customer wrote) is encrypted there too.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, Path

from agentgpt.agents.response import Response
from agentgpt.errors import BrokenMessage, InvalidInput
from agentgpt.security.ratchet import x3dh
from agentgpt.security.ratchet.policy import rotation_seconds
from agentgpt.security.tokens import Claims
from agentgpt.server.auth import require
from agentgpt.server.problems import responses
from agentgpt.server.services import Services, services
from agentgpt.server.views import turn_out
from agentgpt.sessions.end_to_end import EncryptedMessage
from agentgpt.wire import EncryptedTurnOut, HandshakeIn, HandshakeOut

router = APIRouter(tags=["end-to-end"])
Svc = Annotated[Services, Depends(services)]
SessionId = Annotated[str, Path(min_length=1, max_length=256, description="a session id")]


def encrypted_message(session_id: str, wire: str) -> EncryptedMessage:
    """An ``EncryptedMessage`` whose answer renders as this session's ``TurnOut`` JSON."""

    def render(response: Response, seq: int) -> bytes:
        return turn_out(session_id, seq, response).model_dump_json().encode()

    return EncryptedMessage(x3dh.unb64(wire, "the e2e message"), render)


@router.get(
    "/v1/e2e/bundle",
    response_model=None,
    responses=responses(400, 401, 403, 429, 503),
    summary="A prekey bundle for the X3DH handshake (hands out one one-time prekey)",
)
async def get_bundle(
    svc: Svc, claims: Annotated[Claims, Depends(require("session:write"))]
) -> dict[str, Any]:
    """The deployment's identity keys, signed prekey and a one-time prekey."""
    bundle = await svc.manager.prekeys.bundle()
    result: dict[str, Any] = msgspec.to_builtins(bundle)
    return result


@router.post(
    "/v1/sessions/{session_id}/e2e",
    response_model=HandshakeOut,
    responses=responses(400, 401, 403, 404, 409, 422, 429, 503),
    summary="Answer the client's X3DH handshake: the session speaks the double ratchet",
)
async def post_handshake(
    svc: Svc,
    session_id: SessionId,
    body: HandshakeIn,
    claims: Annotated[Claims, Depends(require("session:write"))],
) -> HandshakeOut:
    """Establish the session's end of the ratchet (once per session)."""
    rotation_seconds(body.protocol, body.key_rotation)  # an unknown protocol before the rest
    try:
        handshake = msgspec.convert(body.handshake, x3dh.Handshake)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"handshake: {exc}") from None
    owner = None if claims.has("session:admin") else claims.user
    rotation = await svc.manager.establish_e2e(
        session_id,
        handshake,
        protocol=body.protocol,
        key_rotation=body.key_rotation,
        owner=owner,
    )
    return HandshakeOut(session_id=session_id, protocol=body.protocol, key_rotation_s=rotation)


def reply_of(session_id: str, seq: int, message: EncryptedMessage) -> EncryptedTurnOut:
    """The encrypted answer of a turn."""
    if not message.reply:
        raise BrokenMessage("the turn produced no encrypted answer")
    return EncryptedTurnOut(session_id=session_id, seq=seq, e2e=x3dh.b64(message.reply))
