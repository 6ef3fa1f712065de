"""The hot route (``POST /v1/sessions/{id}/messages``) without FastAPI's per-request solving.

FastAPI resolves the route's dependencies and validates its path, query, header and body
parameters through pydantic on every request: 0.4-0.8 ms of CPU per turn on the benchmark
machine (bench/budget.py). A well-formed plain request (a JSON body with a string ``text``
and no ``e2e``, a valid path and query) is served here directly, with the checks in the
same order of effects: token, scope, rate limit, then the turn; the rate bucket is spent
inside the turn's lock script (one round trip fewer on a standalone store). Anything else
goes to FastAPI's own handler for the route, so malformed requests and end-to-end
encrypted ones get exactly the answers they always got.

``MessageLane`` goes one step further for the same requests: an ASGI layer in front of
Starlette's routing (inside ``RequestContext``, so request ids, metrics, access log and
body limit apply unchanged) that serves a well-formed message from a caller whose token
verifies and carries ``session:write`` without building a ``Request``, matching every
route or resolving anything; whatever it does not serve goes on to the app as before.
The answer is encoded by msgspec (``_TurnWire``, the same JSON as ``TurnOut``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import msgspec
from fastapi import Request, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentgpt.agents.response import Response as AgentResponse
from agentgpt.errors import AgentGPTError
from agentgpt.security.tokens import Claims
from agentgpt.server.auth import caller, charge, identify
from agentgpt.server.problems import problem_for
from agentgpt.server.services import Services
from agentgpt.store.buckets import Bucket

WRITE_SCOPE = "session:write"
ON_BUSY = ("queue", "reject")
MAX_SESSION_ID = 256


class _Message(msgspec.Struct):
    text: str
    e2e: str | None = None  # an end-to-end message goes to FastAPI's handler (issue 17)


_decode_message = msgspec.json.Decoder(_Message).decode


class _SentimentWire(msgspec.Struct):
    label: str
    score: float


class _EntityWire(msgspec.Struct):
    kind: str
    placeholder: str


class _TurnWire(msgspec.Struct):
    """``agentgpt.wire.TurnOut`` as msgspec encodes it: same fields, order and JSON (the hot
    route's encoder; tests/e2e/test_message_route.py checks the bytes are the same)."""

    session_id: str
    seq: int
    reply: str
    intent: str | None
    confidence: float
    topic: str | None
    sentiment: _SentimentWire
    entities: list[_EntityWire]
    actions: list[str]
    redacted_input: str | None


_encode = msgspec.json.Encoder().encode


def turn_json(session_id: str, seq: int, response: AgentResponse) -> bytes:
    """The ``TurnOut`` JSON of an agent ``Response`` (``sensitive`` values left out)."""
    return _encode(
        _TurnWire(
            session_id=session_id,
            seq=seq,
            reply=response.reply,
            intent=response.intent,
            confidence=float(response.confidence),
            topic=response.topic,
            sentiment=_SentimentWire(response.sentiment.label, float(response.sentiment.score)),
            entities=[_EntityWire(e.kind, e.placeholder) for e in response.entities],
            actions=[a.value for a in response.actions],
            redacted_input=response.redacted_input,
        )
    )


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
    body = await _turn(svc, claims, session_id, text, on_busy, key, bucket)
    return Response(body, media_type="application/json")


async def _turn(
    svc: Services,
    claims: Claims,
    session_id: str,
    text: str,
    on_busy: str,
    key: str | None,
    bucket: Bucket | None,
) -> bytes:
    wait = 0.0 if on_busy == "reject" else None
    response = await svc.manager.handle(
        session_id,
        text,
        owner=caller(claims),  # the manager checks the session's owner (None: an operator)
        lock_wait=wait,
        idempotency_key=key,
        rate_bucket=bucket,
    )
    return turn_json(session_id, response.seq, response)


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


_PATH = re.compile(r"/v1/sessions/([^/]+)/messages")
_QUERIES = {b"": "queue", b"on_busy=queue": "queue", b"on_busy=reject": "reject"}
_JSON_HEADERS = [(b"content-type", b"application/json")]


class MessageLane:
    """ASGI layer serving well-formed, authorised messages before Starlette's routing."""

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        """Wrap ``app`` (the rest of the stack); ``routes`` hold the ``MessageRoute``."""
        self.app = app
        # What routing would have put in the scope: the metrics' and the log's label.
        self.route = next(r for r in routes if isinstance(r, MessageRoute))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request here when it qualifies, else pass it on untouched."""
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope.get("root_path")
            or (match := _PATH.fullmatch(scope["path"])) is None
            or (on_busy := _QUERIES.get(scope["query_string"])) is None
        ):
            await self.app(scope, receive, send)
            return
        session_id = match.group(1)
        content_type = authorization = key = None
        for name, value in scope["headers"]:
            if name == b"content-type" and content_type is None:
                content_type = value
            elif name == b"authorization" and authorization is None:
                authorization = value
            elif name == b"idempotency-key" and key is None:
                key = value
        svc: Services | None = getattr(scope["app"].state, "services", None)
        claims = _authorised(svc, authorization)
        if (
            svc is None
            or claims is None
            or len(session_id) > MAX_SESSION_ID
            or content_type is None
            or content_type.split(b";", 1)[0].strip().lower() != b"application/json"
        ):
            await self.app(scope, receive, send)
            return
        body, replay = await _read_body(receive)
        try:
            message = _decode_message(body)
        except msgspec.DecodeError:
            message = None
        if message is None or message.e2e is not None:
            await self.app(scope, replay, send)
            return
        scope["route"] = self.route
        try:
            out = await _turn(
                svc,
                claims,
                session_id,
                message.text,
                on_busy,
                key.decode("latin-1") if key is not None else None,
                svc.limiter.bucket(claims.user),
            )
        except AgentGPTError as exc:
            await problem_for(exc, scope["path"])(scope, replay, send)
            return
        headers = [(b"content-length", str(len(out)).encode()), *_JSON_HEADERS]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": out})


def _authorised(svc: Services | None, authorization: bytes | None) -> Claims | None:
    """The caller's claims when the bearer token verifies and allows writing, else None.

    None sends the request on to the app, which answers a missing, bad or under-scoped
    token exactly as on every route (and charges the refusal).
    """
    if svc is None or authorization is None:
        return None
    scheme, _, token = authorization.decode("latin-1").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        claims = svc.verifier.verify(token)
    except AgentGPTError:
        return None
    return claims if claims.has(WRITE_SCOPE) else None


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body, and a ``receive`` that gives it again (for the app, if it serves)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client left: let the app see it
            first: list[Message] = [message]
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            first = []
            break
    body = b"".join(chunks)
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            if first:
                return first[0]
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay
