"""``/healthz``, ``/readyz`` and ``/metrics``."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from agentgpt.errors import AgentGPTError
from agentgpt.server.services import Services, services
from agentgpt.server.strict_json import StrictJSONResponse
from agentgpt.store.supervisor import SupervisorState
from agentgpt.wire import Health

router = APIRouter(tags=["operations"])
Svc = Annotated[Services, Depends(services)]
log = logging.getLogger("agentgpt.server")


@router.get(
    "/healthz",
    response_model=Health,
    summary="The process is alive and can serve",
    responses={503: {"model": Health, "description": "the embedded store cannot be restarted"}},
)
async def healthz(svc: Svc) -> Response:
    """Liveness: the loop runs and the embedded store's supervisor has not given up."""
    # A store that is down for good makes this process useless: an orchestrator must
    # replace it, which it does only on a failing liveness probe.
    supervisor = svc.manager.store.supervisor
    if supervisor is None:
        return StrictJSONResponse(Health(status="ok").model_dump())
    alive = supervisor.state is not SupervisorState.FAILED
    checks = {
        "embedded_store": supervisor.state.value,
        "embedded_store_restarts": str(supervisor.restarts),
    }
    body = Health(status="ok" if alive else "unavailable", checks=checks)
    return StrictJSONResponse(body.model_dump(), status_code=200 if alive else 503)


@router.get(
    "/readyz",
    response_model=Health,
    summary="Store serving and agents ready",
    responses={503: {"model": Health, "description": "not ready"}},
)
async def readyz(svc: Svc) -> Response:
    """Readiness: the store serves (a cluster: every slot) and the agent pool is warm.

    Needs no token, so it says which check failed and nothing more: why the store is
    unavailable (which node, the client's error, with credentials masked) goes to the log,
    once per change of state.
    """
    checks: dict[str, str] = {}
    try:
        await svc.manager.store.check_ready()
        checks["store"] = "ok"
    except AgentGPTError as exc:
        checks["store"] = "unavailable"
        if svc.extras.get("store_problem") != str(exc):
            log.warning("not ready: %s", exc)
        svc.extras["store_problem"] = str(exc)
    else:
        if svc.extras.pop("store_problem", None) is not None:
            log.info("ready again: the session store serves")
    pool = svc.manager.agent_pool
    checks["agents"] = "ok" if pool.live >= min(1, pool.min_ready) else "warming"
    checks["model"] = "ok" if svc.extras.get("model_ready") else "loading"
    ready = all(v == "ok" for v in checks.values())
    body = Health(status="ok" if ready else "unavailable", checks=checks)
    return StrictJSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics of this process",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
async def metrics(svc: Svc) -> Response:
    """The Prometheus text format: turns, latency, active sessions, pool, store, alerts."""
    store = svc.manager.store
    svc.metrics.sample(svc.manager.agent_pool, None, store.round_trips, store.supervisor)
    return Response(svc.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
