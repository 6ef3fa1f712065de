"""Errors as ``application/problem+json`` (RFC 9457) with a stable ``type`` per error."""

from __future__ import annotations

import logging
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from agentgpt.errors import (
    AgentGPTError,
    InvalidToken,
    KeyProviderUnavailable,
    LimitExceeded,
    RateLimited,
    StoreError,
)
from agentgpt.server.strict_json import StrictJSONResponse
from agentgpt.wire import PROBLEM_TYPE_PREFIX, Problem

log = logging.getLogger("agentgpt.server")

MEDIA_TYPE = "application/problem+json"

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}
_HTTP_CODES = {
    400: "bad-request",
    401: "invalid-token",
    403: "access-denied",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    422: "validation",
    429: "limit-exceeded",
    503: "unavailable",
}


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Build a problem+json response."""
    body = Problem(
        type=PROBLEM_TYPE_PREFIX + code,
        title=_TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        instance=instance,
    )
    return StrictJSONResponse(body.model_dump(exclude_none=True), status, headers, MEDIA_TYPE)


def problem_for(exc: AgentGPTError, instance: str | None = None) -> JSONResponse:
    """The problem response of one of our errors (same status everywhere)."""
    headers: dict[str, str] = {}
    if isinstance(exc, InvalidToken):
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        log.info("token rejected: %s", exc.reason)
    if isinstance(exc, LimitExceeded):
        retry = exc.retry_after if isinstance(exc, RateLimited) else 1.0
        headers["Retry-After"] = str(retry_after_seconds(retry))
    detail = public_detail(exc, instance)
    return problem(exc.status, exc.code, detail, instance=instance, headers=headers)


def public_detail(exc: AgentGPTError, instance: str | None = None) -> str:
    """What a caller may read of ``exc`` (a problem's ``detail``, a WebSocket error frame).

    A store or key-provider failure names no node, URL or socket: which one failed and why
    goes to the operator's log (addresses masked there too); the caller learns what is
    unavailable and that retrying later may work.
    """
    if isinstance(exc, StoreError):
        log.warning("%s: %s", instance or "request", exc)
        what = "key provider" if isinstance(exc, KeyProviderUnavailable) else "session store"
        return f"the {what} is unavailable; the request was not applied, retry later"
    if exc.status < 500 or exc.status == 503:
        return str(exc)
    return _internal_detail(exc)


def _internal_detail(exc: AgentGPTError) -> str:
    log.error("internal error %s: %s", exc.code, exc)
    return f"the service failed ({exc.code}); the request was not applied, retry or report it"


def install(app: FastAPI) -> None:
    """Map every error the app can raise to a problem response."""

    async def on_ours(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AgentGPTError)
        return problem_for(exc, request.url.path)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return problem(
                400, "bad-request", "the body is not valid JSON (UTF-8)", instance=request.url.path
            )
        parts = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in errors]
        return problem(422, "validation", "; ".join(parts)[:500], instance=request.url.path)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _HTTP_CODES.get(exc.status_code, "error")
        return problem(
            exc.status_code,
            code,
            str(exc.detail),
            instance=request.url.path,
            headers=dict(exc.headers or {}),
        )

    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return problem(
            500,
            "internal",
            "the service failed; the request was not applied",
            instance=request.url.path,
        )

    app.add_exception_handler(AgentGPTError, on_ours)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)


def responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI ``responses`` entries documenting the problem bodies of ``statuses``."""
    return {
        s: {
            "model": Problem,
            "description": _TITLES.get(s, "Error"),
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for s in statuses
    }


def retry_after_seconds(delay_s: float) -> int:
    """A retry delay as ``Retry-After`` states it: whole seconds, at least 1."""
    return max(1, math.ceil(delay_s))
