"""``WS /v1/sessions/{id}/ws``: the chat over a WebSocket, authenticated for its lifetime."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from agentgpt.errors import AccessDenied, AgentGPTError, InvalidToken
from agentgpt.security.owners import same_user
from agentgpt.security.tokens import Claims
from agentgpt.server.auth import charge, charge_address
from agentgpt.server.e2e_api import encrypted_message, reply_of
from agentgpt.server.problems import public_detail
from agentgpt.server.services import Services
from agentgpt.server.strict_json import dumps
from agentgpt.server.views import turn_out
from agentgpt.wire import PROBLEM_TYPE_PREFIX

router = APIRouter(tags=["sessions"])

# Close codes in the private range: 4000 + the HTTP status they stand for.
_CLOSE_UNAUTHORIZED = 4401
_CLOSE_FORBIDDEN = 4403
_FRAME_SHAPE = 'send {"text": "...", "id": "<optional message id>"} (or "e2e" for "text")'


def _token(ws: WebSocket) -> str | None:
    # Browsers cannot set headers on a WebSocket: accept "?token=" or the subprotocol
    # pair ("bearer", <token>); a header works for other clients.
    header = ws.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    protocols = [p.strip() for p in ws.headers.get("sec-websocket-protocol", "").split(",")]
    if len(protocols) == 2 and protocols[0] == "bearer":
        return protocols[1]
    return ws.query_params.get("token")


def _error(exc: AgentGPTError) -> dict[str, Any]:
    return {
        "type": "error",
        "problem": {
            "type": PROBLEM_TYPE_PREFIX + exc.code,
            "status": exc.status,
            "detail": public_detail(exc),
        },
    }


@router.websocket("/v1/sessions/{session_id}/ws")
async def chat(ws: WebSocket, session_id: str) -> None:
    """Send ``{"text": ...}`` frames; receive ``{"type": "turn", ...}`` or ``"error"`` frames.

    The token is checked at connect and holds for its lifetime only: at its expiry the
    socket closes with 4401 unless a ``{"type": "renew", "token": ...}`` frame brought a
    fresh token of the same user first. Accepted before the check, so a client sees 4401
    (token missing, invalid or expired) apart from 4403 (token without ``session:write``)
    instead of an HTTP 403 at the handshake.
    """
    svc: Services = ws.app.state.services
    subprotocol = "bearer" if "bearer" in ws.headers.get("sec-websocket-protocol", "") else None
    await ws.accept(subprotocol=subprotocol)
    try:
        claims = await _checked(svc, ws, _token(ws) or "", None)
        if claims is not None:
            await _converse(svc, ws, claims, session_id)
    except WebSocketDisconnect:
        return


async def _checked(svc: Services, ws: WebSocket, token: str, user: str | None) -> Claims | None:
    """The token's claims, or None after closing the socket with 4401 or 4403."""
    try:
        claims = svc.verifier.verify(token, scope="session:write")
    except InvalidToken:
        await charge_address(svc, ws, "badtoken")
        await ws.close(_CLOSE_UNAUTHORIZED, "invalid or expired token")
        return None
    except AccessDenied:
        await ws.close(_CLOSE_FORBIDDEN, "the token lacks session:write")
        return None
    if user is not None and not same_user(claims.user, user):
        await ws.close(_CLOSE_FORBIDDEN, "a renewed token must be for the same user")
        return None
    return claims


async def _converse(svc: Services, ws: WebSocket, claims: Claims, session_id: str) -> None:
    while True:
        try:
            frame = await asyncio.wait_for(ws.receive_text(), claims.expires_at - time.time())
        except TimeoutError:
            await ws.close(_CLOSE_UNAUTHORIZED, "token expired; reconnect with a new one")
            return
        if time.time() >= claims.expires_at:
            await ws.close(_CLOSE_UNAUTHORIZED, "token expired; reconnect with a new one")
            return
        data = _json(frame)
        if isinstance(data, dict) and data.get("type") == "renew":
            renewed = await _checked(svc, ws, str(data.get("token", "")), claims.user)
            if renewed is None:
                return
            claims = renewed
            await ws.send_text(dumps({"type": "renewed", "expires_at": claims.expires_at}))
            continue
        await ws.send_text(dumps(await _turn(svc, claims, session_id, data)))


def _json(frame: str) -> object:
    try:
        return json.loads(frame)
    except ValueError:
        return None


async def _turn(svc: Services, claims: Claims, session_id: str, data: object) -> dict[str, Any]:
    text = data.get("text") if isinstance(data, dict) else None
    wire = data.get("e2e") if isinstance(data, dict) else None
    # "id": the message's idempotency key; a resend after a reconnect replays the answer.
    message_id = data.get("id") if isinstance(data, dict) else None
    if isinstance(wire, str) and isinstance(message_id, str | None):
        # issue 17: an end-to-end encrypted message
        return await _encrypted_turn(svc, claims, session_id, wire, message_id)
    if not isinstance(text, str) or not isinstance(message_id, str | None):
        return {
            "type": "error",
            "problem": {
                "type": PROBLEM_TYPE_PREFIX + "bad-request",
                "status": 400,
                "detail": _FRAME_SHAPE,
            },
        }
    echo = {"id": message_id} if message_id is not None else {}
    try:
        await charge(svc, claims)
        owner = None if claims.has("session:admin") else claims.user
        response = await svc.manager.handle(
            session_id, text, owner=owner, idempotency_key=message_id
        )
    except AgentGPTError as exc:
        return {**_error(exc), **echo}
    return {"type": "turn", **echo, **turn_out(session_id, response.seq, response).model_dump()}


async def _encrypted_turn(
    svc: Services, claims: Claims, session_id: str, wire: str, message_id: str | None
) -> dict[str, Any]:
    echo = {"id": message_id} if message_id is not None else {}
    try:
        await charge(svc, claims)
        owner = None if claims.has("session:admin") else claims.user
        sealed = encrypted_message(session_id, wire)
        response = await svc.manager.handle(
            session_id, sealed, owner=owner, idempotency_key=message_id
        )
        return {"type": "turn", **echo, **reply_of(session_id, response.seq, sealed).model_dump()}
    except AgentGPTError as exc:
        return {**_error(exc), **echo}
