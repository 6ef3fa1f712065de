"""Bearer tokens, scopes and per-user rate limits as FastAPI dependencies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, WebSocket
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from agentgpt.errors import InvalidToken
from agentgpt.security.tokens import Claims
from agentgpt.server.services import Services

_bearer = HTTPBearer(auto_error=False, description="a token from `agentgpt token create`")


def caller(claims: Claims) -> str | None:
    """The identity the manager checks ownership against (None: an operator sees all)."""
    return None if claims.has("session:admin") else claims.user


async def authenticate(request: Request, creds: HTTPAuthorizationCredentials | None) -> Claims:
    """Verify the bearer token and spend one token of the caller's rate bucket."""
    claims = await identify(request, creds)
    await charge(request.app.state.services, claims)
    return claims


async def identify(request: Request, creds: HTTPAuthorizationCredentials | None) -> Claims:
    """Verify the bearer token (a refusal spends the client address's bucket)."""
    svc: Services = request.app.state.services
    try:
        if creds is None:
            raise InvalidToken("missing bearer token", reason="no Authorization header")
        claims = svc.verifier.verify(creds.credentials)
    except InvalidToken:
        # Guessing tokens costs the guesser: each refusal spends the address's bucket.
        await charge_address(svc, request, "badtoken")
        raise
    request.state.user = claims.user
    return claims


async def charge(svc: Services, claims: Claims) -> None:
    """Apply the per-user request rate limit (``RateLimited`` with a retry delay)."""
    await _spend(svc, claims.user, "per user")


async def charge_address(svc: Services, request: Request | WebSocket, purpose: str) -> None:
    """Apply the same token bucket per client address (``purpose`` keeps buckets apart)."""
    host = request.client.host if request.client is not None else "unknown"
    await _spend(svc, f"{purpose}@{host}", "per client address")


async def _spend(svc: Services, subject: str, per: str) -> None:
    decision = await svc.limiter.take(subject)
    if not decision.allowed:
        # Whole seconds, as in Retry-After: the detail and the header say the same thing.
        raise svc.limiter.bucket(subject, per).refused(decision.retry_after_s * 1000)


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
