"""What the app's request handlers share: the manager, token checks, limits, metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from agentgpt.config.settings import Settings
from agentgpt.security.tokens import TokenIssuer, TokenVerifier
from agentgpt.server.metrics import Metrics
from agentgpt.sessions.manager import SessionManager
from agentgpt.store.rate_limit import TokenBucketLimiter


@dataclass
class Services:
    """Everything a request handler needs, built once per process by the app's lifespan."""

    settings: Settings
    manager: SessionManager
    verifier: TokenVerifier
    limiter: TokenBucketLimiter
    metrics: Metrics
    issuer: TokenIssuer | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def development(self) -> bool:
        """True when the service runs with ``environment: development``."""
        return self.settings.server.environment == "development"


async def services(request: Request) -> Services:
    """The app's ``Services`` (a FastAPI dependency)."""
    # async on purpose: FastAPI runs a plain ``def`` dependency in a worker thread, a
    # thread hand-off on every request for an attribute lookup.
    found: Services = request.app.state.services
    return found
