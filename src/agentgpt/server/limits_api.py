"""``/v1/limits``: resource limits of isolated agent workers per region (``session:admin``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response, status

from agentgpt.errors import InvalidInput, SessionNotFound
from agentgpt.runtime import RegionLimits, ResourcePolicy, parse_cpu, parse_memory, parse_pids
from agentgpt.runtime.limits import validate_region
from agentgpt.security.tokens import Claims
from agentgpt.server.auth import require
from agentgpt.server.problems import responses
from agentgpt.server.services import Services, services
from agentgpt.server.views import limits_out
from agentgpt.wire import LimitsIn, LimitsOut

router = APIRouter(prefix="/v1/limits", tags=["limits"])
Svc = Annotated[Services, Depends(services)]
Admin = Annotated[Claims, Depends(require("session:admin"))]
RegionPath = Annotated[str, Path(min_length=1, max_length=40, description="a region name")]


def _limits(svc: Services) -> RegionLimits:
    return RegionLimits(svc.manager.store, cache_seconds=0)


@router.get("", response_model=list[LimitsOut], responses=responses(401, 403, 503))
async def list_limits(svc: Svc, _: Admin) -> list[LimitsOut]:
    """Every region that has limits."""
    return [limits_out(r, p) for r, p in (await _limits(svc).all()).items()]


@router.get("/{region}", response_model=LimitsOut, responses=responses(401, 403, 404, 422, 503))
async def get_limits(region: RegionPath, svc: Svc, _: Admin) -> LimitsOut:
    """One region's limits (404 when it has none)."""
    policy = await _limits(svc).get(validate_region(region))
    if policy is None:
        raise SessionNotFound(f"region {region} has no limits set")
    return limits_out(region, policy)


@router.put("/{region}", response_model=LimitsOut, responses=responses(401, 403, 422, 503))
async def put_limits(region: RegionPath, body: LimitsIn, svc: Svc, _: Admin) -> LimitsOut:
    """Set a region's limits (replacing the old ones); applied to workers bound from now on."""
    if body.max_cpu is None and body.max_memory is None and body.max_pids is None:
        raise InvalidInput("give at least one of max_cpu, max_memory, max_pids")
    policy = ResourcePolicy(
        max_cpu=parse_cpu(body.max_cpu, "max_cpu") if body.max_cpu is not None else None,
        max_memory=parse_memory(body.max_memory, "max_memory")
        if body.max_memory is not None
        else None,
        max_pids=parse_pids(body.max_pids, "max_pids") if body.max_pids is not None else None,
    )
    settings = svc.manager.settings
    await _limits(svc).set(validate_region(region, settings.regions), policy)
    return limits_out(region, policy)


@router.delete(
    "/{region}", status_code=status.HTTP_204_NO_CONTENT, responses=responses(401, 403, 422, 503)
)
async def delete_limits(region: RegionPath, svc: Svc, _: Admin) -> Response:
    """Remove a region's limits (idempotent)."""
    await _limits(svc).unset(validate_region(region))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
