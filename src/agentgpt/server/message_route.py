"""The hot route (``POST /v1/sessions/{id}/messages``) without FastAPI's per-request solving.

FastAPI resolves the route's dependencies and validates its path, query, header and body
parameters through pydantic on every request: 0.4-0.8 ms of CPU per turn on the benchmark
machine (bench/budget.py). A well-formed plain request (a JSON body with a string ``text``
and no ``e2e``, a valid path and query) is served here directly, with the checks in the
same order of effects: token, scope, rate limit, then the turn; the rate bucket is spent
inside the turn's lock script (one round trip fewer on a standalone store). Anything else
goes to FastAPI's own handler for the route, so malformed requests and end-to-end
encrypted ones get exactly the answers they always got.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import msgspec
from fastapi import Request, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials

from agentgpt.security.tokens import Claims
from agentgpt.server.auth import caller, charge, identify
from agentgpt.server.services import Services
from agentgpt.server.views import turn_out
from agentgpt.store.buckets import Bucket

WRITE_SCOPE = "session:write"
ON_BUSY = ("queue", "reject")
MAX_SESSION_ID = 256


class _Message(msgspec.Struct):
    text: str
    e2e: str | None = None  # an end-to-end message goes to FastAPI's handler (issue 17)


_decode_message = msgspec.json.Decoder(_Message).decode


async def answer(
    svc: Services,
    claims: Claims,
    session_id: str,
    text: str,
    on_busy: str,
    key: str | None,
    bucket: Bucket | None = None,
) -> Response:
    """Run the turn for an authorised caller and serialise the answer once."""
    wait = 0.0 if on_busy == "reject" else None
    response = await svc.manager.handle(
        session_id,
        text,
        owner=caller(claims),  # the manager checks the session's owner (None: an operator)
        lock_wait=wait,
        idempotency_key=key,
        rate_bucket=bucket,
    )
    out = turn_out(session_id, response.seq, response)
    return Response(out.model_dump_json(), media_type="application/json")


class MessageRoute(APIRoute):
    """An ``APIRoute`` serving well-formed messages directly (same OpenAPI description)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler as the fallback, behind the direct path."""
        standard = super().get_route_handler()

        async def handler(request: Request) -> Response:
            parsed = await _well_formed(request)
            if parsed is None:
                return await standard(request)
            session_id, text, on_busy, key = parsed
            svc: Services = request.app.state.services
            claims = await identify(request, _credentials(request))
            if not claims.has(WRITE_SCOPE):
                await charge(svc, claims)  # a refused request is charged, as everywhere
                claims.require(WRITE_SCOPE)
            # The caller's rate bucket is spent in the turn's lock round trip.
            bucket = svc.limiter.bucket(claims.user)
            return await answer(svc, claims, session_id, text, on_busy, key, bucket)

        return handler


async def _well_formed(request: Request) -> tuple[str, str, str, str | None] | None:
    """Session id, text, on_busy and idempotency key when FastAPI would accept them."""
    session_id = request.path_params.get("session_id")
    if not isinstance(session_id, str) or not 1 <= len(session_id) <= MAX_SESSION_ID:
        return None
    on_busy = request.query_params.get("on_busy", "queue")
    if on_busy not in ON_BUSY:
        return None
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        return None
    try:
        message = _decode_message(await request.body())
    except msgspec.DecodeError:  # ValidationError is a DecodeError
        return None
    if message.e2e is not None:
        return None
    return session_id, message.text, on_busy, request.headers.get("idempotency-key")


def _credentials(request: Request) -> HTTPAuthorizationCredentials | None:
    """The bearer credentials as ``HTTPBearer(auto_error=False)`` reads them."""
    authorization = request.headers.get("authorization")
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if not scheme or not token or scheme.lower() != "bearer":
        return None
    return HTTPAuthorizationCredentials(scheme=scheme, credentials=token)
