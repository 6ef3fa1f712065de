"""``/v1/monitor``: the operators' snapshot, live over SSE, and alert acknowledgement."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sse_starlette.sse import EventSourceResponse

from agentgpt.analytics import Snapshot
from agentgpt.errors import AlreadyDone, InvalidToken
from agentgpt.security.tokens import Claims
from agentgpt.server.auth import charge, require
from agentgpt.server.problems import responses
from agentgpt.server.services import Services, services
from agentgpt.server.strict_json import dumps
from agentgpt.server.views import monitor_out
from agentgpt.wire import AckOut, MonitorOut

router = APIRouter(prefix="/v1/monitor", tags=["monitor"])
Svc = Annotated[Services, Depends(services)]
Window = Annotated[Literal["5m", "15m", "1h", "24h", "7d"], Query(description="time window")]
SeverityQ = Annotated[
    Literal["debug", "info", "warning", "critical", "prod"],
    Query(description="lowest alert severity shown; prod = warning and above"),
]
Top = Annotated[int, Query(ge=1, le=20, description="how many topics")]
_bearer = HTTPBearer(auto_error=False)


MonitorClaims = Annotated[Claims, Depends(require("session:monitor"))]


@router.get(
    "",
    response_model=MonitorOut,
    responses=responses(401, 403, 422, 429, 503),
    summary="The monitor snapshot for a window",
)
async def monitor(
    svc: Svc,
    claims: MonitorClaims,
    window: Window = "15m",
    severity: SeverityQ = "info",
    top: Top = 5,
) -> MonitorOut:
    """Active sessions, latency, top concern topics, trends and open alerts."""
    return monitor_out(await svc.manager.analytics.snapshot(window, top=top), severity)


async def stream_claims(
    svc: Svc,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    token: Annotated[str | None, Query(description="for EventSource (no headers)")] = None,
) -> Claims:
    """A ``session:monitor`` token from the header or, for browsers, the query."""
    raw = creds.credentials if creds is not None else token
    if not raw:
        raise InvalidToken("missing bearer token", reason="no Authorization header or token")
    claims = svc.verifier.verify(raw, scope="session:monitor")
    await charge(svc, claims)
    return claims


@router.get(
    "/stream",
    responses=responses(401, 403, 422, 429),
    summary="The monitor snapshot as Server-Sent Events (event: snapshot)",
    response_class=EventSourceResponse,
)
async def monitor_stream(
    request: Request,
    svc: Svc,
    claims: Annotated[Claims, Depends(stream_claims)],
    window: Window = "15m",
    severity: SeverityQ = "info",
    top: Top = 5,
) -> EventSourceResponse:
    """One ``snapshot`` event per refresh interval until the client goes away."""
    interval = svc.settings.server.monitor_interval.total_seconds()

    async def events() -> AsyncIterator[dict[str, str]]:
        while not await request.is_disconnected():
            snap = await svc.manager.analytics.snapshot(window, top=top)
            yield snapshot_event(snap, severity)
            await asyncio.sleep(interval)

    return EventSourceResponse(events(), ping=15)


def snapshot_event(snap: Snapshot, severity: str) -> dict[str, str]:
    """The SSE ``snapshot`` event of ``snap``: its data is strict JSON."""
    return {"event": "snapshot", "data": dumps(monitor_out(snap, severity).model_dump())}


@router.post(
    "/alerts/{alert_id}/ack",
    response_model=AckOut,
    responses=responses(401, 403, 409, 422, 429),
    summary="Acknowledge an alert",
)
async def acknowledge(svc: Svc, claims: MonitorClaims, alert_id: str) -> AckOut:
    """Mark an alert as handled by the calling operator."""
    if not await svc.manager.analytics.alerts.acknowledge(alert_id, claims.user):
        raise AlreadyDone(f"alert {alert_id} was already acknowledged")
    return AckOut(id=alert_id, acknowledged_by=claims.user)
