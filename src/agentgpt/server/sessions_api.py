"""``/v1/sessions``: create, message, read, page turns, report auth events, erase."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status

from agentgpt.security.tokens import Claims
from agentgpt.server.auth import caller, require
from agentgpt.server.e2e_api import encrypted_message, reply_of
from agentgpt.server.message_route import MessageRoute, answer
from agentgpt.server.problems import responses
from agentgpt.server.services import Services, services
from agentgpt.server.views import session_out, turn_record_out
from agentgpt.sessions.session import Session
from agentgpt.wire import (
    AuthEventIn,
    AuthEventOut,
    MessageIn,
    SessionCreated,
    SessionCreateIn,
    SessionOut,
    TurnOut,
    TurnsPage,
)

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])

SessionId = Annotated[str, Path(min_length=1, max_length=256, description="a session id")]
Svc = Annotated[Services, Depends(services)]
_COMMON = (400, 401, 403, 404, 422, 429, 503)


async def owned_session(svc: Services, session_id: str, claims: Claims) -> Session:
    """Load a session the caller may see; others' sessions look exactly like missing ones."""
    session = await svc.manager.load_session(session_id, owner=caller(claims))
    _name_owner(svc, session, claims)
    return session


def _name_owner(svc: Services, session: Session, claims: Claims) -> None:
    # An operator's own session shows its owner too (the stored owner is a keyed hash).
    if session.owner != claims.user and svc.manager.owns(session, claims.user):
        session.owner = claims.user


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SessionCreated,
    responses=responses(401, 403, 429, 503),
    summary="Create a session for the token's user",
)
async def create_session(
    svc: Svc,
    claims: Annotated[Claims, Depends(require("session:create"))],
    body: SessionCreateIn | None = None,
) -> SessionCreated:
    """Create a session owned by the caller (``session:create``), in a region if given."""
    region = body.region if body is not None else None
    session = await svc.manager.create_session(claims.user, region=region)
    retention = svc.manager.store.retention_ms / 1000
    return SessionCreated(
        id=session.id,
        owner=claims.user,
        created_at=session.created,
        expires_at=session.created + retention,
        idle_timeout_s=svc.manager.idle_timeout,
        region=session.region,
    )


async def post_message(
    request: Request,
    session_id: SessionId,
    body: MessageIn,
    claims: Annotated[Claims, Depends(require("session:write"))],
    on_busy: Annotated[
        Literal["queue", "reject"],
        Query(description="queue behind a running turn (default) or reject with 409"),
    ] = "queue",
    idempotency_key: Annotated[
        str | None,
        Header(
            description="a retry with the same key returns the first answer and stores "
            "nothing new (for at least sessions.idempotency_ttl)"
        ),
    ] = None,
) -> Response:
    """Process one message of the caller's session, in arrival order (``session:write``)."""
    # Plain messages are served by MessageRoute's direct path when well formed; this
    # signature (FastAPI's solving) answers the rest and describes the route in OpenAPI.
    svc: Services = request.app.state.services
    if body.e2e is not None:  # issue 17: only ciphertext passes through here
        owner = caller(claims)
        wait = 0.0 if on_busy == "reject" else None
        sealed = encrypted_message(session_id, body.e2e)
        response = await svc.manager.handle(
            session_id, sealed, owner=owner, lock_wait=wait, idempotency_key=idempotency_key
        )
        encrypted = reply_of(session_id, response.seq, sealed)
        return Response(encrypted.model_dump_json(), media_type="application/json")
    text = body.text if body.text is not None else ""  # MessageIn holds one of the two
    return await answer(svc, claims, session_id, text, on_busy, idempotency_key)


router.add_api_route(
    "/{session_id}/messages",
    post_message,
    methods=["POST"],
    response_model=TurnOut,
    responses=responses(*_COMMON, 409, 413),
    summary="Send a message; get the agent's answer",
    route_class_override=MessageRoute,
)


@router.get(
    "/{session_id}",
    response_model=SessionOut,
    responses=responses(*_COMMON),
    summary="A session's metadata and redacted context window",
)
async def get_session(
    svc: Svc,
    session_id: SessionId,
    claims: Annotated[Claims, Depends(require("session:read", "session:admin"))],
) -> SessionOut:
    """Show a session to its owner or an operator (``session:read`` or ``session:admin``)."""
    return session_out(await owned_session(svc, session_id, claims))


@router.get(
    "/{session_id}/turns",
    response_model=TurnsPage,
    responses=responses(*_COMMON),
    summary="Page through the turn log",
)
async def get_turns(
    svc: Svc,
    session_id: SessionId,
    claims: Annotated[Claims, Depends(require("session:read", "session:admin"))],
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> TurnsPage:
    """Turns ``offset+1 .. offset+limit`` of the session (PII redacted)."""
    session, records = await svc.manager.turns_page(session_id, offset, limit, owner=caller(claims))
    return TurnsPage(
        session_id=session_id,
        offset=offset,
        limit=limit,
        total=session.version,
        turns=[turn_record_out(r) for r in records],
    )


@router.post(
    "/{session_id}/auth-events",
    response_model=AuthEventOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(*_COMMON),
    summary="Record an authentication attempt on the session",
)
async def post_auth_event(
    svc: Svc,
    session_id: SessionId,
    body: AuthEventIn,
    claims: Annotated[Claims, Depends(require("session:write", "session:admin"))],
) -> AuthEventOut:
    """Report an OTP/password step-up result; 3 failures in 10 minutes flag the session."""
    failures = await svc.manager.record_auth(
        session_id, body.success, body.method, owner=caller(claims)
    )
    flagged = await svc.manager.analytics.is_flagged(session_id)
    return AuthEventOut(
        session_id=session_id, recorded=True, recent_failures=failures, flagged=flagged
    )


@router.delete(
    "/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(*_COMMON),
    summary="Erase the session now (crypto-shredding)",
)
async def delete_session(
    svc: Svc,
    session_id: SessionId,
    claims: Annotated[Claims, Depends(require("session:write", "session:admin"))],
) -> Response:
    """Erase a session: its data key first, then every key (owner or ``session:admin``)."""
    await svc.manager.erase(session_id, owner=caller(claims))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
