"""ASGI middleware: request ids in logs, body-size limit, request metrics, server spans."""

from __future__ import annotations

import contextvars
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentgpt.errors import AgentGPTError
from agentgpt.observability import tracing
from agentgpt.server.metrics import Metrics
from agentgpt.server.problems import MEDIA_TYPE
from agentgpt.store.tickets import new_ticket
from agentgpt.wire import PROBLEM_TYPE_PREFIX

if TYPE_CHECKING:
    from opentelemetry.trace import Span
    from opentelemetry.util.types import AttributeValue

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
log = logging.getLogger("agentgpt.access")


class BodyTooLarge(Exception):
    """Raised inside ``receive`` when the body passes the limit."""


class RequestContext:
    """Gives each request an id (``X-Request-ID``), a size limit, a metrics line and a span."""

    def __init__(self, app: ASGIApp, metrics: Metrics, max_body_bytes: int) -> None:
        """Wrap ``app``."""
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one HTTP request (other scopes pass through)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not tracing.enabled():
            await self._serve(scope, receive, send)
            return
        method = scope["method"]
        # Named "GET" until routing has found the template: the raw path holds session ids.
        with tracing.server_span(method, scope["headers"], _request_attributes(scope)) as span:
            status = 500  # if the app raises, the client sees a 500
            try:
                status = await self._serve(scope, receive, send)
            finally:
                if span is not None:
                    _finish_span(span, method, _route(scope), status)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> int:
        headers = dict(scope["headers"])
        rid = headers.get(b"x-request-id", b"").decode("latin-1")[:64] or new_ticket()
        token = request_id.set(rid)
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(send, rid)
            request_id.reset(token)
            return 413
        status = {"code": 500}
        started = time.perf_counter()
        seen = 0
        over = False

        async def limited_receive() -> Message:
            nonlocal seen, over
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body_bytes:
                over = True
                raise BodyTooLarge
            return message

        async def tagged_send(message: Message) -> None:
            if over:  # the app's answer to a body cut short (FastAPI: 400); ours is 413
                return
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        app_receive: Receive = limited_receive
        chunked = b"chunked" in headers.get(b"transfer-encoding", b"").lower()
        if chunked and not _token_valid(scope, headers):
            # A chunked body of unknown size from a caller without a valid token is not
            # read: the app sees an empty body and answers 401 from its token check.
            app_receive = _EmptyBody(receive)
        try:
            try:
                await self.app(scope, app_receive, tagged_send)
            except BodyTooLarge:
                over = True
            if over:
                await self._too_large(send, rid)
                status["code"] = 413
        finally:
            route = _route(scope)
            metrics = self.metrics
            metrics.child(metrics.requests, scope["method"], route, str(status["code"])).inc()
            log.info(
                "%s %s %s %.1fms",
                scope["method"],
                route,
                status["code"],
                (time.perf_counter() - started) * 1000,
            )
            request_id.reset(token)
        return status["code"]

    async def _too_large(self, send: Send, rid: str) -> None:
        body = json.dumps(
            {
                "type": PROBLEM_TYPE_PREFIX + "payload-too-large",
                "title": "Payload too large",
                "status": 413,
                "detail": f"the body exceeds {self.max_body_bytes} bytes",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", MEDIA_TYPE.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", rid.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _EmptyBody:
    """A ``receive`` whose body is empty; later calls wait for the client to disconnect."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._given = False

    async def __call__(self) -> Message:
        if not self._given:
            self._given = True
            return {"type": "http.request", "body": b"", "more_body": False}
        while True:
            message = await self._receive()
            if message["type"] != "http.request":
                return message


def _token_valid(scope: Scope, headers: dict[bytes, bytes]) -> bool:
    """True when the request's bearer token verifies (no token: False)."""
    auth = headers.get(b"authorization", b"").decode("latin-1")
    if not auth.lower().startswith("bearer "):
        return False
    services = getattr(getattr(scope.get("app"), "state", None), "services", None)
    if services is None:
        return False
    try:
        services.verifier.verify(auth[7:].strip())
    except AgentGPTError:
        return False
    return True


def _route(scope: Scope) -> str:
    # The route template, not the raw path: session ids must not become metric labels.
    route: Any = scope.get("route")
    return str(getattr(route, "path", "unmatched"))


def _request_attributes(scope: Scope) -> dict[str, AttributeValue]:
    return {"http.request.method": scope["method"], "url.scheme": scope.get("scheme", "http")}


def _finish_span(span: Span, method: str, route: str, status: int) -> None:
    span.update_name(f"{method} {route}")
    span.set_attributes({"http.route": route, "http.response.status_code": status})
    if status >= 500:  # a 4xx is the client's error, not the server span's (OTel semconv)
        from opentelemetry.trace import Status, StatusCode

        span.set_status(Status(StatusCode.ERROR))


class JsonFormatter(logging.Formatter):
    """One JSON object per log line with request and trace ids (never message text or PII)."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as JSON."""
        entry = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": request_id.get(),
        }
        ids = tracing.current_ids()
        if ids is not None:
            entry["trace_id"], entry["span_id"] = ids
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(json_lines: bool) -> None:
    """Log to stderr, as JSON lines when asked."""
    handler = logging.StreamHandler()
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger("agentgpt")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
