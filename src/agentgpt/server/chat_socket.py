"""``WS /v1/sessions/{id}/ws``: the chat over a WebSocket, token given at connect."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from agentgpt.errors import AccessDenied, AgentGPTError, InvalidToken
from agentgpt.security.tokens import Claims
from agentgpt.server.auth import charge
from agentgpt.server.problems import TYPE_PREFIX, public_detail
from agentgpt.server.schemas import TurnOut
from agentgpt.server.services import Services

router = APIRouter(tags=["sessions"])

# Close codes in the private range: 4000 + the HTTP status they stand for.
_CLOSE_UNAUTHORIZED = 4401
_CLOSE_FORBIDDEN = 4403


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
    return {"type": "error", "problem": {"type": TYPE_PREFIX + exc.code, "status": exc.status,
                                         "detail": public_detail(exc)}}  # fmt: skip


@router.websocket("/v1/sessions/{session_id}/ws")
async def chat(ws: WebSocket, session_id: str) -> None:
    """Send ``{"text": ...}`` frames; receive ``{"type": "turn", ...}`` or ``"error"`` frames."""
    svc: Services = ws.app.state.services
    try:
        claims = svc.verifier.verify(_token(ws) or "", scope="session:write")
    except InvalidToken:
        await ws.close(_CLOSE_UNAUTHORIZED, "invalid token")
        return
    except AccessDenied:
        await ws.close(_CLOSE_FORBIDDEN, "the token lacks session:write")
        return
    subprotocol = "bearer" if "bearer" in ws.headers.get("sec-websocket-protocol", "") else None
    await ws.accept(subprotocol=subprotocol)
    try:
        while True:
            await ws.send_json(await _turn(svc, claims, session_id, await ws.receive_text()))
    except WebSocketDisconnect:
        return


async def _turn(svc: Services, claims: Claims, session_id: str, frame: str) -> dict[str, Any]:
    try:
        data = json.loads(frame)
        text = data.get("text") if isinstance(data, dict) else None
    except ValueError:
        text = None
    if not isinstance(text, str):
        return {"type": "error", "problem": {"type": TYPE_PREFIX + "bad-request", "status": 400,
                                             "detail": 'send {"text": "..."}'}}  # fmt: skip
    try:
        await charge(svc, claims)
        owner = None if claims.has("session:admin") else claims.user
        response = await svc.manager.handle(session_id, text, owner=owner)
    except AgentGPTError as exc:
        return _error(exc)
    return {"type": "turn", **TurnOut.of(session_id, response.seq, response).model_dump()}
