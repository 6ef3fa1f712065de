"""Bearer tokens, scopes and per-user rate limits as FastAPI dependencies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from agentgpt.errors import InvalidToken, RateLimited
from agentgpt.security.tokens import Claims
from agentgpt.server.services import Services

_bearer = HTTPBearer(auto_error=False, description="a token from `agentgpt token create`")


async def authenticate(request: Request, creds: HTTPAuthorizationCredentials | None) -> Claims:
    """Verify the bearer token and spend one token of the caller's rate bucket."""
    if creds is None:
        raise InvalidToken("missing bearer token", reason="no Authorization header")
    svc: Services = request.app.state.services
    claims = svc.verifier.verify(creds.credentials)
    await charge(svc, claims)
    request.state.user = claims.user
    return claims


async def charge(svc: Services, claims: Claims) -> None:
    """Apply the per-user request rate limit (``RateLimited`` with a retry delay)."""
    decision = await svc.limiter.take(claims.user)
    if not decision.allowed:
        raise RateLimited(
            f"too many requests: the limit is {svc.limiter.rate:g}/s per user; "
            f"retry in {decision.retry_after_s:.1f}s",
            retry_after=decision.retry_after_s,
        )


def require(*scopes: str) -> Callable[..., Awaitable[Claims]]:
    """A dependency accepting tokens that carry any one of ``scopes``."""

    # One dependency per route, not a chain: FastAPI's dependency solving costs tens of
    # microseconds per node on every request.
    async def dependency(
        request: Request,
        creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Claims:
        claims = await authenticate(request, creds)
        if not any(claims.has(s) for s in scopes):
            claims.require(scopes[0])
        return claims

    dependency.__name__ = "require_" + "_or_".join(s.replace(":", "_") for s in scopes)
    return dependency
